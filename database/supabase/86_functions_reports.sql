-- The collection and arrears-aging reports (services/reports/models.py; the SQL backends:
-- services/storage/sql_reports.py), from the summary rows as the reader may see them
-- (meterline_bill_totals_in_scope, database/supabase/85_functions_bill_totals.sql).

CREATE OR REPLACE FUNCTION meterline_collection_report(p_first date, p_last date, p_top boolean) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  -- From the summary rows (database/supabase/85_functions_bill_totals.sql), not the bills.
  SELECT COALESCE(jsonb_agg(to_jsonb(x) ORDER BY x.area_path), '[]'::jsonb) FROM (
    SELECT g.id AS area_id, g.path AS area_path, g.name AS area_name, sum(t.bills)::bigint AS bills,
           meterline_hundredths(sum(t.billed)) AS billed, meterline_hundredths(sum(t.due)) AS due,
           meterline_hundredths(sum(t.paid)) AS collected,
           COALESCE(sum(t.bills) FILTER (WHERE t.status = 'paid'), 0)::bigint AS paid,
           COALESCE(sum(t.bills) FILTER (WHERE t.status <> 'paid' AND t.paid_any), 0)::bigint AS partial,
           COALESCE(sum(t.bills) FILTER (WHERE t.status <> 'paid' AND NOT t.paid_any
                                           AND (t.arrears OR t.status = 'carried_forward')), 0)::bigint AS arrears,
           COALESCE(sum(t.bills) FILTER (WHERE t.status <> 'paid' AND NOT t.paid_any AND NOT t.arrears
                                           AND t.status <> 'carried_forward'), 0)::bigint AS unpaid
      FROM meterline_bill_totals_in_scope() t
      JOIN areas uc ON uc.id = t.area_id
      JOIN areas g ON g.id = CASE WHEN p_top THEN COALESCE(uc.parent_id, uc.id) ELSE uc.id END
     WHERE t.bill_month BETWEEN to_char(p_first, 'YYYY-MM') AND to_char(p_last, 'YYYY-MM')
       AND t.status NOT IN ('cancelled', 'superseded')
     GROUP BY g.id, g.path, g.name) x
$$;

CREATE OR REPLACE FUNCTION meterline_aging_report(p_as_of date, p_top boolean) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT COALESCE(jsonb_agg(to_jsonb(x) ORDER BY x.area_path), '[]'::jsonb) FROM (
    SELECT g.id AS area_id, g.path AS area_path, g.name AS area_name, sum(t.bills)::bigint AS bills,
           meterline_hundredths(sum(t.due - t.paid) FILTER (WHERE t.due_date > p_as_of)) AS not_due,
           meterline_hundredths(sum(t.due - t.paid) FILTER (WHERE t.due_date BETWEEN p_as_of - 30 AND p_as_of)) AS d0_30,
           meterline_hundredths(sum(t.due - t.paid) FILTER (WHERE t.due_date BETWEEN p_as_of - 90 AND p_as_of - 31))
             AS d31_90,
           meterline_hundredths(sum(t.due - t.paid) FILTER (WHERE t.due_date BETWEEN p_as_of - 180 AND p_as_of - 91))
             AS d91_180,
           meterline_hundredths(sum(t.due - t.paid) FILTER (WHERE t.due_date <= p_as_of - 181)) AS d180_plus
      FROM meterline_bill_totals_in_scope() t
      JOIN areas uc ON uc.id = t.area_id
      JOIN areas g ON g.id = CASE WHEN p_top THEN COALESCE(uc.parent_id, uc.id) ELSE uc.id END
     WHERE t.status IN ('pending', 'partially_paid', 'overdue')
     GROUP BY g.id, g.path, g.name) x
$$;
