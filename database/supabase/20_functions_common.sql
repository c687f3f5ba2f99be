-- Functions the REST backend (services/storage/rest_*.py) calls through POST /rest/v1/rpc/NAME.
-- PostgREST runs each call in one transaction, so a change and its audit_log row are written
-- together or not at all. They store what Python decided and priced; they never price.
--
-- Errors a person can act on, as PostgREST forwards them (services/storage/rest_client.py):
--   P0001 'PERIOD_LOCKED: billing period YYYY-MM is locked ...'  (the same text as the trigger)
--   P0001 'APPEND_ONLY: ...' (a change to an append-only table)
--   PT404 not found; PT409 conflict (DETAIL 'bill_collision existing_bill_id=N' or 'stale');
--   PT422 bad value (DETAIL = the field, HINT = the fix). PTxyz answers HTTP xyz.
-- p_actor is {"user_id": int|null, "username": text, "client": text|null}; p_details is the audit
-- detail object Python built (the same one the SQL backend writes).

CREATE OR REPLACE FUNCTION meterline_schema_version() RETURNS integer
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT value::integer FROM schema_info WHERE key = 'version'
$$;

CREATE OR REPLACE FUNCTION meterline_audit(p_actor jsonb, p_action text, p_entity_type text,
                                           p_entity_id text, p_details jsonb) RETURNS void
LANGUAGE sql SET search_path = public, pg_temp AS $$
  INSERT INTO audit_log (occurred_at, actor_id, actor_name, client, action, entity_type, entity_id, details)
  VALUES (clock_timestamp(), (p_actor->>'user_id')::bigint, COALESCE(p_actor->>'username', 'system'),
          p_actor->>'client', p_action, p_entity_type, p_entity_id,
          CASE WHEN p_details IS NULL OR p_details = '{}'::jsonb OR p_details = 'null'::jsonb THEN NULL ELSE p_details END)
$$;

-- The lock refusal, worded exactly as the trigger words it, checked before any write so a
-- refused batch writes nothing (the trigger still refuses a direct insert). A bill may not touch
-- a locked month: no day from p_start to p_end in it (services/billing/periods.py).
CREATE OR REPLACE FUNCTION meterline_check_not_locked(p_start date, p_end date) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
  v_month text;
BEGIN
  SELECT month INTO v_month FROM period_locks
   WHERE month BETWEEN to_char(p_start, 'YYYY-MM') AND to_char(p_end, 'YYYY-MM')
   ORDER BY month LIMIT 1;
  IF v_month IS NOT NULL THEN
    RAISE EXCEPTION 'PERIOD_LOCKED: billing period % is locked; no bill may end in it or cover any day of it', v_month
      USING ERRCODE = 'P0001',
            HINT = 'Choose a billing period outside the locked month, or ask an administrator.';
  END IF;
END $$;

-- The end date alone (seed 002's rule; kept for callers written before the start was checked).
CREATE OR REPLACE FUNCTION meterline_check_not_locked(p_end date) RETURNS void
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT meterline_check_not_locked(p_end, p_end)
$$;

CREATE OR REPLACE FUNCTION meterline_not_found(p_message text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  RAISE SQLSTATE 'PT404' USING MESSAGE = p_message;
END $$;

CREATE OR REPLACE FUNCTION meterline_conflict(p_message text, p_detail text DEFAULT 'conflict') RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  RAISE SQLSTATE 'PT409' USING MESSAGE = p_message, DETAIL = p_detail;
END $$;

CREATE OR REPLACE FUNCTION meterline_invalid(p_field text, p_message text, p_hint text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  RAISE SQLSTATE 'PT422' USING MESSAGE = p_message, DETAIL = p_field, HINT = p_hint;
END $$;
