-- The collection and arrears-aging reports (services/reports/models.py; the SQL backends:
-- services/storage/sql_reports.py). Security invoker: a staff member's read runs as meterline_staff,
-- and row level security leaves only their areas' bills.

CREATE OR REPLACE FUNCTION meterline_collection_report(p_first date, p_last date, p_top boolean) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT COALESCE(jsonb_agg(to_jsonb(x) ORDER BY x.area_path), '[]'::jsonb) FROM (
    SELECT g.id AS area_id, g.path AS area_path, g.name AS area_name, count(*) AS bills,
           sum(b.total_amount - b.previous_outstanding)::text AS billed, sum(b.total_amount)::text AS due,
           sum(b.amount_paid)::text AS collected,
           count(*) FILTER (WHERE b.status = 'paid') AS paid,
           count(*) FILTER (WHERE b.status <> 'paid' AND b.amount_paid > 0) AS partial,
           count(*) FILTER (WHERE b.status <> 'paid' AND b.amount_paid = 0
                              AND (b.previous_outstanding > 0 OR b.status = 'carried_forward')) AS arrears,
           count(*) FILTER (WHERE b.status <> 'paid' AND b.amount_paid = 0 AND b.previous_outstanding <= 0
                              AND b.status <> 'carried_forward') AS unpaid
      FROM bills b
      JOIN areas uc ON uc.id = b.area_id
      JOIN areas g ON g.id = CASE WHEN p_top THEN COALESCE(uc.parent_id, uc.id) ELSE uc.id END
     WHERE b.billing_period_start BETWEEN p_first AND p_last AND b.status NOT IN ('cancelled', 'superseded')
     GROUP BY g.id, g.path, g.name) x
$$;

CREATE OR REPLACE FUNCTION meterline_aging_report(p_as_of date, p_top boolean) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT COALESCE(jsonb_agg(to_jsonb(x) ORDER BY x.area_path), '[]'::jsonb) FROM (
    SELECT g.id AS area_id, g.path AS area_path, g.name AS area_name, count(*) AS bills,
           COALESCE(sum(bal) FILTER (WHERE b.due_date > p_as_of), 0)::text AS not_due,
           COALESCE(sum(bal) FILTER (WHERE b.due_date BETWEEN p_as_of - 30 AND p_as_of), 0)::text AS d0_30,
           COALESCE(sum(bal) FILTER (WHERE b.due_date BETWEEN p_as_of - 90 AND p_as_of - 31), 0)::text AS d31_90,
           COALESCE(sum(bal) FILTER (WHERE b.due_date BETWEEN p_as_of - 180 AND p_as_of - 91), 0)::text AS d91_180,
           COALESCE(sum(bal) FILTER (WHERE b.due_date <= p_as_of - 181), 0)::text AS d180_plus
      FROM bills b
      CROSS JOIN LATERAL (SELECT b.total_amount - b.amount_paid AS bal) v
      JOIN areas uc ON uc.id = b.area_id
      JOIN areas g ON g.id = CASE WHEN p_top THEN COALESCE(uc.parent_id, uc.id) ELSE uc.id END
     WHERE b.status IN ('pending', 'partially_paid', 'overdue')
     GROUP BY g.id, g.path, g.name) x
$$;
