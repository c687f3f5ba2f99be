-- Readings: submit (a double tap returns the first row), review, bulk approve, photo and AI advice.

-- p_reading: the NewReading fields. Returns {"id", "created"}; created=false when the same
-- (meter, date, value) was already stored (nothing new is written then).
CREATE OR REPLACE FUNCTION meterline_insert_reading(p_reading jsonb, p_actor jsonb, p_details jsonb)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  r readings := jsonb_populate_record(NULL::readings, p_reading);
  v_id bigint;
BEGIN
  BEGIN
    INSERT INTO readings (meter_id, reading_value, reading_date, consumption, previous_reading_id,
                          motor_reading_value, motor_share, motor_reading_id, photo_ref, photo_url, source,
                          status, flags, ai_opinion, submitted_by)
    VALUES (r.meter_id, r.reading_value, r.reading_date, r.consumption, r.previous_reading_id,
            r.motor_reading_value, r.motor_share, r.motor_reading_id, r.photo_ref, r.photo_url,
            COALESCE(r.source, 'ui'), COALESCE(r.status, 'pending'), r.flags, r.ai_opinion,
            (p_actor->>'user_id')::bigint)
    RETURNING id INTO v_id;
  EXCEPTION WHEN unique_violation THEN
    SELECT id INTO v_id FROM readings
     WHERE meter_id = r.meter_id AND reading_date = r.reading_date AND reading_value = r.reading_value;
    IF v_id IS NULL THEN
      RAISE;
    END IF;
    RETURN jsonb_build_object('id', v_id, 'created', false);
  END;
  PERFORM meterline_audit(p_actor, 'reading.submit', 'reading', v_id::text, p_details);
  RETURN jsonb_build_object('id', v_id, 'created', true);
END $$;

-- pending -> approved/rejected. PT404 for an unknown reading, PT409 when it is not pending.
CREATE OR REPLACE FUNCTION meterline_review_reading(p_id bigint, p_approve boolean, p_actor jsonb, p_reason text,
                                                    p_approved_units numeric, p_details jsonb)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_status text;
BEGIN
  IF NOT p_approve AND COALESCE(btrim(p_reason), '') = '' THEN
    PERFORM meterline_invalid('reason', 'is required to reject a reading.',
                              'Say what is wrong so the engineer can fix it.');
  END IF;
  UPDATE readings
     SET status = CASE WHEN p_approve THEN 'approved' ELSE 'rejected' END,
         reviewed_by = (p_actor->>'user_id')::bigint, reviewed_at = now(), updated_at = now(),
         approved_units = CASE WHEN p_approve AND p_approved_units IS NOT NULL THEN p_approved_units
                               ELSE approved_units END,
         rejection_reason = CASE WHEN p_approve THEN rejection_reason ELSE btrim(p_reason) END
   WHERE id = p_id AND status = 'pending';
  IF NOT FOUND THEN
    SELECT status INTO v_status FROM readings WHERE id = p_id;
    IF v_status IS NULL THEN
      PERFORM meterline_not_found(format('Reading %s does not exist.', p_id));
    END IF;
    PERFORM meterline_conflict(format('Reading %s is already %s; only pending readings can be reviewed.', p_id, v_status));
  END IF;
  PERFORM meterline_audit(p_actor, CASE WHEN p_approve THEN 'reading.approve' ELSE 'reading.reject' END,
                          'reading', p_id::text, p_details);
  RETURN p_id;
END $$;

-- Bulk approve pending (and, by default, unflagged) readings; returns how many changed.
CREATE OR REPLACE FUNCTION meterline_approve_readings(p_ids bigint[], p_actor jsonb, p_unflagged_only boolean)
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  n integer;
BEGIN
  UPDATE readings
     SET status = 'approved', reviewed_by = (p_actor->>'user_id')::bigint, reviewed_at = now(), updated_at = now()
   WHERE id = ANY (p_ids) AND status = 'pending' AND (NOT p_unflagged_only OR flags IS NULL);
  GET DIAGNOSTICS n = ROW_COUNT;
  PERFORM meterline_audit(p_actor, 'reading.bulk_approve', 'reading', NULL,
                          jsonb_build_object('requested', cardinality(p_ids), 'approved', n));
  RETURN n;
END $$;

CREATE OR REPLACE FUNCTION meterline_set_reading_photo_url(p_id bigint, p_photo_url text, p_actor jsonb)
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  n integer;
BEGIN
  UPDATE readings SET photo_url = p_photo_url, updated_at = now() WHERE id = p_id;
  GET DIAGNOSTICS n = ROW_COUNT;
  PERFORM meterline_audit(p_actor, 'reading.photo_url', 'reading', p_id::text,
                          jsonb_build_object('photo_url', p_photo_url));
  RETURN n;
END $$;

-- The model's advice, stored beside the deterministic flags (which it never changes).
CREATE OR REPLACE FUNCTION meterline_set_reading_ai_opinion(p_id bigint, p_opinion jsonb, p_actor jsonb, p_details jsonb)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  UPDATE readings SET ai_opinion = p_opinion, updated_at = now() WHERE id = p_id;
  IF NOT FOUND THEN
    PERFORM meterline_not_found(format('Reading %s does not exist.', p_id));
  END IF;
  PERFORM meterline_audit(p_actor, 'reading.ai_opinion', 'reading', p_id::text, p_details);
  RETURN p_id;
END $$;
