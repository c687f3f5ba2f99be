-- A bank payment file and every row of it with its outcome, in one transaction with its audit entry
-- (services/storage/sql_bank_files.py: record_bank_file). The payments themselves were recorded row
-- by row before (meterline_record_payment, idempotent on each row's external id).
CREATE OR REPLACE FUNCTION meterline_record_bank_file(p_file jsonb, p_rows jsonb, p_actor jsonb)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_id bigint;
BEGIN
  -- The same file twice: the unique sha256 refuses it (23505, DuplicateError), and nothing is stored.
  INSERT INTO bank_files (file_name, sha256, row_count, matched_count, duplicate_count, refused_count,
                          matched_amount, duplicate_amount, refused_amount, imported_by, imported_by_name, created_at)
  VALUES (p_file->>'file_name', p_file->>'sha256', (p_file->>'row_count')::integer,
          (p_file->>'matched_count')::integer, (p_file->>'duplicate_count')::integer,
          (p_file->>'refused_count')::integer, (p_file->>'matched_amount')::numeric,
          (p_file->>'duplicate_amount')::numeric, (p_file->>'refused_amount')::numeric,
          NULLIF(p_actor->>'user_id', '')::bigint, left(COALESCE(p_actor->>'username', 'system'), 64), now())
  RETURNING id INTO v_id;
  INSERT INTO bank_payments (bank_file_id, row_no, psid, consumer_number, transaction_id, amount, fine, paid_on,
                             paid_time, bank, channel, outcome, reason, bill_id, payment_id, dedupe_key, created_at)
  SELECT v_id, r.row_no, r.psid, r.consumer_number, r.transaction_id, r.amount, COALESCE(r.fine, 0), r.paid_on,
         r.paid_time, r.bank, r.channel, r.outcome, r.reason, r.bill_id, r.payment_id, r.dedupe_key, now()
    FROM jsonb_to_recordset(p_rows) AS r(row_no integer, psid text, consumer_number text, transaction_id text,
                                         amount numeric, fine numeric, paid_on date, paid_time text, bank text,
                                         channel text, outcome text, reason text, bill_id bigint, payment_id bigint,
                                         dedupe_key text);
  PERFORM meterline_audit(p_actor, 'bank_file.import', 'bank_file', v_id::text, jsonb_build_object(
    'file_name', p_file->>'file_name', 'rows', (p_file->>'row_count')::integer,
    'matched', (p_file->>'matched_count')::integer, 'duplicate', (p_file->>'duplicate_count')::integer,
    'refused', (p_file->>'refused_count')::integer, 'matched_amount', p_file->>'matched_amount'));
  RETURN v_id;
END $$;
