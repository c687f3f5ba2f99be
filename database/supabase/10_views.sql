-- Read-only views the REST backend selects from, so a list with its joins (flat, floor, primary
-- owner, the bill that references a reading) is one filtered, paginated request. They mirror the
-- joins of services/storage/sql_readings.py and sql_bills.py. security_invoker: the caller's
-- row level security applies, as if it read the tables. Dropped and recreated on every run
-- because a view's columns are fixed when it is created (no data lives in a view).

CREATE OR REPLACE FUNCTION meterline_view_names() RETURNS text[]
LANGUAGE sql IMMUTABLE SET search_path = public, pg_temp AS $$
  SELECT ARRAY['flat_details', 'meter_choices', 'reading_details', 'bill_details', 'flat_blocks']
$$;

DROP VIEW IF EXISTS flat_details, meter_choices, reading_details, bill_details, flat_blocks;

-- A flat with its floor, type and primary owner (at most one, by a partial unique index).
CREATE VIEW flat_details WITH (security_invoker = true) AS
SELECT f.id, f.code, f.block, f.is_active, fl.code AS floor_code, fl.name AS floor_name,
       ft.name AS category, o.name AS contact_name, o.phone AS contact_phone, o.id AS contact_id
FROM accounts f
LEFT JOIN floors fl ON fl.id = f.floor_id
LEFT JOIN flat_types ft ON ft.id = f.type_id
LEFT JOIN account_contacts fo ON fo.account_id = f.id AND fo.is_primary
LEFT JOIN contacts o ON o.id = fo.contact_id;

-- Active meters of active accounts, as the field engineer picks them, with the shared motor's meter.
CREATE VIEW meter_choices WITH (security_invoker = true) AS
SELECT m.id AS meter_id, m.meter_number, f.id AS account_id, f.code AS account_code, f.block,
       fl.code AS floor_code, fl.name AS floor_name, ft.name AS category, o.name AS contact_name,
       o.phone AS contact_phone, mo.code AS motor_code, mm.id AS motor_meter_id,
       mm.meter_number AS motor_meter_number
FROM meters m
JOIN accounts f ON f.id = m.account_id
LEFT JOIN floors fl ON fl.id = f.floor_id
LEFT JOIN flat_types ft ON ft.id = f.type_id
LEFT JOIN account_contacts fo ON fo.account_id = f.id AND fo.is_primary
LEFT JOIN contacts o ON o.id = fo.contact_id
LEFT JOIN account_motors fm ON fm.account_id = f.id
LEFT JOIN motors mo ON mo.id = fm.motor_id
LEFT JOIN meters mm ON mm.motor_id = mo.id AND mm.account_id IS NULL AND mm.status = 'active'
WHERE m.status = 'active' AND f.is_active;

-- A reading with its meter, flat, floor, primary owner, submitter and the bill that covers it (not
-- superseded: bill_readings for a flat's reading, bills.motor_reading_id for a shared motor's).
CREATE VIEW reading_details WITH (security_invoker = true) AS
SELECT r.*, m.meter_number, f.id AS account_id, f.code AS account_code, f.block, fl.code AS floor_code,
       o.name AS contact_name, u.username AS submitted_by_name,
       -- "+ 0": min() over the reading's index, never a walk of the bills primary key (which the
       -- planner picks on stale statistics, e.g. right after a bulk load: seconds per row).
       COALESCE((SELECT min(x.bill_id + 0) FROM bill_readings x WHERE x.reading_id = r.id AND x.superseded_by IS NULL),
                (SELECT min(b.id + 0) FROM bills b WHERE b.motor_reading_id = r.id AND b.status <> 'superseded'))
         AS bill_id
FROM readings r
JOIN meters m ON m.id = r.meter_id
LEFT JOIN accounts f ON f.id = m.account_id
LEFT JOIN floors fl ON fl.id = f.floor_id
LEFT JOIN account_contacts fo ON fo.account_id = f.id AND fo.is_primary
LEFT JOIN contacts o ON o.id = fo.contact_id
LEFT JOIN users u ON u.id = r.submitted_by;

-- A bill with its flat, floor and primary owner.
CREATE VIEW bill_details WITH (security_invoker = true) AS
SELECT b.*, f.code AS account_code, f.block, fl.code AS floor_code, o.name AS contact_name,
       o.phone AS contact_phone, o.id AS contact_id
FROM bills b
JOIN accounts f ON f.id = b.account_id
LEFT JOIN floors fl ON fl.id = f.floor_id
LEFT JOIN account_contacts fo ON fo.account_id = f.id AND fo.is_primary
LEFT JOIN contacts o ON o.id = fo.contact_id;

-- The blocks in use (PostgREST has no DISTINCT).
CREATE VIEW flat_blocks WITH (security_invoker = true) AS
SELECT DISTINCT block FROM accounts WHERE block <> '';
