-- The dashboard's and reports' reads of the per-month, per-area summary rows (database/bill_totals.py;
-- the SQL backends: services/storage/sql_reports.py, sql_bills.py). Security invoker: a staff member's
-- read runs as meterline_staff and row level security leaves their areas' rows; a customer's scope
-- (which the rows cannot tell apart) is summed from the customer's own bills, as RLS leaves them.
-- Amounts in the rows are hundredths.

CREATE OR REPLACE FUNCTION meterline_bill_totals_in_scope()
RETURNS SETOF bill_month_totals LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT * FROM bill_month_totals WHERE meterline_scope_account_ids() IS NULL AND bills <> 0
  UNION ALL
  SELECT to_char(billing_period_start, 'YYYY-MM'), area_id, due_date, status, amount_paid > 0,
         previous_outstanding > 0, count(*), sum(round(total_units * 100)::bigint)::bigint,
         sum(round((total_amount - previous_outstanding) * 100)::bigint)::bigint,
         sum(round(total_amount * 100)::bigint)::bigint, sum(round(amount_paid * 100)::bigint)::bigint
    FROM bills WHERE meterline_scope_account_ids() IS NOT NULL
   GROUP BY 1, 2, 3, 4, 5, 6
$$;

CREATE OR REPLACE FUNCTION meterline_hundredths(p numeric) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = public, pg_temp AS $$
  SELECT (COALESCE(p, 0) / 100)::numeric(14, 2)::text
$$;

-- Dashboard for one month: billed (this period's charges, arrears excluded; superseded and cancelled
-- bills left out), bill count, collected (payments dated in the month, re-issue credits left out),
-- outstanding on open bills, pending readings, overdue bills.
CREATE OR REPLACE FUNCTION meterline_dashboard(p_first date, p_last date, p_as_of date)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  WITH t AS (SELECT * FROM meterline_bill_totals_in_scope())
  SELECT jsonb_build_object(
    'billed', (SELECT meterline_hundredths(sum(billed)) FROM t
                WHERE bill_month = to_char(p_first, 'YYYY-MM') AND status NOT IN ('cancelled', 'superseded')),
    'bill_count', (SELECT COALESCE(sum(bills), 0)::bigint FROM t
                    WHERE bill_month = to_char(p_first, 'YYYY-MM') AND status NOT IN ('cancelled', 'superseded')),
    -- Money received: a re-issue's credit (credit_from_bill) moves money already counted.
    'collected', (SELECT COALESCE(sum(amount), 0)::numeric(14, 2)::text FROM payments
                   WHERE paid_on BETWEEN p_first AND p_last AND credit_from_bill IS NULL),
    'outstanding', (SELECT meterline_hundredths(sum(due - paid)) FROM t
                     WHERE status IN ('pending', 'partially_paid', 'overdue')),
    'pending_readings', (SELECT count(*) FROM readings WHERE status = 'pending'),
    'overdue_count', (SELECT COALESCE(sum(bills), 0)::bigint FROM t
                       WHERE status IN ('pending', 'partially_paid', 'overdue') AND due_date < p_as_of))
$$;

-- Per month between p_first and p_last: units and charges billed (by period start), bill count,
-- and payments collected (by payment date).
CREATE OR REPLACE FUNCTION meterline_monthly_series(p_first date, p_last date)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT jsonb_build_object(
    'billed', COALESCE((SELECT jsonb_agg(jsonb_build_object('month', month, 'units', units,
                                                            'billed', billed, 'n', n))
                          FROM (SELECT bill_month AS month, meterline_hundredths(sum(units)) AS units,
                                       meterline_hundredths(sum(billed)) AS billed, sum(bills)::bigint AS n
                                  FROM meterline_bill_totals_in_scope()
                                 WHERE bill_month BETWEEN to_char(p_first, 'YYYY-MM') AND to_char(p_last, 'YYYY-MM')
                                   AND status NOT IN ('cancelled', 'superseded')
                                 GROUP BY 1) x), '[]'::jsonb),
    'collected', COALESCE((SELECT jsonb_agg(jsonb_build_object('month', month, 'collected', collected::text))
                             FROM (SELECT to_char(paid_on, 'YYYY-MM') AS month,
                                          COALESCE(sum(amount), 0)::numeric(14, 2) AS collected
                                     FROM payments WHERE paid_on BETWEEN p_first AND p_last
                                                         AND credit_from_bill IS NULL GROUP BY 1) y), '[]'::jsonb))
$$;
