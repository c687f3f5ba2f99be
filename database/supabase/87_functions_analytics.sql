-- Consumer analytics and staff performance (services/reports/analytics.py; the SQL backends:
-- services/storage/sql_analytics.py). Security invoker: a staff member's read runs as meterline_staff,
-- and row level security leaves only their areas' accounts, bills and staff area rows.

CREATE OR REPLACE FUNCTION meterline_consumer_analytics(p_first date, p_as_of date, p_top boolean) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  WITH per_account AS (
    SELECT b.account_id, min(b.area_id) AS area_id, count(*) AS n,
           count(*) FILTER (WHERE b.status IN ('paid', 'carried_forward')) AS settled,
           count(*) FILTER (WHERE b.status = 'carried_forward'
                              OR (b.status = 'paid' AND EXISTS (  -- a payment dated after the due date
                                    SELECT 1 FROM payments p WHERE p.bill_id = b.id AND p.paid_on > b.due_date
                                       AND p.method <> 'credit'))) AS late,
           count(*) FILTER (WHERE b.amount_paid > 0) AS any_paid
      FROM bills b
     WHERE b.billing_period_start >= p_first AND b.due_date <= p_as_of AND b.status NOT IN ('cancelled', 'superseded')
     GROUP BY b.account_id),
  patterns AS (
    SELECT CASE WHEN p_top THEN COALESCE(uc.parent_id, uc.id) ELSE uc.id END AS gid, count(*) AS billed,
           count(*) FILTER (WHERE settled = n AND late = 0) AS on_time,
           count(*) FILTER (WHERE settled = n AND late > 0) AS late,
           count(*) FILTER (WHERE settled < n AND any_paid > 0) AS partial,
           count(*) FILTER (WHERE settled < n AND any_paid = 0) AS never_paid
      FROM per_account pa JOIN areas uc ON uc.id = pa.area_id
     GROUP BY 1),
  units AS (
    SELECT CASE WHEN p_top THEN COALESCE(uc.parent_id, uc.id) ELSE uc.id END AS gid,
           count(*) FILTER (WHERE a.is_active) AS active, count(*) FILTER (WHERE NOT a.is_active) AS inactive
      FROM accounts a JOIN areas uc ON uc.id = a.area_id
     GROUP BY 1)
  SELECT COALESCE(jsonb_agg(jsonb_build_object(
           'area_id', g.id, 'area_path', g.path, 'area_name', g.name, 'active', u.active, 'inactive', u.inactive,
           'billed', COALESCE(p.billed, 0), 'on_time', COALESCE(p.on_time, 0), 'late', COALESCE(p.late, 0),
           'partial', COALESCE(p.partial, 0), 'never_paid', COALESCE(p.never_paid, 0)) ORDER BY g.path), '[]'::jsonb)
    FROM units u JOIN areas g ON g.id = u.gid LEFT JOIN patterns p ON p.gid = u.gid
$$;

-- Which leaf areas each staff member covers (each once), and the paths assigned to them. Security
-- definer: a staff member's assignments may name an area above the reader's scope (a manager's city
-- holds the reader's union council); the bills counted against them stay under row level security.
CREATE OR REPLACE FUNCTION meterline_staff_area_map() RETURNS TABLE (user_id bigint, area_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT DISTINCT ua.user_id, leaf.id
    FROM user_areas ua JOIN areas top ON top.id = ua.area_id
    JOIN areas leaf ON leaf.id = top.id OR left(leaf.path, length(top.path) + 1) = top.path || '/'
$$;

CREATE OR REPLACE FUNCTION meterline_staff_area_paths() RETURNS TABLE (user_id bigint, paths text[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT ua.user_id, array_agg(a.path ORDER BY a.path) FROM user_areas ua JOIN areas a ON a.id = ua.area_id
   GROUP BY ua.user_id
$$;

CREATE OR REPLACE FUNCTION meterline_staff_performance(p_first date, p_last date) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  WITH per_area AS (
    SELECT b.area_id, count(*) AS n, sum(b.total_amount) AS due, sum(b.amount_paid) AS collected,
           count(*) FILTER (WHERE b.status = 'paid') AS paid
      FROM bills b
     WHERE b.billing_period_start BETWEEN p_first AND p_last AND b.status NOT IN ('cancelled', 'superseded')
     GROUP BY b.area_id),
  per_user AS (
    SELECT u.id, u.username, u.display_name, u.role, sum(pa.n) AS bills, sum(pa.due)::text AS due,
           sum(pa.collected)::text AS collected, sum(pa.paid) AS paid
      FROM users u JOIN meterline_staff_area_map() ul ON ul.user_id = u.id JOIN per_area pa ON pa.area_id = ul.area_id
     WHERE u.role IN ('agent', 'supervisor', 'manager')
     GROUP BY u.id, u.username, u.display_name, u.role)
  SELECT COALESCE(jsonb_agg(jsonb_build_object(
           'user_id', p.id, 'username', p.username, 'display_name', p.display_name, 'role', p.role,
           'bills', p.bills, 'due', p.due, 'collected', p.collected, 'paid', p.paid,
           'areas', (SELECT x.paths FROM meterline_staff_area_paths() x WHERE x.user_id = p.id))
           ORDER BY p.username), '[]'::jsonb)
    FROM per_user p
$$;
