-- Period locks, bills (no-overwrite retry, carry-forward), payments.

-- Lock a month (idempotent: false when it was already locked). Counts the bills ending in it.
CREATE OR REPLACE FUNCTION meterline_add_period_lock(p_month text, p_first date, p_last date, p_reason text,
                                                     p_actor jsonb)
RETURNS boolean LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_count integer;
BEGIN
  IF EXISTS (SELECT 1 FROM period_locks WHERE month = p_month) THEN
    RETURN false;
  END IF;
  SELECT count(*) INTO v_count FROM bills WHERE billing_period_end BETWEEN p_first AND p_last;
  BEGIN
    INSERT INTO period_locks (month, reason, locked_by, locked_at, bill_count_at_lock)
    VALUES (p_month, COALESCE(p_reason, ''), COALESCE(p_actor->>'username', 'system'), now(), v_count);
  EXCEPTION WHEN unique_violation THEN
    RETURN false;  -- locked at the same moment by another admin
  END;
  PERFORM meterline_audit(p_actor, 'period.lock', 'period_lock', p_month,
                          jsonb_build_object('reason', p_reason, 'bills_at_lock', v_count));
  RETURN true;
END $$;

-- Read-only proof that the database refuses a bill ending in the month: a direct insert inside a
-- subtransaction that is always rolled back. Returns {"refused": bool, "detail": text}.
CREATE OR REPLACE FUNCTION meterline_probe_lock(p_first date, p_last date)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_account accounts;
  v_version bigint;
BEGIN
  SELECT * INTO v_account FROM accounts ORDER BY id LIMIT 1;
  SELECT id INTO v_version FROM tariff_plan_versions ORDER BY id LIMIT 1;
  IF v_account.id IS NULL OR v_version IS NULL THEN
    RETURN jsonb_build_object('refused', false,
                              'detail', 'no account or tariff plan exists to probe with; set up the utility first');
  END IF;
  BEGIN
    INSERT INTO bills (account_id, area_id, tariff_plan_version_id, billing_period_start, billing_period_end, due_date,
                       units, motor_units, total_units, rate_per_unit, fixed_charge, previous_outstanding, total_amount,
                       created_by_name)
    VALUES (v_account.id, v_account.area_id, v_version, p_first, p_last, p_last, 0, 0, 0, 0, 0, 0, 0, 'lock-probe');
    RAISE SQLSTATE 'MLPRB' USING MESSAGE = 'probe insert accepted';  -- undo the accepted insert
  EXCEPTION
    WHEN SQLSTATE 'MLPRB' THEN
      RETURN jsonb_build_object('refused', false,
                                'detail', 'a direct SQL insert of a bill ending in the month was ACCEPTED (rolled back)');
    WHEN OTHERS THEN
      RETURN jsonb_build_object('refused', SQLERRM LIKE 'PERIOD_LOCKED%',
                                'detail', 'direct insert refused by the database: ' || split_part(SQLERRM, E'\n', 1));
  END;
END $$;

-- One priced bill with its lines. Never overwrites: the start moves forward a day at a time past the
-- account's bills of the service starting on it, never past billing_period_end (else PT409 naming the
-- existing bill). A collision is a re-issue and must have been priced as one (p_bill.reissue_of), else
-- PT409: price it again. p_carry: open bills whose balance previous_outstanding absorbs; they become
-- carried_forward (PT409 if one is no longer open with that balance). p_bill also carries what is not
-- a column (services.models.NewBill): "lines" [{seq, code, label, quantity, unit, rate, amount}]
-- (bill_lines rows), "covered" [{reading_id, units, motor_units}] (bill_readings rows),
-- "confirm_units" [reading_id, units] (the billed reading's new confirmed units), and for a
-- re-issue "replaced_paid" (what was paid on the replaced bill when priced: credited to the new
-- one) and "credit_paid_on". The replaced bill becomes superseded (a trigger releases its
-- coverage), the bills carried into it point at the new bill. Returns {"id", "billing_period_start",
-- "reissue_of"}.
CREATE OR REPLACE FUNCTION meterline_insert_bill(p_bill jsonb, p_carry bigint[], p_actor jsonb, p_details jsonb)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  b bills := jsonb_populate_record(NULL::bills, p_bill);
  v_old bills;
  v_original bigint;
  v_start date;
  v_id bigint;
  v_constraint text;
  v_changed integer;
  v_balance numeric(14, 2);
  v_units numeric;
  v_credit numeric(14, 2);
  v_pid bigint;
  v_status text;
  v_series text := COALESCE(p_bill->>'number_series', meterline_default_bill_series());
  v_new bigint := nextval(pg_get_serial_sequence('bills', 'id'));  -- its id first: the PSID needs it
BEGIN
  b.service := COALESCE(b.service, 'electricity');
  PERFORM meterline_check_not_locked(b.billing_period_start, b.billing_period_end);
  IF b.reissue_of IS NOT NULL THEN
    SELECT * INTO v_old FROM bills WHERE id = b.reissue_of FOR UPDATE;
    IF NOT FOUND THEN
      PERFORM meterline_not_found(format('Bill %s does not exist.', b.reissue_of));
    ELSIF v_old.account_id <> b.account_id THEN
      PERFORM meterline_invalid('reissue_of', format('bill #%s is another account''s bill.', v_old.id),
                                'Re-issue a bill of the same account.');
    ELSIF v_old.status = 'superseded' THEN
      PERFORM meterline_conflict(format('Bill #%s was replaced by bill #%s meanwhile. Nothing was stored; open bill '
                                        '#%s and re-issue that one if it is wrong.', v_old.id, v_old.superseded_by,
                                        v_old.superseded_by));
    ELSIF v_old.status = 'carried_forward' THEN
      PERFORM meterline_conflict(format('Bill #%s''s balance was carried forward into bill #%s, so it cannot be '
                                        'replaced on its own. Nothing was stored; re-issue bill #%s.', v_old.id,
                                        v_old.carried_forward_to, v_old.carried_forward_to));
    ELSIF v_old.amount_paid <> COALESCE((p_bill->>'replaced_paid')::numeric, 0)
          OR v_old.previous_outstanding <> b.previous_outstanding THEN
      PERFORM meterline_conflict(format('Bill #%s changed while its re-issue was being priced (a payment was '
                                        'recorded?). Nothing was stored; price the re-issue again.', v_old.id));
    END IF;
  END IF;
  -- Its number, in this transaction (42_functions_bill_numbers.sql): a refusal below gives it back.
  b.bill_number := meterline_format_bill_number(v_series, meterline_take_bill_numbers(v_series, 1));
  FOR attempt IN 1..62 LOOP  -- a period is at most a couple of months of days
    SELECT id INTO v_original FROM bills
     WHERE account_id = b.account_id AND service = b.service AND billing_period_start = b.billing_period_start;
    IF v_original IS NOT NULL AND b.reissue_of IS NULL THEN
      PERFORM meterline_conflict(format('Bill #%s for account %s starting %s was stored while this bill was being '
                                        'priced. Nothing was stored; look again: a bill for the same start is a '
                                        're-issue of bill #%s.', v_original, b.account_id, b.billing_period_start,
                                        v_original));
    END IF;
    SELECT min(d)::date INTO v_start
      FROM generate_series(b.billing_period_start, b.billing_period_end, interval '1 day') AS d
     WHERE NOT EXISTS (SELECT 1 FROM bills x WHERE x.account_id = b.account_id AND x.service = b.service
                                              AND x.billing_period_start = d::date);
    IF v_start IS NULL THEN
      PERFORM meterline_conflict(
        format('Bill #%s already covers account %s from %s, and every start date up to the period end %s is taken '
               'by another bill. Nothing was stored; open bill #%s instead of issuing another.',
               v_original, b.account_id, b.billing_period_start, b.billing_period_end, v_original),
        format('bill_collision existing_bill_id=%s', v_original));
    END IF;
    BEGIN
      INSERT INTO bills (id, psid, account_id, service, area_id, billing_period_start, billing_period_end, due_date,
                         tariff_kind, pricing_rule, tariff_plan_version_id, category, units, motor_units, total_units,
                         rate_per_unit, fixed_charge, previous_outstanding, tariff_details, total_amount, status,
                         amount_paid, last_reading_id, motor_reading_id, first_reading_id, usage_from, usage_to,
                         reissue_of, bill_run_id, created_by, created_by_name, bill_number)
      VALUES (v_new, meterline_psid(v_new, b.billing_period_end), b.account_id, b.service, b.area_id, v_start,
              b.billing_period_end, b.due_date, b.tariff_kind,
              b.pricing_rule, b.tariff_plan_version_id, b.category, b.units, b.motor_units, b.total_units,
              b.rate_per_unit, b.fixed_charge, b.previous_outstanding, b.tariff_details, b.total_amount, 'pending', 0,
              b.last_reading_id, b.motor_reading_id, b.first_reading_id, b.usage_from, b.usage_to, b.reissue_of,
              b.bill_run_id, (p_actor->>'user_id')::bigint, COALESCE(p_actor->>'username', 'system'), b.bill_number)
      RETURNING id INTO v_id;
      EXIT;
    EXCEPTION WHEN unique_violation THEN
      GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
      IF v_constraint <> 'uq_bills_account_id_service_billing_period_start' THEN
        RAISE;
      END IF;  -- another writer took that start between our read and insert: look again
    END;
  END LOOP;
  IF v_id IS NULL THEN
    PERFORM meterline_conflict('Could not find a free billing period start after repeated collisions; try again.',
                               'bill_collision');
  END IF;
  INSERT INTO bill_lines (bill_id, seq, code, label, quantity, unit, rate, amount)
  SELECT v_id, l.seq, l.code, l.label, l.quantity, l.unit, l.rate, l.amount
    FROM jsonb_populate_recordset(NULL::bill_lines, COALESCE(p_bill->'lines', '[]'::jsonb)) AS l ORDER BY l.seq;
  IF b.reissue_of IS NOT NULL THEN
    -- The replaced bill is superseded (a trigger releases its coverage); the bills it carried move.
    UPDATE bills SET status = 'superseded', superseded_by = v_id, updated_at = now() WHERE id = v_old.id;
    WITH moved AS (
      UPDATE bills SET carried_forward_to = v_id, updated_at = now()
       WHERE carried_forward_to = v_old.id AND status = 'carried_forward'
      RETURNING total_amount - amount_paid AS balance
    )
    SELECT count(*), COALESCE(sum(balance), 0) INTO v_changed, v_balance FROM moved;
    IF v_changed > 0 AND v_balance <> b.previous_outstanding THEN
      PERFORM meterline_conflict(format('The arrears bill #%s carried (%s) do not match the bills carried into it. '
                                        'Nothing was stored; run python -m scripts.verify_billing.', v_old.id,
                                        b.previous_outstanding));
    END IF;
  END IF;
  IF cardinality(p_carry) > 0 THEN
    -- The absorbed bills must still be the account's open bills with exactly the balance this bill
    -- carries: a payment recorded since it was priced would make it charge money already paid.
    WITH carried AS (
      UPDATE bills SET status = 'carried_forward', carried_forward_to = v_id, updated_at = now()
       WHERE id = ANY (p_carry) AND status IN ('pending', 'partially_paid', 'overdue') AND account_id = b.account_id
      RETURNING total_amount - amount_paid AS balance
    )
    SELECT count(*), COALESCE(sum(balance), 0) INTO v_changed, v_balance FROM carried;
    IF v_changed <> cardinality(p_carry) OR v_balance <> b.previous_outstanding THEN
      PERFORM meterline_conflict('The account''s open bills changed while this bill was being created (a payment was '
                                 'recorded?). Nothing was stored; recalculate the previous outstanding and try again.');
    END IF;
  END IF;
  IF jsonb_typeof(p_bill->'confirm_units') = 'array' THEN
    SELECT approved_units INTO v_units FROM readings
     WHERE id = (p_bill->'confirm_units'->>0)::bigint AND status = 'approved' FOR UPDATE;
    IF NOT FOUND THEN
      PERFORM meterline_conflict(format('Reading #%s is no longer approved; nothing was stored.',
                                        p_bill->'confirm_units'->>0));
    END IF;
    UPDATE readings SET approved_units = (p_bill->'confirm_units'->>1)::numeric, updated_at = now()
     WHERE id = (p_bill->'confirm_units'->>0)::bigint;
    PERFORM meterline_audit(p_actor, 'reading.confirm_units', 'reading', p_bill->'confirm_units'->>0,
                            jsonb_build_object('from', v_units::text, 'to', p_bill->'confirm_units'->>1,
                                               'bill_id', v_id));
  END IF;
  BEGIN
    INSERT INTO bill_readings (bill_id, reading_id, units, motor_units)
    SELECT v_id, (c->>'reading_id')::bigint, (c->>'units')::numeric, COALESCE((c->>'motor_units')::numeric, 0)
      FROM jsonb_array_elements(COALESCE(p_bill->'covered', '[]'::jsonb)) WITH ORDINALITY AS x(c, n) ORDER BY n;
  EXCEPTION WHEN unique_violation THEN  -- another bill covered one of them meanwhile
    PERFORM meterline_conflict('BILL_READING_TAKEN: a reading of this bill is already on another bill (billed '
                               'meanwhile?). Nothing was stored; look at the account''s bills and readings again.');
  END;
  IF b.reissue_of IS NOT NULL AND v_old.amount_paid > 0 THEN
    -- What was paid on the replaced bill, applied once to its replacement.
    v_credit := v_old.amount_paid;
    IF v_credit > b.total_amount THEN
      PERFORM meterline_invalid('units', format('%s was paid on bill #%s, more than the replacement''s total of '
                                                     '%s.', v_credit, v_old.id, b.total_amount),
                                'A replacement must be at least what was paid; refund or credit the difference first.');
    END IF;
    INSERT INTO payments (bill_id, amount, paid_on, method, reference, credit_from_bill, recorded_by, recorded_by_name)
    VALUES (v_id, v_credit, COALESCE((p_bill->>'credit_paid_on')::date, current_date), 'credit',
            format('credit from bill #%s', v_old.id), v_old.id, (p_actor->>'user_id')::bigint,
            COALESCE(p_actor->>'username', 'system'))
    RETURNING id INTO v_pid;
    v_status := CASE WHEN v_credit = b.total_amount THEN 'paid' ELSE 'partially_paid' END;
    UPDATE bills SET amount_paid = v_credit, status = v_status,
                     paid_at = CASE WHEN v_status = 'paid' THEN now() END, updated_at = now()
     WHERE id = v_id;
    PERFORM meterline_audit(p_actor, 'payment.credit', 'bill', v_id::text, jsonb_build_object(
      'payment_id', v_pid, 'amount', v_credit::text, 'credit_from_bill', v_old.id, 'status', v_status));
  END IF;
  PERFORM meterline_audit(p_actor, CASE WHEN b.reissue_of IS NULL THEN 'bill.create' ELSE 'bill.reissue' END, 'bill',
                          v_id::text, p_details || jsonb_build_object(
                            'billing_period_start', v_start::text, 'reissue_of', b.reissue_of,
                            'credit', v_credit::text, 'bill_number', b.bill_number));
  RETURN jsonb_build_object('id', v_id, 'billing_period_start', v_start, 'reissue_of', b.reissue_of);
END $$;

-- A month run's batch of priced bills with their lines and coverage, in one transaction. An account
-- that already has a bill of the service starting in its bill's period is skipped; a locked month
-- refuses the whole batch before anything is written. Each element may carry "lines",
-- "carry_forward_bill_ids" and "covered" (as for meterline_insert_bill). An account whose carried bills
-- are no longer open with exactly the balance its bill carries (a payment landed since it was priced),
-- or one of whose readings another bill covers now or is no longer approved with the units it was
-- priced from, is left out: "stale" lists them, to be priced again. Returns {"created", "skipped", "total_amount", "stale"}.
CREATE OR REPLACE FUNCTION meterline_insert_bill_batch(p_bills jsonb, p_actor jsonb)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_lo date;
  v_end date;
  v_total integer := jsonb_array_length(p_bills);
  v_fresh integer;
  v_created integer;
  v_amount numeric(14, 2);
  v_run bigint;
  v_stale bigint[];
  v_ids bigint[];
  v_ords bigint[];
  v_carry integer;
  v_changed integer;
  v_fresh_ords bigint[];
  v_bases jsonb := '{}';
  v_series record;
  -- Looked up once: in the select list below it ran once per bill (as in services/storage/sql_bill_runs.py).
  v_bills_seq regclass := pg_get_serial_sequence('bills', 'id')::regclass;
BEGIN
  IF v_total = 0 THEN
    RETURN jsonb_build_object('created', 0, 'skipped', 0, 'total_amount', '0.00', 'stale', '[]'::jsonb,
                              'ids', '[]'::jsonb);
  END IF;
  FOR v_lo, v_end IN SELECT DISTINCT x.billing_period_start, x.billing_period_end
                        FROM jsonb_populate_recordset(NULL::bills, p_bills) x LOOP
    PERFORM meterline_check_not_locked(v_lo, v_end);
  END LOOP;
  -- The bills the batch carries forward, locked until commit: no payment lands between the check and
  -- the carry-forward.
  PERFORM 1 FROM bills
   WHERE id IN (SELECT c::bigint FROM jsonb_array_elements(p_bills) AS e,
                     jsonb_array_elements_text(COALESCE(e->'carry_forward_bill_ids', '[]'::jsonb)) AS c)
   ORDER BY id FOR UPDATE;
  -- The readings the batch covers, held until commit (FOR SHARE): an undo or a re-measure arriving
  -- after the check below waits, then meets the bill (the undo trigger refuses it).
  PERFORM 1 FROM readings
   WHERE id IN (SELECT (c->>'reading_id')::bigint FROM jsonb_array_elements(p_bills) AS e,
                     jsonb_array_elements(COALESCE(e->'covered', '[]'::jsonb)) AS c)
   ORDER BY id FOR SHARE;
  WITH src AS (
    SELECT (e->>'account_id')::bigint AS account_id, (e->>'previous_outstanding')::numeric AS prev,
           COALESCE(e->'carry_forward_bill_ids', '[]'::jsonb) AS carry, COALESCE(e->'covered', '[]'::jsonb) AS covered
      FROM jsonb_array_elements(p_bills) AS e
  ), carried_wrong AS (
    SELECT s.account_id FROM src s
     WHERE jsonb_array_length(s.carry) > 0
       AND (SELECT count(*) || ':' || COALESCE(sum(o.total_amount - o.amount_paid), 0)
              FROM jsonb_array_elements_text(s.carry) AS c
              JOIN bills o ON o.id = c::bigint AND o.account_id = s.account_id
                          AND o.status IN ('pending', 'partially_paid', 'overdue'))
           <> jsonb_array_length(s.carry) || ':' || s.prev
  ), covered_now AS (
    SELECT s.account_id FROM src s, jsonb_array_elements(s.covered) AS c
     WHERE EXISTS (SELECT 1 FROM bill_readings x WHERE x.reading_id = (c->>'reading_id')::bigint
                                                  AND x.superseded_by IS NULL)
  ), reading_changed AS (  -- no longer approved with the units the bill was priced from
    SELECT s.account_id FROM src s CROSS JOIN jsonb_array_elements(s.covered) AS c
      LEFT JOIN readings r ON r.id = (c->>'reading_id')::bigint
     WHERE r.id IS NULL OR r.status <> 'approved'
        OR COALESCE(r.approved_units, r.consumption, 0) <> COALESCE((c->>'units')::numeric, 0)
        OR COALESCE(r.motor_share, 0) <> COALESCE((c->>'motor_units')::numeric, 0)
  )
  SELECT COALESCE(array_agg(DISTINCT account_id ORDER BY account_id), '{}') INTO v_stale
    FROM (SELECT account_id FROM carried_wrong UNION SELECT account_id FROM covered_now
          UNION SELECT account_id FROM reading_changed) z;
  -- The bills to store (not billed for their period yet, not stale), fixed once: their numbers are
  -- reserved for exactly these, one reservation per series, and handed out in p_bills' order. A
  -- bill stored by another writer meanwhile makes the insert below fail whole (unique key), and the
  -- caller tries the batch again: nothing is stored and no number is used.
  SELECT COALESCE(array_agg(e.ord ORDER BY e.ord), '{}') INTO v_fresh_ords
    FROM jsonb_array_elements(p_bills) WITH ORDINALITY AS e(v, ord)
    CROSS JOIN LATERAL jsonb_populate_record(NULL::bills, e.v) AS x
   WHERE x.account_id <> ALL (v_stale)
     AND NOT EXISTS (SELECT 1 FROM bills o WHERE o.account_id = x.account_id
                        AND o.service = COALESCE(x.service, 'electricity')
                        AND o.billing_period_start BETWEEN x.billing_period_start AND x.billing_period_end);
  FOR v_series IN SELECT COALESCE(e.v->>'number_series', meterline_default_bill_series()) AS series, count(*) AS n
                    FROM jsonb_array_elements(p_bills) WITH ORDINALITY AS e(v, ord)
                   WHERE e.ord = ANY (v_fresh_ords) GROUP BY 1 ORDER BY 1 LOOP
    v_bases := v_bases || jsonb_build_object(v_series.series,
                                             meterline_take_bill_numbers(v_series.series, v_series.n) - v_series.n);
  END LOOP;
  -- Each bill stored gets its id from the sequence first, so its lines, coverage and the bills it
  -- absorbs are matched to it by its place in p_bills (ord), never by looking it up again.
  WITH src AS (
    SELECT x.*, COALESCE(x.service, 'electricity') AS svc, e.ord,
           COALESCE(e.v->>'number_series', meterline_default_bill_series()) AS series
      FROM jsonb_array_elements(p_bills) WITH ORDINALITY AS e(v, ord)
      CROSS JOIN LATERAL jsonb_populate_record(NULL::bills, e.v) AS x
  ), fresh AS (
    SELECT * FROM src WHERE src.ord = ANY (v_fresh_ords)
  ), numbered AS MATERIALIZED (
    SELECT nextval(v_bills_seq) AS new_id,
           meterline_format_bill_number(fresh.series, (v_bases->>fresh.series)::bigint
                                        + row_number() OVER (PARTITION BY fresh.series ORDER BY fresh.ord)) AS number,
           fresh.* FROM fresh
  ), ins AS (
    INSERT INTO bills (id, psid, account_id, service, area_id, billing_period_start, billing_period_end, due_date,
                       tariff_kind, pricing_rule, tariff_plan_version_id, category, units, motor_units, total_units,
                       rate_per_unit, fixed_charge, previous_outstanding, tariff_details, total_amount, status,
                       amount_paid, last_reading_id, motor_reading_id, first_reading_id, usage_from, usage_to,
                       bill_run_id, created_by, created_by_name, bill_number)
    SELECT new_id, meterline_psid(new_id, billing_period_end), account_id, svc, area_id, billing_period_start,
           billing_period_end, due_date,
           tariff_kind, pricing_rule, tariff_plan_version_id, category, units, motor_units, total_units,
           rate_per_unit, fixed_charge, previous_outstanding, tariff_details, total_amount, 'pending',
           0, last_reading_id, motor_reading_id, first_reading_id, usage_from, usage_to,
           bill_run_id, (p_actor->>'user_id')::bigint, COALESCE(p_actor->>'username', 'system'), number
      FROM numbered ORDER BY ord
    RETURNING id, total_amount, bill_run_id
  )
  SELECT (SELECT count(*) FROM src WHERE NOT EXISTS (
            SELECT 1 FROM bills o WHERE o.account_id = src.account_id AND o.service = src.svc
               AND o.billing_period_start BETWEEN src.billing_period_start AND src.billing_period_end)),
         (SELECT count(*) FROM ins), (SELECT COALESCE(sum(total_amount), 0) FROM ins),
         (SELECT bill_run_id FROM ins ORDER BY id LIMIT 1),
         (SELECT COALESCE(array_agg(new_id ORDER BY ord), '{}') FROM numbered),
         (SELECT COALESCE(array_agg(ord ORDER BY ord), '{}') FROM numbered)
    INTO v_fresh, v_created, v_amount, v_run, v_ids, v_ords;
  -- Their lines and coverage, then the bills they absorbed (checked above, locked since).
  INSERT INTO bill_lines (bill_id, seq, code, label, quantity, unit, rate, amount)
  SELECT n.id, l.seq, l.code, l.label, l.quantity, l.unit, l.rate, l.amount
    FROM unnest(v_ids, v_ords) AS n(id, ord)
    JOIN jsonb_array_elements(p_bills) WITH ORDINALITY AS e(v, ord) ON e.ord = n.ord
    CROSS JOIN LATERAL jsonb_populate_recordset(NULL::bill_lines, COALESCE(e.v->'lines', '[]'::jsonb)) AS l
   ORDER BY n.id, l.seq;
  BEGIN
    INSERT INTO bill_readings (bill_id, reading_id, units, motor_units)
    SELECT n.id, (c->>'reading_id')::bigint, (c->>'units')::numeric, COALESCE((c->>'motor_units')::numeric, 0)
      FROM unnest(v_ids, v_ords) AS n(id, ord)
      JOIN jsonb_array_elements(p_bills) WITH ORDINALITY AS e(v, ord) ON e.ord = n.ord
      CROSS JOIN LATERAL jsonb_array_elements(COALESCE(e.v->'covered', '[]'::jsonb)) WITH ORDINALITY AS x(c, k)
     ORDER BY n.id, x.k;
  EXCEPTION WHEN unique_violation THEN  -- a single bill covered one of them after the check: look again
    PERFORM meterline_conflict('BILL_READING_TAKEN: a reading of this batch was billed meanwhile; the batch was rolled '
                               'back; run the bill run again to finish.');
  END;
  WITH carry AS (
    SELECT (c.value)::bigint AS bill_id, n.id AS into_id, (e.v->>'account_id')::bigint AS account_id
      FROM unnest(v_ids, v_ords) AS n(id, ord)
      JOIN jsonb_array_elements(p_bills) WITH ORDINALITY AS e(v, ord) ON e.ord = n.ord
      CROSS JOIN LATERAL jsonb_array_elements_text(COALESCE(e.v->'carry_forward_bill_ids', '[]'::jsonb)) AS c
  ), upd AS (
    UPDATE bills SET status = 'carried_forward', carried_forward_to = carry.into_id, updated_at = now()
      FROM carry
     WHERE bills.id = carry.bill_id AND bills.status IN ('pending', 'partially_paid', 'overdue')
       AND bills.account_id = carry.account_id
    RETURNING carry.into_id
  )
  SELECT (SELECT count(*) FROM carry), (SELECT count(*) FROM upd) INTO v_carry, v_changed;
  IF v_changed <> v_carry THEN
    PERFORM meterline_conflict('Open bills changed during the bill run (a payment was recorded?). This batch was '
                               'rolled back; run the bill run again to finish.');
  END IF;
  PERFORM meterline_audit(p_actor, 'bill.batch_create', 'bill_run', v_run::text, jsonb_build_object(
    'created', v_created, 'skipped', v_total - v_fresh, 'total_amount', v_amount::text,
    'first_account_id', (p_bills->0->>'account_id')::bigint,
    'last_account_id', (p_bills->(v_total - 1)->>'account_id')::bigint,
    'changed_accounts', to_jsonb(v_stale[1:100])));
  RETURN jsonb_build_object('created', v_created, 'skipped', v_total - v_fresh, 'total_amount', v_amount::text,
                            'stale', to_jsonb(v_stale), 'ids', to_jsonb(v_ids));  -- ids: sealed next (94_functions_seals.sql)
END $$;

-- Store a payment Python worked out with services/billing/arrears.apply_payment (the one implementation of
-- the rules), compare-and-set: the bill must still have the amount_paid and status it was priced
-- against (else PT409 'stale', Python re-reads and tries again). Idempotent on p_external_id: a
-- replay returns the first payment with applied=false and changes nothing.
CREATE OR REPLACE FUNCTION meterline_apply_payment(
  p_bill_id bigint, p_amount numeric, p_expected_paid numeric, p_expected_status text, p_new_paid numeric,
  p_new_status text, p_paid_on date, p_method text, p_reference text, p_external_id text, p_actor jsonb,
  p_details jsonb)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v bills;
  v_pid bigint;
  v_expect_status text;
BEGIN
  IF p_external_id IS NOT NULL THEN
    SELECT id INTO v_pid FROM payments WHERE external_id = p_external_id;
    IF v_pid IS NOT NULL THEN
      RETURN jsonb_build_object('payment_id', v_pid, 'applied', false);
    END IF;
  END IF;
  SELECT * INTO v FROM bills WHERE id = p_bill_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM meterline_not_found(format('Bill %s does not exist.', p_bill_id));
  END IF;
  IF v.amount_paid <> p_expected_paid OR v.status <> p_expected_status THEN
    PERFORM meterline_conflict('The bill changed while the payment was being recorded; nothing was stored.', 'stale');
  END IF;
  -- The same refusals as apply_payment, so a caller that skipped Python cannot break them either.
  IF v.status NOT IN ('pending', 'partially_paid', 'overdue') THEN
    PERFORM meterline_conflict(format('Bill %s is %s; no payment can be recorded against it.', p_bill_id, v.status));
  END IF;
  v_expect_status := CASE WHEN p_new_paid = v.total_amount THEN 'paid'
                          WHEN v.status = 'overdue' THEN 'overdue' ELSE 'partially_paid' END;
  IF p_amount IS NULL OR p_amount <= 0 OR p_new_paid <> v.amount_paid + p_amount OR p_new_paid > v.total_amount
     OR p_new_status <> v_expect_status THEN
    PERFORM meterline_invalid('amount', format('%s does not fit the %s still due on this bill.', p_amount,
                                               v.total_amount - v.amount_paid),
                              format('Enter more than zero and at most %s.', v.total_amount - v.amount_paid));
  END IF;
  BEGIN
    INSERT INTO payments (bill_id, amount, paid_on, method, reference, external_id, recorded_by, recorded_by_name)
    VALUES (p_bill_id, p_amount, p_paid_on, p_method, p_reference, p_external_id, (p_actor->>'user_id')::bigint,
            COALESCE(p_actor->>'username', 'system'))
    RETURNING id INTO v_pid;
  EXCEPTION WHEN unique_violation THEN  -- the same external event recorded at the same moment
    SELECT id INTO v_pid FROM payments WHERE external_id = p_external_id;
    IF v_pid IS NULL THEN
      RAISE;
    END IF;
    RETURN jsonb_build_object('payment_id', v_pid, 'applied', false);
  END;
  UPDATE bills SET amount_paid = p_new_paid, status = p_new_status,
                   paid_at = CASE WHEN p_new_status = 'paid' THEN now() END, updated_at = now()
   WHERE id = p_bill_id;
  PERFORM meterline_audit(p_actor, 'payment.record', 'bill', p_bill_id::text,
                          jsonb_build_object('payment_id', v_pid) || COALESCE(p_details, '{}'::jsonb)
                          || jsonb_build_object('status', p_new_status));
  RETURN jsonb_build_object('payment_id', v_pid, 'applied', true);
END $$;

-- Pay the whole balance of each open bill (a bank's collection file), set-based; bills not open are
-- left alone. Returns how many bills were settled.
CREATE OR REPLACE FUNCTION meterline_settle_in_full(p_ids bigint[], p_paid_on date, p_method text, p_reference text,
                                                    p_actor jsonb)
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  n integer;
BEGIN
  PERFORM 1 FROM bills WHERE id = ANY (p_ids) FOR UPDATE;
  INSERT INTO payments (bill_id, amount, paid_on, method, reference, recorded_by, recorded_by_name)
  SELECT id, round(total_amount - amount_paid, 2), p_paid_on, p_method, p_reference, (p_actor->>'user_id')::bigint,
         COALESCE(p_actor->>'username', 'system')
    FROM bills
   WHERE id = ANY (p_ids) AND status IN ('pending', 'partially_paid', 'overdue') AND total_amount > amount_paid
   ORDER BY id;
  UPDATE bills SET amount_paid = total_amount, status = 'paid', paid_at = now(), updated_at = now()
   WHERE id = ANY (p_ids) AND status IN ('pending', 'partially_paid', 'overdue') AND total_amount > amount_paid;
  GET DIAGNOSTICS n = ROW_COUNT;
  PERFORM meterline_audit(p_actor, 'payment.settle_in_full', 'bill', NULL, jsonb_build_object(
    'requested', cardinality(p_ids), 'settled', n, 'paid_on', p_paid_on::text, 'method', p_method,
    'reference', p_reference));
  RETURN n;
END $$;

-- Admin status change (the rules are in services/billing/bill_status.py). PT404 for an unknown bill;
-- with p_expected, PT409 when the bill no longer has that status (a payment landed meanwhile).
DROP FUNCTION IF EXISTS meterline_set_bill_status(bigint, text, text, jsonb);
CREATE OR REPLACE FUNCTION meterline_set_bill_status(p_id bigint, p_status text, p_reason text, p_actor jsonb,
                                                     p_expected text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_old text;
BEGIN
  SELECT status INTO v_old FROM bills WHERE id = p_id FOR UPDATE;
  IF v_old IS NULL THEN
    PERFORM meterline_not_found(format('Bill %s does not exist.', p_id));
  END IF;
  IF p_expected IS NOT NULL AND v_old <> p_expected THEN
    PERFORM meterline_conflict(format('Bill %s is now %s, not %s: it changed meanwhile (a payment?). Nothing was '
                                      'changed; look at the bill again.', p_id, v_old, p_expected), 'stale');
  END IF;
  UPDATE bills SET status = p_status, updated_at = now() WHERE id = p_id;
  PERFORM meterline_audit(p_actor, 'bill.status', 'bill', p_id::text,
                          jsonb_build_object('from', v_old, 'to', p_status, 'reason', p_reason));
  RETURN v_old;
END $$;

CREATE OR REPLACE FUNCTION meterline_set_payment_link(p_id bigint, p_link_id text, p_url text, p_actor jsonb)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  UPDATE bills SET payment_link_id = p_link_id, payment_link_url = p_url, updated_at = now() WHERE id = p_id;
  IF NOT FOUND THEN
    PERFORM meterline_not_found(format('Bill %s does not exist.', p_id));
  END IF;
  PERFORM meterline_audit(p_actor, 'bill.payment_link', 'bill', p_id::text,
                          jsonb_build_object('payment_link_id', p_link_id));
  RETURN p_id;
END $$;

-- Open bills past due -> overdue, set-based. Returns the ids that changed, ascending.
CREATE OR REPLACE FUNCTION meterline_mark_overdue(p_as_of date, p_actor jsonb)
RETURNS bigint[] LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_ids bigint[];
BEGIN
  WITH upd AS (
    UPDATE bills SET status = 'overdue', updated_at = now()
     WHERE status IN ('pending', 'partially_paid') AND due_date < p_as_of
    RETURNING id
  )
  SELECT COALESCE(array_agg(id ORDER BY id), '{}') INTO v_ids FROM upd;
  IF cardinality(v_ids) > 0 THEN
    PERFORM meterline_audit(p_actor, 'bill.mark_overdue', 'bill', NULL, jsonb_build_object(
      'as_of', p_as_of::text, 'count', cardinality(v_ids), 'first_ids', to_jsonb(v_ids[1:100])));
  END IF;
  RETURN v_ids;
END $$;
