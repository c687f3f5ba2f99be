-- Users (audited) and scheduled-job runs (claimed once across replicas).

-- A duplicate username or email is a 23505 unique violation (the REST backend names it).
CREATE OR REPLACE FUNCTION meterline_create_user(p_username text, p_role text, p_password_hash text, p_display_name text,
                                                 p_email text, p_auth_provider text, p_actor jsonb)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_id bigint;
BEGIN
  INSERT INTO users (username, role, password_hash, display_name, email, auth_provider, created_at, updated_at,
                     password_changed_at)
  VALUES (p_username, p_role, p_password_hash, COALESCE(NULLIF(p_display_name, ''), p_username), p_email,
          COALESCE(p_auth_provider, 'local'), now(), now(), CASE WHEN p_password_hash IS NOT NULL THEN now() END)
  RETURNING id INTO v_id;
  PERFORM meterline_audit(p_actor, 'user.create', 'user', v_id::text, jsonb_build_object(
    'username', p_username, 'role', p_role, 'auth_provider', COALESCE(p_auth_provider, 'local')));
  RETURN v_id;
END $$;

-- Change the allowed columns present in p_changes (Python checks which ones are allowed).
-- Audited as p_action when p_actor is given (a failed login count is not an admin action).
CREATE OR REPLACE FUNCTION meterline_update_user(p_id bigint, p_changes jsonb, p_actor jsonb, p_action text,
                                                 p_details jsonb)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  c jsonb := COALESCE(p_changes, '{}'::jsonb);
BEGIN
  UPDATE users SET
    role = CASE WHEN c ? 'role' THEN c->>'role' ELSE role END,
    is_active = CASE WHEN c ? 'is_active' THEN (c->>'is_active')::boolean ELSE is_active END,
    password_hash = CASE WHEN c ? 'password_hash' THEN c->>'password_hash' ELSE password_hash END,
    display_name = CASE WHEN c ? 'display_name' THEN c->>'display_name' ELSE display_name END,
    email = CASE WHEN c ? 'email' THEN c->>'email' ELSE email END,
    failed_login_count = CASE WHEN c ? 'failed_login_count' THEN (c->>'failed_login_count')::integer
                              ELSE failed_login_count END,
    locked_until = CASE WHEN c ? 'locked_until' THEN (c->>'locked_until')::timestamptz ELSE locked_until END,
    password_changed_at = CASE WHEN c ? 'password_changed_at' THEN (c->>'password_changed_at')::timestamptz
                               ELSE password_changed_at END,
    updated_at = now()
  WHERE id = p_id;
  IF NOT FOUND THEN
    PERFORM meterline_not_found(format('User %s does not exist.', p_id));
  END IF;
  IF p_actor IS NOT NULL AND p_actor <> 'null'::jsonb THEN
    PERFORM meterline_audit(p_actor, p_action, 'user', p_id::text, p_details);
  END IF;
  RETURN p_id;
END $$;

-- Check and count one sign-in before its password is verified (Storage.reserve_login_attempt), in one
-- UPDATE whose WHERE is the check: refused while locked or while failures plus attempts in flight
-- reach p_max. Reservations older than p_stale_before are forgotten (their process died).
CREATE OR REPLACE FUNCTION meterline_reserve_login_attempt(p_id bigint, p_max integer, p_now timestamptz,
                                                           p_stale_before timestamptz)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_until timestamptz;
BEGIN
  UPDATE users SET
    login_attempts_in_flight = CASE WHEN login_attempt_at IS NULL OR login_attempt_at < p_stale_before THEN 0
                                    ELSE login_attempts_in_flight END + 1,
    login_attempt_at = p_now
  WHERE id = p_id
    AND (locked_until IS NULL OR locked_until <= p_now)
    AND failed_login_count + CASE WHEN login_attempt_at IS NULL OR login_attempt_at < p_stale_before THEN 0
                                  ELSE login_attempts_in_flight END < p_max;
  IF FOUND THEN
    RETURN jsonb_build_object('reserved', true, 'locked_until', NULL);
  END IF;
  SELECT locked_until INTO v_until FROM users WHERE id = p_id;
  IF NOT FOUND THEN
    PERFORM meterline_not_found(format('User %s does not exist.', p_id));
  END IF;
  RETURN jsonb_build_object('reserved', false,
                            'locked_until', CASE WHEN v_until > p_now THEN v_until END);
END $$;

-- One failed sign-in, counted in one UPDATE so parallel failures all count (Storage.record_login_failure),
-- which also ends its reservation: the failure that reaches p_max locks the account until p_lock_until
-- and restarts the count.
CREATE OR REPLACE FUNCTION meterline_record_login_failure(p_id bigint, p_max integer, p_lock_until timestamptz,
                                                          p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_count integer;
  v_until timestamptz;
BEGIN
  UPDATE users SET
    failed_login_count = CASE WHEN failed_login_count + 1 >= p_max THEN 0 ELSE failed_login_count + 1 END,
    locked_until = CASE WHEN failed_login_count + 1 >= p_max THEN p_lock_until ELSE locked_until END,
    login_attempts_in_flight = GREATEST(login_attempts_in_flight - 1, 0),
    updated_at = p_now
  WHERE id = p_id
  RETURNING failed_login_count, locked_until INTO v_count, v_until;
  IF NOT FOUND THEN
    PERFORM meterline_not_found(format('User %s does not exist.', p_id));
  END IF;
  RETURN jsonb_build_object('failed_login_count', v_count,
                            'locked', v_count = 0 AND v_until IS NOT DISTINCT FROM p_lock_until);
END $$;

-- A reservation whose password was right (Storage.record_login_success): unless the account is locked,
-- the failure count and an expired lock are cleared; returns the lock in force (null: sign in).
CREATE OR REPLACE FUNCTION meterline_record_login_success(p_id bigint, p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_until timestamptz;
BEGIN
  UPDATE users SET
    failed_login_count = CASE WHEN locked_until > p_now THEN failed_login_count ELSE 0 END,
    locked_until = CASE WHEN locked_until > p_now THEN locked_until END,
    login_attempts_in_flight = GREATEST(login_attempts_in_flight - 1, 0)
  WHERE id = p_id
  RETURNING locked_until INTO v_until;
  IF NOT FOUND THEN
    PERFORM meterline_not_found(format('User %s does not exist.', p_id));
  END IF;
  RETURN jsonb_build_object('locked_until', v_until);
END $$;

-- Start a run unless one exists for (job, key) that is running or completed; a failed run may be
-- claimed again. Returns the run, or null when another run holds the key.
CREATE OR REPLACE FUNCTION meterline_claim_job_run(p_job_id text, p_run_key text, p_host text, p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v job_runs;
BEGIN
  SELECT * INTO v FROM job_runs WHERE job_id = p_job_id AND run_key = p_run_key FOR UPDATE;
  IF NOT FOUND THEN
    BEGIN
      INSERT INTO job_runs (job_id, run_key, status, host, started_at)
      VALUES (p_job_id, p_run_key, 'running', p_host, p_now)
      RETURNING * INTO v;
    EXCEPTION WHEN unique_violation THEN
      RETURN NULL;  -- another replica claimed it at the same moment
    END;
  ELSIF v.status = 'failed' THEN
    UPDATE job_runs SET status = 'running', host = p_host, started_at = p_now, finished_at = NULL, error = NULL
     WHERE id = v.id RETURNING * INTO v;
  ELSE
    RETURN NULL;
  END IF;
  RETURN to_jsonb(v);
END $$;
