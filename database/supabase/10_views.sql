-- Read-only views the REST backend selects from, so a list with its joins (account, area, primary
-- contact, the bill that references a reading, a bill's plan) is one filtered, paginated request.
-- They mirror the joins of services/storage/sql_readings.py, sql_reference.py and sql_bills.py.
-- security_invoker: the caller's row level security applies, as if it read the tables. Dropped and
-- recreated on every run because a view's columns are fixed when it is created (no data lives in a
-- view). Each view has `area_path`, the path of the area its rows belong to ("B/FF"), so "everything
-- under area X" is one filter: area_path = X or area_path LIKE X/%.

CREATE OR REPLACE FUNCTION meterline_view_names() RETURNS text[]
LANGUAGE sql IMMUTABLE SET search_path = public, pg_temp AS $$
  SELECT ARRAY['account_details', 'meter_choices', 'reading_details', 'bill_details', 'connection_details',
               'anomaly_details', 'visit_details', 'ticket_details', 'ticket_notes']  -- the last three: 90_field.sql
$$;

-- flat_details and flat_blocks are the views of schema version 2 (flats, floors, flat types).
DROP VIEW IF EXISTS flat_details, flat_blocks, account_details, meter_choices, reading_details, bill_details,
                    connection_details, anomaly_details;

-- An account with its leaf area and primary contact (at most one, by a partial unique index).
CREATE VIEW account_details WITH (security_invoker = true) AS
SELECT a.*, ar.path AS area_path, ar.name AS area_name, o.name AS contact_name, o.phone AS contact_phone,
       o.email AS contact_email, o.id AS contact_id
FROM accounts a
JOIN areas ar ON ar.id = a.area_id
LEFT JOIN account_contacts ac ON ac.account_id = a.id AND ac.is_primary
LEFT JOIN contacts o ON o.id = ac.contact_id;

-- Active meters of active accounts, as the field engineer picks them, with the shared motor's meter.
CREATE VIEW meter_choices WITH (security_invoker = true) AS
SELECT m.id AS meter_id, m.meter_number, m.unit, a.id AS account_id, a.code AS account_code, ar.path AS area_path,
       ar.name AS area_name, a.category, o.name AS contact_name, o.phone AS contact_phone, mo.code AS motor_code,
       mm.id AS motor_meter_id, mm.meter_number AS motor_meter_number
FROM meters m
JOIN accounts a ON a.id = m.account_id
JOIN areas ar ON ar.id = a.area_id
LEFT JOIN account_contacts ac ON ac.account_id = a.id AND ac.is_primary
LEFT JOIN contacts o ON o.id = ac.contact_id
LEFT JOIN account_motors am ON am.account_id = a.id
LEFT JOIN motors mo ON mo.id = am.motor_id
LEFT JOIN meters mm ON mm.motor_id = mo.id AND mm.account_id IS NULL AND mm.status = 'active'
WHERE m.status = 'active' AND a.is_active;

-- A reading with its meter, account, area, primary contact, submitter and the bill that covers it (not
-- superseded: bill_readings for an account's reading, bills.motor_reading_id for a shared motor's).
CREATE VIEW reading_details WITH (security_invoker = true) AS
SELECT r.*, m.meter_number, m.unit, a.id AS account_id, a.code AS account_code, ar.path AS area_path,
       o.name AS contact_name, u.username AS submitted_by_name,
       -- "+ 0": min() over the reading's index, never a walk of the bills primary key (which the
       -- planner picks on stale statistics, e.g. right after a bulk load: seconds per row).
       COALESCE((SELECT min(x.bill_id + 0) FROM bill_readings x WHERE x.reading_id = r.id AND x.superseded_by IS NULL),
                (SELECT min(b.id + 0) FROM bills b WHERE b.motor_reading_id = r.id AND b.status <> 'superseded'))
         AS bill_id
FROM readings r
JOIN meters m ON m.id = r.meter_id
LEFT JOIN accounts a ON a.id = m.account_id
LEFT JOIN areas ar ON ar.id = a.area_id
LEFT JOIN account_contacts ac ON ac.account_id = a.id AND ac.is_primary
LEFT JOIN contacts o ON o.id = ac.contact_id
LEFT JOIN users u ON u.id = r.submitted_by;

-- A bill with its account, the area it was issued in, the account's primary contact and the plan
-- version that priced it.
CREATE VIEW bill_details WITH (security_invoker = true) AS
SELECT b.*, a.code AS account_code, ar.path AS area_path, o.name AS contact_name, o.phone AS contact_phone,
       o.id AS contact_id, tp.code AS plan_code, tpv.version AS plan_version, o.email AS contact_email
FROM bills b
JOIN accounts a ON a.id = b.account_id
JOIN areas ar ON ar.id = b.area_id
LEFT JOIN account_contacts ac ON ac.account_id = a.id AND ac.is_primary
LEFT JOIN contacts o ON o.id = ac.contact_id
LEFT JOIN tariff_plan_versions tpv ON tpv.id = b.tariff_plan_version_id
LEFT JOIN tariff_plans tp ON tp.id = tpv.plan_id;

-- An account's connection to a service, with its tariff plan's code and kind.
CREATE VIEW connection_details WITH (security_invoker = true) AS
SELECT sc.*, tp.code AS plan_code, tp.kind AS plan_kind
FROM service_connections sc
JOIN tariff_plans tp ON tp.id = sc.tariff_plan_id;

-- A usage anomaly with its account's code, name and type and the path of the area it was found in.
CREATE VIEW anomaly_details WITH (security_invoker = true) AS
SELECT x.*, a.code AS account_code, a.name AS account_name, a.account_type, ar.path AS area_path
FROM usage_anomalies x
JOIN accounts a ON a.id = x.account_id
JOIN areas ar ON ar.id = x.area_id;
