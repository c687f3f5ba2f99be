-- Undo a review decision (issue 18): approved/rejected -> pending, the twin of the SQL backend's
-- undo_review (services/readings/undo.py has the rule and its words). Locks the meter. PT404 for an
-- unknown reading; PT409 (nothing changed) when the reading is not decided, is a meter change's, is
-- billed, or (undoing a rejection) the chain moved since or the follower cannot be re-measured from it.
-- The review-undo trigger (database/review_undo_triggers.py) holds the billed and chain-place parts.
-- A reading stored before readings named their previous one (previous_reading_id empty, consumption
-- set) is checked by value: the last reading before it must be the value it was measured from.
CREATE OR REPLACE FUNCTION meterline_undo_review(p_id bigint, p_actor jsonb)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  r readings;
  v_bill bigint;
  v_before readings;
  v_follower readings;
  v_problem text;
  v_moved boolean;
BEGIN
  SELECT * INTO r FROM readings WHERE id = p_id;
  IF r.id IS NULL THEN
    PERFORM meterline_not_found(format('Reading %s does not exist.', p_id));
  END IF;
  PERFORM 1 FROM meters WHERE id = r.meter_id FOR UPDATE;
  SELECT * INTO r FROM readings WHERE id = p_id;  -- as it is under the lock
  IF r.status NOT IN ('approved', 'rejected') THEN
    PERFORM meterline_conflict(format('Reading #%s is %s; there is no review decision to undo.', p_id, r.status));
  END IF;
  IF r.source = 'meter_change' THEN
    PERFORM meterline_conflict(format('Reading #%s was recorded by a meter change, not decided at review; '
      'it cannot go back to pending.', p_id));
  END IF;
  SELECT COALESCE((SELECT min(bill_id) FROM bill_readings WHERE reading_id = p_id AND superseded_by IS NULL),
                  (SELECT min(id) FROM bills WHERE motor_reading_id = p_id AND status <> 'superseded'))
    INTO v_bill;
  IF v_bill IS NOT NULL THEN
    PERFORM meterline_conflict(format('Reading #%s cannot go back to pending: bill #%s covers it and a billed '
      'reading never changes. Nothing was changed.', p_id, v_bill));
  END IF;
  IF r.status = 'rejected' THEN
    SELECT * INTO v_before FROM readings x
     WHERE x.meter_id = r.meter_id AND x.status <> 'rejected' AND x.id <> p_id
       AND (x.reading_date < r.reading_date OR (x.reading_date = r.reading_date AND x.id < p_id))
     ORDER BY x.reading_date DESC, x.id DESC LIMIT 1;
    v_moved := CASE WHEN r.previous_reading_id IS NOT NULL THEN v_before.id IS DISTINCT FROM r.previous_reading_id
                    WHEN r.consumption IS NOT NULL
                      THEN v_before.id IS NULL OR v_before.reading_value + r.consumption <> r.reading_value
                    ELSE v_before.id IS NOT NULL END;
    IF v_moved THEN
      PERFORM meterline_conflict(format('Reading #%s cannot go back to pending: the meter''s readings changed since '
        'it was rejected (%s). Nothing was changed; submit the reading again instead.', p_id,
        CASE WHEN v_before.id IS NULL THEN 'the reading it was measured from was rejected meanwhile'
             ELSE format('reading #%s of %s now comes before it', v_before.id, v_before.reading_date) END));
    END IF;
    SELECT * INTO v_follower FROM readings x
     WHERE x.meter_id = r.meter_id AND x.status <> 'rejected' AND x.id <> p_id
       AND (x.reading_date > r.reading_date OR (x.reading_date = r.reading_date AND x.id > p_id))
     ORDER BY x.reading_date, x.id LIMIT 1 FOR UPDATE;
    IF v_follower.id IS NOT NULL THEN
      IF v_follower.created_at > r.reviewed_at THEN
        PERFORM meterline_conflict(format('Reading #%s cannot go back to pending: reading #%s of %s was stored after '
          'it was rejected. Nothing was changed; reject reading #%s first if it is the wrong one.', p_id,
          v_follower.id, v_follower.reading_date, v_follower.id));
      END IF;
      IF meterline_reading_is_billed(v_follower.id) THEN
        v_problem := 'is already billed (a billed consumption never changes)';
      ELSIF v_follower.approved_units IS NOT NULL THEN
        v_problem := format('has monthly units (%s kWh) an admin confirmed for the interval it covers now',
                            v_follower.approved_units);
      ELSIF v_follower.reading_value < r.reading_value THEN
        v_problem := format('is lower (%s against %s)', v_follower.reading_value, r.reading_value);
      END IF;
      IF v_problem IS NOT NULL THEN
        PERFORM meterline_conflict(format('Reading #%s cannot go back to pending: reading #%s of %s would be '
          'measured from it again and %s. Nothing was changed.', p_id, v_follower.id, v_follower.reading_date,
          v_problem));
      END IF;
    END IF;
  END IF;
  UPDATE readings
     SET status = 'pending', reviewed_by = NULL, reviewed_at = NULL, updated_at = now(),
         approved_units = CASE WHEN r.status = 'approved' THEN NULL ELSE approved_units END,
         rejection_reason = CASE WHEN r.status = 'rejected' THEN NULL ELSE rejection_reason END
   WHERE id = p_id AND status = r.status;
  PERFORM meterline_audit(p_actor, 'reading.undo_review', 'reading', p_id::text, jsonb_build_object(
    'was', r.status, 'reviewed_by', r.reviewed_by, 'reviewed_at', r.reviewed_at,
    'approved_units', r.approved_units, 'rejection_reason', r.rejection_reason));
  IF v_follower.id IS NOT NULL THEN
    PERFORM meterline_relink_reading(v_follower.id, p_id, v_follower.reading_value - r.reading_value, p_actor,
      format('the rejection of reading #%s it was measured from was undone', p_id), p_id);
  END IF;
  RETURN p_id;
END $$;
