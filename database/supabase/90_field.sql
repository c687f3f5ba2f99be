-- Field operations (issue 15): compliance visits and complaint tickets. The PL/pgSQL twins of
-- services/storage/sql_field.py; tables and the review-only triggers come from database/schema_field.py
-- and database/field_triggers.py. Reads by area-limited staff go through row level security
-- (database/supabase_scopes.py): the views are security_invoker, the read functions security invoker.

DROP VIEW IF EXISTS visit_details, ticket_details, ticket_notes;

CREATE VIEW visit_details WITH (security_invoker = true) AS
SELECT v.*, a.code AS account_code, a.name AS account_name, ar.path AS area_path,
       a.gps_lat AS unit_lat, a.gps_lon AS unit_lon
FROM field_visits v
JOIN accounts a ON a.id = v.account_id
JOIN areas ar ON ar.id = v.area_id;

CREATE VIEW ticket_details WITH (security_invoker = true) AS
SELECT t.*, a.code AS account_code, a.name AS account_name, ar.path AS area_path,
       (SELECT count(*) FROM ticket_comments c WHERE c.ticket_id = t.id) AS comments,
       (SELECT count(*) FROM ticket_attachments f WHERE f.ticket_id = t.id) AS attachments
FROM tickets t
JOIN accounts a ON a.id = t.account_id
JOIN areas ar ON ar.id = t.area_id;

CREATE VIEW ticket_notes WITH (security_invoker = true) AS
SELECT c.id, c.ticket_id, c.author_name, c.created_at, c.body, NULL::varchar AS photo_ref,
       NULL::varchar AS photo_url
  FROM ticket_comments c WHERE c.ticket_id IN (SELECT id FROM tickets)
UNION ALL
SELECT f.id, f.ticket_id, f.added_by_name, f.created_at, NULL::text, f.photo_ref, f.photo_url
  FROM ticket_attachments f WHERE f.ticket_id IN (SELECT id FROM tickets);

CREATE OR REPLACE FUNCTION meterline_create_visit(p_row jsonb, p_actor jsonb) RETURNS bigint
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_area bigint;
  v_id bigint;
BEGIN
  SELECT area_id INTO v_area FROM accounts WHERE id = (p_row->>'account_id')::bigint;
  IF v_area IS NULL THEN
    PERFORM meterline_not_found(format('Account %s does not exist.', p_row->>'account_id'));
  END IF;
  INSERT INTO field_visits (account_id, area_id, agent_id, agent_name, visited_at, visit_date, outcome, notes, photo_ref,
                            photo_url, gps_lat, gps_lon, gps_accuracy_m, distance_m, radius_m, flagged, status, created_at)
  VALUES ((p_row->>'account_id')::bigint, v_area, (p_actor->>'user_id')::bigint, p_actor->>'username',
          (p_row->>'visited_at')::timestamptz, (p_row->>'visit_date')::date, p_row->>'outcome', p_row->>'notes',
          p_row->>'photo_ref', p_row->>'photo_url', (p_row->>'gps_lat')::numeric, (p_row->>'gps_lon')::numeric,
          (p_row->>'gps_accuracy_m')::numeric, (p_row->>'distance_m')::numeric, (p_row->>'radius_m')::integer,
          COALESCE((p_row->>'flagged')::boolean, false), 'pending', clock_timestamp())
  RETURNING id INTO v_id;
  PERFORM meterline_audit(p_actor, 'visit.log', 'field_visit', v_id::text, jsonb_build_object(
    'account_id', (p_row->>'account_id')::bigint, 'outcome', p_row->>'outcome', 'distance_m', p_row->>'distance_m',
    'flagged', COALESCE((p_row->>'flagged')::boolean, false), 'photo', p_row->>'photo_ref' IS NOT NULL));
  RETURN v_id;
END $$;

-- PENDING -> APPROVED / REJECTED of a visit or ticket row; PT404 / PT409 as the SQL backend raises.
CREATE OR REPLACE FUNCTION meterline_field_decide(p_table text, p_what text, p_id bigint, p_approve boolean,
                                                  p_reason text, p_actor jsonb, p_applied jsonb DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_n integer;
  v_status text;
  v_by text;
BEGIN
  IF p_table = 'tickets' THEN
    UPDATE tickets SET status = CASE WHEN p_approve THEN 'approved' ELSE 'rejected' END,
           reviewed_by = (p_actor->>'user_id')::bigint, reviewed_by_name = p_actor->>'username',
           reviewed_at = clock_timestamp(), review_reason = p_reason,
           applied = CASE WHEN p_approve THEN p_applied END
     WHERE id = p_id AND status = 'pending';
  ELSE
    UPDATE field_visits SET status = CASE WHEN p_approve THEN 'approved' ELSE 'rejected' END,
           reviewed_by = (p_actor->>'user_id')::bigint, reviewed_by_name = p_actor->>'username',
           reviewed_at = clock_timestamp(), review_reason = p_reason
     WHERE id = p_id AND status = 'pending';
  END IF;
  GET DIAGNOSTICS v_n = ROW_COUNT;
  IF v_n = 0 THEN
    EXECUTE format('SELECT status, reviewed_by_name FROM %I WHERE id = $1', p_table) INTO v_status, v_by USING p_id;
    IF v_status IS NULL THEN
      PERFORM meterline_not_found(format('%s %s does not exist.', p_what, p_id));
    END IF;
    PERFORM meterline_conflict(format('%s %s was %s already by %s.', p_what, p_id, v_status, v_by));
  END IF;
END $$;

CREATE OR REPLACE FUNCTION meterline_review_visit(p_id bigint, p_approve boolean, p_reason text, p_actor jsonb)
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  PERFORM meterline_field_decide('field_visits', 'Visit', p_id, p_approve, p_reason, p_actor);
  PERFORM meterline_audit(p_actor, CASE WHEN p_approve THEN 'visit.approve' ELSE 'visit.reject' END, 'field_visit',
                          p_id::text, jsonb_build_object('reason', p_reason));
END $$;

CREATE OR REPLACE FUNCTION meterline_visits_per_agent(p_start date, p_end date)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT COALESCE(jsonb_agg(to_jsonb(x) ORDER BY x.visits DESC, x.agent_name), '[]'::jsonb)
    FROM (SELECT v.agent_id, v.agent_name, count(*) AS visits, count(*) FILTER (WHERE v.status = 'approved') AS approved,
                 count(*) FILTER (WHERE v.status = 'rejected') AS rejected,
                 count(*) FILTER (WHERE v.status = 'pending') AS pending,
                 count(*) FILTER (WHERE v.flagged) AS flagged, count(DISTINCT v.account_id) AS units
            FROM field_visits v
           WHERE v.visit_date BETWEEN p_start AND p_end
           GROUP BY v.agent_id, v.agent_name) x
$$;

CREATE OR REPLACE FUNCTION meterline_create_ticket(p_row jsonb, p_photos jsonb, p_actor jsonb) RETURNS bigint
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_area bigint;
  v_id bigint;
  v_photo jsonb;
BEGIN
  SELECT area_id INTO v_area FROM accounts WHERE id = (p_row->>'account_id')::bigint;
  IF v_area IS NULL THEN
    PERFORM meterline_not_found(format('Account %s does not exist.', p_row->>'account_id'));
  END IF;
  INSERT INTO tickets (account_id, area_id, kind, description, source, bill_id, visit_id, proposed_change, raised_by,
                       raised_by_name, raised_at, assignee_id, assignee_name, status)
  VALUES ((p_row->>'account_id')::bigint, v_area, p_row->>'kind', p_row->>'description',
          COALESCE(p_row->>'source', 'unit'), (p_row->>'bill_id')::bigint, (p_row->>'visit_id')::bigint,
          CASE WHEN jsonb_typeof(p_row->'proposed_change') = 'object' THEN p_row->'proposed_change' END,
          (p_actor->>'user_id')::bigint, p_actor->>'username', (p_row->>'raised_at')::timestamptz,
          (p_row->>'assignee_id')::bigint, p_row->>'assignee_name', 'pending')
  RETURNING id INTO v_id;
  -- Each photo is {"photo_ref", "photo_url"} (the remote copy, or null), or a bare photo_ref string.
  FOR v_photo IN SELECT jsonb_array_elements(COALESCE(p_photos, '[]'::jsonb)) LOOP
    INSERT INTO ticket_attachments (ticket_id, photo_ref, photo_url, added_by_name, created_at)
    VALUES (v_id, CASE WHEN jsonb_typeof(v_photo) = 'string' THEN v_photo #>> '{}' ELSE v_photo->>'photo_ref' END,
            CASE WHEN jsonb_typeof(v_photo) = 'object' THEN v_photo->>'photo_url' END,
            p_actor->>'username', clock_timestamp());
  END LOOP;
  PERFORM meterline_audit(p_actor, 'ticket.raise', 'ticket', v_id::text, jsonb_build_object(
    'account_id', (p_row->>'account_id')::bigint, 'kind', p_row->>'kind', 'source', COALESCE(p_row->>'source', 'unit'),
    'visit_id', (p_row->>'visit_id')::bigint, 'proposed_change', p_row->'proposed_change',
    'photos', jsonb_array_length(COALESCE(p_photos, '[]'::jsonb))));
  RETURN v_id;
END $$;

-- Approve (applying the proposed change to the account and its primary contact, audited
-- ticket.apply) or reject, in this one transaction; services/storage/sql_field.py: applied_change.
CREATE OR REPLACE FUNCTION meterline_review_ticket(p_id bigint, p_approve boolean, p_reason text, p_actor jsonb)
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  t tickets;
  acc accounts;
  con contacts;
  ch jsonb;
  want jsonb;
  applied jsonb := '{}'::jsonb;
  con_applied jsonb := '{}'::jsonb;
  f text;
BEGIN
  SELECT * INTO t FROM tickets WHERE id = p_id FOR UPDATE;
  IF t.id IS NULL THEN
    PERFORM meterline_not_found(format('Ticket %s does not exist.', p_id));
  END IF;
  ch := t.proposed_change;
  IF p_approve AND t.status = 'pending' AND ch IS NOT NULL THEN
    SELECT * INTO acc FROM accounts WHERE id = t.account_id FOR UPDATE;
    FOREACH f IN ARRAY ARRAY['category', 'account_type'] LOOP
      IF ch ? f AND to_jsonb(acc) -> f IS DISTINCT FROM ch -> f THEN
        applied := applied || jsonb_build_object(f, jsonb_build_object('old', to_jsonb(acc) -> f, 'new', ch -> f));
      END IF;
    END LOOP;
    IF ch ? 'active' AND acc.is_active IS DISTINCT FROM (ch->>'active')::boolean THEN
      applied := applied || jsonb_build_object('is_active', jsonb_build_object('old', acc.is_active,
                                                                             'new', (ch->>'active')::boolean));
    END IF;
    want := ch -> 'contact';
    IF want IS NOT NULL AND jsonb_typeof(want) = 'object' AND want <> '{}'::jsonb THEN
      SELECT o.* INTO con FROM contacts o JOIN account_contacts ac ON ac.contact_id = o.id
       WHERE ac.account_id = t.account_id AND ac.is_primary;
      IF con.id IS NULL THEN
        PERFORM meterline_invalid('contact', 'the unit has no primary contact to correct.',
                                  'Add the contact on the unit first, or reject the ticket.');
      END IF;
      FOREACH f IN ARRAY ARRAY['name', 'phone', 'email', 'address'] LOOP
        IF want ? f AND to_jsonb(con) -> f IS DISTINCT FROM want -> f THEN
          con_applied := con_applied || jsonb_build_object(f, jsonb_build_object('old', to_jsonb(con) -> f,
                                                                                'new', want -> f));
        END IF;
      END LOOP;
      IF con_applied <> '{}'::jsonb THEN
        applied := applied || jsonb_build_object('contact', con_applied);
        UPDATE contacts SET name = CASE WHEN con_applied ? 'name' THEN want->>'name' ELSE name END,
                            phone = CASE WHEN con_applied ? 'phone' THEN want->>'phone' ELSE phone END,
                            email = CASE WHEN con_applied ? 'email' THEN want->>'email' ELSE email END,
                            address = CASE WHEN con_applied ? 'address' THEN want->>'address' ELSE address END
         WHERE id = con.id;
      END IF;
    END IF;
    IF applied ?| ARRAY['category', 'account_type', 'is_active'] THEN
      UPDATE accounts SET category = CASE WHEN applied ? 'category' THEN ch->>'category' ELSE category END,
                          account_type = CASE WHEN applied ? 'account_type' THEN ch->>'account_type' ELSE account_type END,
                          is_active = CASE WHEN applied ? 'is_active' THEN (ch->>'active')::boolean ELSE is_active END,
                          updated_at = clock_timestamp()
       WHERE id = t.account_id;
    END IF;
    IF applied <> '{}'::jsonb THEN
      PERFORM meterline_audit(p_actor, 'ticket.apply', 'account', t.account_id::text,
                              jsonb_build_object('ticket_id', p_id) || applied);
    END IF;
  END IF;
  PERFORM meterline_field_decide('tickets', 'Ticket', p_id, p_approve, p_reason, p_actor,
                                 CASE WHEN applied = '{}'::jsonb THEN NULL ELSE applied END);
  PERFORM meterline_audit(p_actor, CASE WHEN p_approve THEN 'ticket.approve' ELSE 'ticket.reject' END, 'ticket',
                          p_id::text, jsonb_build_object('reason', p_reason, 'applied',
                                                         CASE WHEN applied = '{}'::jsonb THEN NULL ELSE applied END));
END $$;

CREATE OR REPLACE FUNCTION meterline_ticket_counts(p_area_path text DEFAULT NULL)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT COALESCE(jsonb_object_agg(x.status, x.n), '{}'::jsonb)
    FROM (SELECT t.status, count(*) AS n FROM tickets t JOIN areas ar ON ar.id = t.area_id
           WHERE p_area_path IS NULL OR ar.path = p_area_path
              OR ar.path LIKE replace(replace(replace(p_area_path, '\', '\\'), '%', '\%'), '_', '\_') || '/%'
           GROUP BY t.status) x
$$;

CREATE OR REPLACE FUNCTION meterline_add_ticket_comment(p_id bigint, p_body text, p_actor jsonb)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_id bigint;
  v_at timestamptz := clock_timestamp();
BEGIN
  IF NOT EXISTS (SELECT 1 FROM tickets WHERE id = p_id) THEN
    PERFORM meterline_not_found(format('Ticket %s does not exist.', p_id));
  END IF;
  INSERT INTO ticket_comments (ticket_id, author_id, author_name, body, created_at)
  VALUES (p_id, (p_actor->>'user_id')::bigint, p_actor->>'username', p_body, v_at) RETURNING id INTO v_id;
  PERFORM meterline_audit(p_actor, 'ticket.comment', 'ticket', p_id::text, jsonb_build_object('comment_id', v_id));
  RETURN jsonb_build_object('id', v_id, 'created_at', v_at);
END $$;

-- Active users of these roles assigned to the area or an area above it, nearest assignment first
-- (a ticket's assignee); the twin of sql_field.py: area_staff.
CREATE OR REPLACE FUNCTION meterline_area_staff(p_area_id bigint, p_roles text[], p_limit integer DEFAULT 10)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT COALESCE(jsonb_agg(jsonb_build_object('id', x.id, 'username', x.username) ORDER BY x.depth DESC, x.username),
                  '[]'::jsonb)
    FROM (SELECT u.id, u.username, max(a.level) AS depth
            FROM users u JOIN user_areas ua ON ua.user_id = u.id JOIN areas a ON a.id = ua.area_id
            JOIN areas leaf ON leaf.id = p_area_id
           WHERE u.role = ANY (p_roles) AND u.is_active
             AND (leaf.path = a.path
                  OR leaf.path LIKE replace(replace(replace(a.path, '\', '\\'), '%', '\%'), '_', '\_') || '/%')
           GROUP BY u.id, u.username
           ORDER BY max(a.level) DESC, u.username
           LIMIT p_limit) x
$$;
