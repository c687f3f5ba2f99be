-- Meterline schema for Supabase (PostgreSQL 15+). GENERATED FILE, do not edit by hand:
--   python -m scripts.export_supabase_schema
-- Tables, constraints, indexes and rule triggers come from database/schema.py and
-- database/triggers.py (the same schema the SQLAlchemy backend creates); views and the /rpc
-- functions from database/supabase/*.sql. Run it whole in the Supabase SQL editor. It is
-- idempotent (safe to run again) and runs in one transaction: it applies whole or not at all.
-- Over a project made by an earlier Meterline (schema version 1 or 2) it upgrades it in place,
-- keeping every row and id (database/upgrade_v3.py); a failed check rolls the whole file back.


BEGIN;

SET LOCAL search_path = public;

SELECT pg_advisory_xact_lock(7460001);

-- ---- API roles: they exist on every Supabase project; created here only on a plain PostgreSQL ----

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN CREATE ROLE anon NOLOGIN NOINHERIT; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN CREATE ROLE authenticated NOLOGIN NOINHERIT; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticator') THEN CREATE ROLE authenticator NOLOGIN NOINHERIT; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'meterline_staff') THEN CREATE ROLE meterline_staff NOLOGIN NOINHERIT; END IF;
END $$;

-- ---- a version-1 project: first to version 2 (database/billing_upgrade.py); no-op otherwise ----

DO $v2$
BEGIN
  IF to_regclass('schema_info') IS NULL OR to_regclass('flats') IS NULL THEN RETURN; END IF;
  IF COALESCE((SELECT value::int FROM schema_info WHERE key = 'version'), 0) >= 2 THEN RETURN; END IF;
  EXECUTE $q$CREATE TABLE IF NOT EXISTS bill_runs (
	id BIGSERIAL NOT NULL, 
	billing_period_start DATE NOT NULL, 
	billing_period_end DATE NOT NULL, 
	due_date DATE NOT NULL, 
	status VARCHAR(16) DEFAULT 'running' NOT NULL, 
	created_count INTEGER DEFAULT '0' NOT NULL, 
	skipped_count INTEGER DEFAULT '0' NOT NULL, 
	refused_count INTEGER DEFAULT '0' NOT NULL, 
	total_amount NUMERIC(14, 2) DEFAULT '0' NOT NULL, 
	error TEXT, 
	started_by VARCHAR(64) DEFAULT 'system' NOT NULL, 
	started_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	finished_at TIMESTAMP WITH TIME ZONE, 
	CONSTRAINT pk_bill_runs PRIMARY KEY (id), 
	CONSTRAINT ck_bill_runs_status_valid CHECK (status IN ('running', 'completed', 'failed', 'refused')), 
	CONSTRAINT ck_bill_runs_period_order CHECK (billing_period_end >= billing_period_start), 
	CONSTRAINT ck_bill_runs_counts_nonneg CHECK (created_count >= 0 AND skipped_count >= 0 AND refused_count >= 0)
)
  $q$;
  EXECUTE $q$CREATE TABLE IF NOT EXISTS flat_types (
	id BIGSERIAL NOT NULL, 
	name VARCHAR(16) NOT NULL, 
	bhk INTEGER, 
	CONSTRAINT pk_flat_types PRIMARY KEY (id), 
	CONSTRAINT ck_flat_types_bhk_positive CHECK (bhk IS NULL OR bhk > 0), 
	CONSTRAINT uq_flat_types_name UNIQUE (name)
)
  $q$;
  EXECUTE $q$CREATE TABLE IF NOT EXISTS floors (
	id BIGSERIAL NOT NULL, 
	code VARCHAR(8) NOT NULL, 
	name VARCHAR(64) NOT NULL, 
	sort_order INTEGER DEFAULT '0' NOT NULL, 
	CONSTRAINT pk_floors PRIMARY KEY (id), 
	CONSTRAINT uq_floors_code UNIQUE (code)
)
  $q$;
  EXECUTE $q$CREATE TABLE IF NOT EXISTS job_runs (
	id BIGSERIAL NOT NULL, 
	job_id VARCHAR(64) NOT NULL, 
	run_key VARCHAR(64) NOT NULL, 
	status VARCHAR(16) DEFAULT 'running' NOT NULL, 
	counts JSONB, 
	error TEXT, 
	host VARCHAR(128), 
	started_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	finished_at TIMESTAMP WITH TIME ZONE, 
	CONSTRAINT pk_job_runs PRIMARY KEY (id), 
	CONSTRAINT uq_job_runs_job_id_run_key UNIQUE (job_id, run_key), 
	CONSTRAINT ck_job_runs_status_valid CHECK (status IN ('running', 'completed', 'failed', 'refused'))
)
  $q$;
  EXECUTE $q$CREATE TABLE IF NOT EXISTS master_data_staging (
	import_id VARCHAR(36) NOT NULL, 
	part INTEGER NOT NULL, 
	changes JSONB NOT NULL, 
	staged_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_master_data_staging PRIMARY KEY (import_id, part), 
	CONSTRAINT ck_master_data_staging_part_positive CHECK (part > 0)
)
  $q$;
  EXECUTE $q$CREATE TABLE IF NOT EXISTS motors (
	id BIGSERIAL NOT NULL, 
	code VARCHAR(32) NOT NULL, 
	name VARCHAR(128) DEFAULT '' NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_motors PRIMARY KEY (id), 
	CONSTRAINT uq_motors_code UNIQUE (code)
)
  $q$;
  EXECUTE $q$CREATE TABLE IF NOT EXISTS owners (
	id BIGSERIAL NOT NULL, 
	name VARCHAR(128) NOT NULL, 
	phone VARCHAR(20), 
	email VARCHAR(254), 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_owners PRIMARY KEY (id)
)
  $q$;
  EXECUTE $q$CREATE TABLE IF NOT EXISTS period_locks (
	id BIGSERIAL NOT NULL, 
	month VARCHAR(7) NOT NULL, 
	reason TEXT DEFAULT '' NOT NULL, 
	locked_by VARCHAR(64) DEFAULT 'system' NOT NULL, 
	locked_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	bill_count_at_lock INTEGER, 
	CONSTRAINT pk_period_locks PRIMARY KEY (id), 
	CONSTRAINT ck_period_locks_month_format CHECK (month LIKE '____-__'), 
	CONSTRAINT uq_period_locks_month UNIQUE (month)
)
  $q$;
  EXECUTE $q$CREATE TABLE IF NOT EXISTS schema_info (
	key VARCHAR(64) NOT NULL, 
	value VARCHAR(255) NOT NULL, 
	CONSTRAINT pk_schema_info PRIMARY KEY (key)
)
  $q$;
  EXECUTE $q$CREATE TABLE IF NOT EXISTS users (
	id BIGSERIAL NOT NULL, 
	username VARCHAR(64) NOT NULL, 
	display_name VARCHAR(128) DEFAULT '' NOT NULL, 
	email VARCHAR(254), 
	role VARCHAR(32) NOT NULL, 
	password_hash VARCHAR(255), 
	auth_provider VARCHAR(16) DEFAULT 'local' NOT NULL, 
	is_active BOOLEAN DEFAULT true NOT NULL, 
	failed_login_count INTEGER DEFAULT '0' NOT NULL, 
	locked_until TIMESTAMP WITH TIME ZONE, 
	login_attempts_in_flight INTEGER DEFAULT '0' NOT NULL, 
	login_attempt_at TIMESTAMP WITH TIME ZONE, 
	password_changed_at TIMESTAMP WITH TIME ZONE, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_users PRIMARY KEY (id), 
	CONSTRAINT ck_users_failed_login_count_nonneg CHECK (failed_login_count >= 0), 
	CONSTRAINT ck_users_password_hash_is_hash CHECK (password_hash IS NULL OR password_hash LIKE '$argon2id$%' OR password_hash LIKE '$2b$%'), 
	CONSTRAINT uq_users_username UNIQUE (username), 
	CONSTRAINT uq_users_email UNIQUE (email)
)
  $q$;
  EXECUTE $q$CREATE TABLE IF NOT EXISTS audit_log (
	id BIGSERIAL NOT NULL, 
	occurred_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	actor_id BIGINT, 
	actor_name VARCHAR(64) NOT NULL, 
	client VARCHAR(128), 
	action VARCHAR(64) NOT NULL, 
	entity_type VARCHAR(32), 
	entity_id VARCHAR(64), 
	details JSONB, 
	CONSTRAINT pk_audit_log PRIMARY KEY (id), 
	CONSTRAINT fk_audit_log_actor_id_users FOREIGN KEY(actor_id) REFERENCES users (id)
)
  $q$;
  EXECUTE $q$CREATE TABLE IF NOT EXISTS flats (
	id BIGSERIAL NOT NULL, 
	code VARCHAR(32) NOT NULL, 
	block VARCHAR(8) DEFAULT '' NOT NULL, 
	floor_id BIGINT, 
	type_id BIGINT, 
	is_active BOOLEAN DEFAULT true NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_flats PRIMARY KEY (id), 
	CONSTRAINT uq_flats_code UNIQUE (code), 
	CONSTRAINT fk_flats_floor_id_floors FOREIGN KEY(floor_id) REFERENCES floors (id), 
	CONSTRAINT fk_flats_type_id_flat_types FOREIGN KEY(type_id) REFERENCES flat_types (id)
)
  $q$;
  EXECUTE $q$CREATE TABLE IF NOT EXISTS user_sessions (
	id BIGSERIAL NOT NULL, 
	token_hash VARCHAR(64) NOT NULL, 
	user_id BIGINT NOT NULL, 
	client VARCHAR(128), 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	last_seen_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	expires_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	revoked_at TIMESTAMP WITH TIME ZONE, 
	revoked_reason VARCHAR(64), 
	CONSTRAINT pk_user_sessions PRIMARY KEY (id), 
	CONSTRAINT uq_user_sessions_token_hash UNIQUE (token_hash), 
	CONSTRAINT fk_user_sessions_user_id_users FOREIGN KEY(user_id) REFERENCES users (id)
)
  $q$;
  EXECUTE $q$CREATE TABLE IF NOT EXISTS flat_motors (
	id BIGSERIAL NOT NULL, 
	flat_id BIGINT NOT NULL, 
	motor_id BIGINT NOT NULL, 
	CONSTRAINT pk_flat_motors PRIMARY KEY (id), 
	CONSTRAINT uq_flat_motors_flat_id_motor_id UNIQUE (flat_id, motor_id), 
	CONSTRAINT fk_flat_motors_flat_id_flats FOREIGN KEY(flat_id) REFERENCES flats (id), 
	CONSTRAINT fk_flat_motors_motor_id_motors FOREIGN KEY(motor_id) REFERENCES motors (id)
)
  $q$;
  EXECUTE $q$CREATE TABLE IF NOT EXISTS flat_owners (
	id BIGSERIAL NOT NULL, 
	flat_id BIGINT NOT NULL, 
	owner_id BIGINT NOT NULL, 
	is_primary BOOLEAN DEFAULT false NOT NULL, 
	CONSTRAINT pk_flat_owners PRIMARY KEY (id), 
	CONSTRAINT uq_flat_owners_flat_id_owner_id UNIQUE (flat_id, owner_id), 
	CONSTRAINT fk_flat_owners_flat_id_flats FOREIGN KEY(flat_id) REFERENCES flats (id), 
	CONSTRAINT fk_flat_owners_owner_id_owners FOREIGN KEY(owner_id) REFERENCES owners (id)
)
  $q$;
  EXECUTE $q$CREATE TABLE IF NOT EXISTS meters (
	id BIGSERIAL NOT NULL, 
	meter_number VARCHAR(32) NOT NULL, 
	flat_id BIGINT, 
	motor_id BIGINT, 
	status VARCHAR(16) DEFAULT 'active' NOT NULL, 
	is_smart BOOLEAN DEFAULT false NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_meters PRIMARY KEY (id), 
	CONSTRAINT ck_meters_status_valid CHECK (status IN ('active', 'inactive', 'replaced')), 
	CONSTRAINT ck_meters_has_owner CHECK (flat_id IS NOT NULL OR motor_id IS NOT NULL), 
	CONSTRAINT uq_meters_meter_number UNIQUE (meter_number), 
	CONSTRAINT fk_meters_flat_id_flats FOREIGN KEY(flat_id) REFERENCES flats (id), 
	CONSTRAINT fk_meters_motor_id_motors FOREIGN KEY(motor_id) REFERENCES motors (id)
)
  $q$;
  EXECUTE $q$CREATE TABLE IF NOT EXISTS readings (
	id BIGSERIAL NOT NULL, 
	meter_id BIGINT NOT NULL, 
	reading_value NUMERIC(12, 2) NOT NULL, 
	reading_date DATE NOT NULL, 
	consumption NUMERIC(12, 2), 
	previous_reading_id BIGINT, 
	motor_reading_value NUMERIC(12, 2), 
	motor_share NUMERIC(12, 2), 
	motor_reading_id BIGINT, 
	photo_ref VARCHAR(512), 
	photo_url VARCHAR(1024), 
	source VARCHAR(16) DEFAULT 'ui' NOT NULL, 
	status VARCHAR(16) DEFAULT 'pending' NOT NULL, 
	flags JSONB, 
	ai_opinion JSONB, 
	approved_units NUMERIC(12, 2), 
	rejection_reason TEXT, 
	submitted_by BIGINT, 
	reviewed_by BIGINT, 
	reviewed_at TIMESTAMP WITH TIME ZONE, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_readings PRIMARY KEY (id), 
	CONSTRAINT ck_readings_reading_value_nonneg CHECK (reading_value >= 0), 
	CONSTRAINT ck_readings_consumption_nonneg CHECK (consumption IS NULL OR consumption >= 0), 
	CONSTRAINT ck_readings_motor_reading_nonneg CHECK (motor_reading_value IS NULL OR motor_reading_value >= 0), 
	CONSTRAINT ck_readings_motor_share_nonneg CHECK (motor_share IS NULL OR motor_share >= 0), 
	CONSTRAINT ck_readings_approved_units_nonneg CHECK (approved_units IS NULL OR approved_units >= 0), 
	CONSTRAINT ck_readings_status_valid CHECK (status IN ('pending', 'approved', 'rejected')), 
	CONSTRAINT ck_readings_rejection_has_reason CHECK (status <> 'rejected' OR rejection_reason IS NOT NULL), 
	CONSTRAINT uq_readings_meter_id_reading_date_reading_value UNIQUE (meter_id, reading_date, reading_value), 
	CONSTRAINT fk_readings_meter_id_meters FOREIGN KEY(meter_id) REFERENCES meters (id), 
	CONSTRAINT fk_readings_previous_reading_id_readings FOREIGN KEY(previous_reading_id) REFERENCES readings (id), 
	CONSTRAINT fk_readings_motor_reading_id_readings FOREIGN KEY(motor_reading_id) REFERENCES readings (id), 
	CONSTRAINT fk_readings_submitted_by_users FOREIGN KEY(submitted_by) REFERENCES users (id), 
	CONSTRAINT fk_readings_reviewed_by_users FOREIGN KEY(reviewed_by) REFERENCES users (id)
)
  $q$;
  EXECUTE $q$CREATE TABLE IF NOT EXISTS bills (
	id BIGSERIAL NOT NULL, 
	flat_id BIGINT NOT NULL, 
	billing_period_start DATE NOT NULL, 
	billing_period_end DATE NOT NULL, 
	due_date DATE NOT NULL, 
	tariff_kind VARCHAR(32) DEFAULT 'flat_rate' NOT NULL, 
	pricing_rule VARCHAR(32) DEFAULT 'master_data' NOT NULL, 
	flat_units NUMERIC(12, 2) NOT NULL, 
	motor_units NUMERIC(12, 2) DEFAULT '0' NOT NULL, 
	total_units NUMERIC(12, 2) NOT NULL, 
	rate_per_unit NUMERIC(10, 4) NOT NULL, 
	fixed_charge NUMERIC(14, 2) DEFAULT '0' NOT NULL, 
	previous_outstanding NUMERIC(14, 2) DEFAULT '0' NOT NULL, 
	tariff_details JSONB, 
	total_amount NUMERIC(14, 2) NOT NULL, 
	status VARCHAR(16) DEFAULT 'pending' NOT NULL, 
	amount_paid NUMERIC(14, 2) DEFAULT '0' NOT NULL, 
	paid_at TIMESTAMP WITH TIME ZONE, 
	carried_forward_to BIGINT, 
	overdue_notified_at TIMESTAMP WITH TIME ZONE, 
	payment_link_id VARCHAR(128), 
	payment_link_url VARCHAR(1024), 
	flat_reading_id BIGINT, 
	motor_reading_id BIGINT, 
	first_reading_id BIGINT, 
	reissue_of BIGINT, 
	superseded_by BIGINT, 
	bill_run_id BIGINT, 
	created_by BIGINT, 
	created_by_name VARCHAR(64) DEFAULT 'system' NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_bills PRIMARY KEY (id), 
	CONSTRAINT uq_bills_flat_id_billing_period_start UNIQUE (flat_id, billing_period_start), 
	CONSTRAINT ck_bills_period_order CHECK (billing_period_end >= billing_period_start), 
	CONSTRAINT ck_bills_due_after_start CHECK (due_date >= billing_period_start), 
	CONSTRAINT ck_bills_flat_units_nonneg CHECK (flat_units >= 0), 
	CONSTRAINT ck_bills_motor_units_nonneg CHECK (motor_units >= 0), 
	CONSTRAINT ck_bills_total_units_nonneg CHECK (total_units >= 0), 
	CONSTRAINT ck_bills_rate_nonneg CHECK (rate_per_unit >= 0), 
	CONSTRAINT ck_bills_fixed_charge_nonneg CHECK (fixed_charge >= 0), 
	CONSTRAINT ck_bills_previous_outstanding_nonneg CHECK (previous_outstanding >= 0), 
	CONSTRAINT ck_bills_total_amount_nonneg CHECK (total_amount >= 0), 
	CONSTRAINT ck_bills_amount_paid_range CHECK (amount_paid >= 0 AND amount_paid <= total_amount), 
	CONSTRAINT ck_bills_status_valid CHECK (status IN ('pending', 'partially_paid', 'paid', 'overdue', 'carried_forward', 'cancelled', 'superseded')), 
	CONSTRAINT fk_bills_flat_id_flats FOREIGN KEY(flat_id) REFERENCES flats (id), 
	CONSTRAINT fk_bills_carried_forward_to_bills FOREIGN KEY(carried_forward_to) REFERENCES bills (id), 
	CONSTRAINT fk_bills_flat_reading_id_readings FOREIGN KEY(flat_reading_id) REFERENCES readings (id), 
	CONSTRAINT fk_bills_motor_reading_id_readings FOREIGN KEY(motor_reading_id) REFERENCES readings (id), 
	CONSTRAINT fk_bills_first_reading_id_readings FOREIGN KEY(first_reading_id) REFERENCES readings (id), 
	CONSTRAINT fk_bills_reissue_of_bills FOREIGN KEY(reissue_of) REFERENCES bills (id), 
	CONSTRAINT fk_bills_superseded_by_bills FOREIGN KEY(superseded_by) REFERENCES bills (id), 
	CONSTRAINT fk_bills_bill_run_id_bill_runs FOREIGN KEY(bill_run_id) REFERENCES bill_runs (id), 
	CONSTRAINT fk_bills_created_by_users FOREIGN KEY(created_by) REFERENCES users (id)
)
  $q$;
  EXECUTE $q$CREATE TABLE IF NOT EXISTS meter_changes (
	id BIGSERIAL NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	old_meter_id BIGINT NOT NULL, 
	new_meter_id BIGINT NOT NULL, 
	change_date DATE NOT NULL, 
	final_reading_id BIGINT NOT NULL, 
	start_reading_id BIGINT NOT NULL, 
	reason TEXT NOT NULL, 
	recorded_by BIGINT, 
	recorded_by_name VARCHAR(64) DEFAULT 'system' NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_meter_changes PRIMARY KEY (id), 
	CONSTRAINT uq_meter_changes_start_reading_id UNIQUE (start_reading_id), 
	CONSTRAINT ck_meter_changes_kind_valid CHECK (kind IN ('replacement', 'rollover')), 
	CONSTRAINT ck_meter_changes_rollover_same_meter CHECK ((kind = 'rollover') = (new_meter_id = old_meter_id)), 
	CONSTRAINT ck_meter_changes_two_readings CHECK (final_reading_id <> start_reading_id), 
	CONSTRAINT fk_meter_changes_old_meter_id_meters FOREIGN KEY(old_meter_id) REFERENCES meters (id), 
	CONSTRAINT fk_meter_changes_new_meter_id_meters FOREIGN KEY(new_meter_id) REFERENCES meters (id), 
	CONSTRAINT fk_meter_changes_final_reading_id_readings FOREIGN KEY(final_reading_id) REFERENCES readings (id), 
	CONSTRAINT fk_meter_changes_start_reading_id_readings FOREIGN KEY(start_reading_id) REFERENCES readings (id), 
	CONSTRAINT fk_meter_changes_recorded_by_users FOREIGN KEY(recorded_by) REFERENCES users (id)
)
  $q$;
  EXECUTE $q$CREATE TABLE IF NOT EXISTS bill_readings (
	id BIGSERIAL NOT NULL, 
	bill_id BIGINT NOT NULL, 
	reading_id BIGINT NOT NULL, 
	units NUMERIC(12, 2) NOT NULL, 
	motor_units NUMERIC(12, 2) DEFAULT '0' NOT NULL, 
	superseded_by BIGINT, 
	CONSTRAINT pk_bill_readings PRIMARY KEY (id), 
	CONSTRAINT ck_bill_readings_units_nonneg CHECK (units >= 0), 
	CONSTRAINT ck_bill_readings_motor_units_nonneg CHECK (motor_units >= 0), 
	CONSTRAINT uq_bill_readings_bill_id_reading_id UNIQUE (bill_id, reading_id), 
	CONSTRAINT fk_bill_readings_bill_id_bills FOREIGN KEY(bill_id) REFERENCES bills (id), 
	CONSTRAINT fk_bill_readings_reading_id_readings FOREIGN KEY(reading_id) REFERENCES readings (id), 
	CONSTRAINT fk_bill_readings_superseded_by_bills FOREIGN KEY(superseded_by) REFERENCES bills (id)
)
  $q$;
  EXECUTE $q$CREATE TABLE IF NOT EXISTS notifications (
	id BIGSERIAL NOT NULL, 
	bill_id BIGINT, 
	owner_id BIGINT, 
	kind VARCHAR(32) NOT NULL, 
	channel VARCHAR(16) NOT NULL, 
	recipient VARCHAR(254), 
	message TEXT NOT NULL, 
	status VARCHAR(16) DEFAULT 'pending' NOT NULL, 
	provider_message_id VARCHAR(255), 
	error TEXT, 
	attempts INTEGER DEFAULT '0' NOT NULL, 
	resend_of BIGINT, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	sent_at TIMESTAMP WITH TIME ZONE, 
	CONSTRAINT pk_notifications PRIMARY KEY (id), 
	CONSTRAINT ck_notifications_status_valid CHECK (status IN ('pending', 'sent', 'failed', 'skipped')), 
	CONSTRAINT ck_notifications_attempts_nonneg CHECK (attempts >= 0), 
	CONSTRAINT fk_notifications_bill_id_bills FOREIGN KEY(bill_id) REFERENCES bills (id), 
	CONSTRAINT fk_notifications_owner_id_owners FOREIGN KEY(owner_id) REFERENCES owners (id), 
	CONSTRAINT fk_notifications_resend_of_notifications FOREIGN KEY(resend_of) REFERENCES notifications (id)
)
  $q$;
  EXECUTE $q$CREATE TABLE IF NOT EXISTS payment_events (
	id BIGSERIAL NOT NULL, 
	bill_id BIGINT, 
	provider VARCHAR(16) DEFAULT 'stripe' NOT NULL, 
	event_type VARCHAR(64) NOT NULL, 
	stripe_event_id VARCHAR(255), 
	payment_link_id VARCHAR(128), 
	amount NUMERIC(14, 2), 
	currency VARCHAR(8), 
	outcome VARCHAR(32) NOT NULL, 
	event_data JSONB, 
	received_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_payment_events PRIMARY KEY (id), 
	CONSTRAINT fk_payment_events_bill_id_bills FOREIGN KEY(bill_id) REFERENCES bills (id), 
	CONSTRAINT uq_payment_events_stripe_event_id UNIQUE (stripe_event_id)
)
  $q$;
  EXECUTE $q$CREATE TABLE IF NOT EXISTS payments (
	id BIGSERIAL NOT NULL, 
	bill_id BIGINT NOT NULL, 
	amount NUMERIC(14, 2) NOT NULL, 
	paid_on DATE NOT NULL, 
	method VARCHAR(32) NOT NULL, 
	reference VARCHAR(128), 
	external_id VARCHAR(255), 
	credit_from_bill BIGINT, 
	recorded_by BIGINT, 
	recorded_by_name VARCHAR(64) DEFAULT 'system' NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_payments PRIMARY KEY (id), 
	CONSTRAINT ck_payments_amount_positive CHECK (amount > 0), 
	CONSTRAINT fk_payments_bill_id_bills FOREIGN KEY(bill_id) REFERENCES bills (id), 
	CONSTRAINT uq_payments_external_id UNIQUE (external_id), 
	CONSTRAINT fk_payments_credit_from_bill_bills FOREIGN KEY(credit_from_bill) REFERENCES bills (id), 
	CONSTRAINT fk_payments_recorded_by_users FOREIGN KEY(recorded_by) REFERENCES users (id)
)
  $q$;
  EXECUTE $q$ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS billing_period_start DATE NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS billing_period_end DATE NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS due_date DATE NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS status VARCHAR(16) DEFAULT 'running' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS created_count INTEGER DEFAULT '0' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS skipped_count INTEGER DEFAULT '0' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS refused_count INTEGER DEFAULT '0' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS total_amount NUMERIC(14, 2) DEFAULT '0' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS error TEXT
  $q$;
  EXECUTE $q$ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS started_by VARCHAR(64) DEFAULT 'system' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS started_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS finished_at TIMESTAMP WITH TIME ZONE
  $q$;
  EXECUTE $q$ALTER TABLE flat_types ADD COLUMN IF NOT EXISTS name VARCHAR(16) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE flat_types ADD COLUMN IF NOT EXISTS bhk INTEGER
  $q$;
  EXECUTE $q$ALTER TABLE floors ADD COLUMN IF NOT EXISTS code VARCHAR(8) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE floors ADD COLUMN IF NOT EXISTS name VARCHAR(64) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE floors ADD COLUMN IF NOT EXISTS sort_order INTEGER DEFAULT '0' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE job_runs ADD COLUMN IF NOT EXISTS job_id VARCHAR(64) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE job_runs ADD COLUMN IF NOT EXISTS run_key VARCHAR(64) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE job_runs ADD COLUMN IF NOT EXISTS status VARCHAR(16) DEFAULT 'running' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE job_runs ADD COLUMN IF NOT EXISTS counts JSONB
  $q$;
  EXECUTE $q$ALTER TABLE job_runs ADD COLUMN IF NOT EXISTS error TEXT
  $q$;
  EXECUTE $q$ALTER TABLE job_runs ADD COLUMN IF NOT EXISTS host VARCHAR(128)
  $q$;
  EXECUTE $q$ALTER TABLE job_runs ADD COLUMN IF NOT EXISTS started_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE job_runs ADD COLUMN IF NOT EXISTS finished_at TIMESTAMP WITH TIME ZONE
  $q$;
  EXECUTE $q$ALTER TABLE master_data_staging ADD COLUMN IF NOT EXISTS changes JSONB NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE master_data_staging ADD COLUMN IF NOT EXISTS staged_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE motors ADD COLUMN IF NOT EXISTS code VARCHAR(32) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE motors ADD COLUMN IF NOT EXISTS name VARCHAR(128) DEFAULT '' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE motors ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE owners ADD COLUMN IF NOT EXISTS name VARCHAR(128) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE owners ADD COLUMN IF NOT EXISTS phone VARCHAR(20)
  $q$;
  EXECUTE $q$ALTER TABLE owners ADD COLUMN IF NOT EXISTS email VARCHAR(254)
  $q$;
  EXECUTE $q$ALTER TABLE owners ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE period_locks ADD COLUMN IF NOT EXISTS month VARCHAR(7) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE period_locks ADD COLUMN IF NOT EXISTS reason TEXT DEFAULT '' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE period_locks ADD COLUMN IF NOT EXISTS locked_by VARCHAR(64) DEFAULT 'system' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE period_locks ADD COLUMN IF NOT EXISTS locked_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE period_locks ADD COLUMN IF NOT EXISTS bill_count_at_lock INTEGER
  $q$;
  EXECUTE $q$ALTER TABLE schema_info ADD COLUMN IF NOT EXISTS value VARCHAR(255) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE users ADD COLUMN IF NOT EXISTS username VARCHAR(64) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE users ADD COLUMN IF NOT EXISTS display_name VARCHAR(128) DEFAULT '' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE users ADD COLUMN IF NOT EXISTS email VARCHAR(254)
  $q$;
  EXECUTE $q$ALTER TABLE users ADD COLUMN IF NOT EXISTS role VARCHAR(32) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE users ADD COLUMN IF NOT EXISTS password_hash VARCHAR(255)
  $q$;
  EXECUTE $q$ALTER TABLE users ADD COLUMN IF NOT EXISTS auth_provider VARCHAR(16) DEFAULT 'local' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE users ADD COLUMN IF NOT EXISTS is_active BOOLEAN DEFAULT true NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE users ADD COLUMN IF NOT EXISTS failed_login_count INTEGER DEFAULT '0' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE users ADD COLUMN IF NOT EXISTS locked_until TIMESTAMP WITH TIME ZONE
  $q$;
  EXECUTE $q$ALTER TABLE users ADD COLUMN IF NOT EXISTS login_attempts_in_flight INTEGER DEFAULT '0' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE users ADD COLUMN IF NOT EXISTS login_attempt_at TIMESTAMP WITH TIME ZONE
  $q$;
  EXECUTE $q$ALTER TABLE users ADD COLUMN IF NOT EXISTS password_changed_at TIMESTAMP WITH TIME ZONE
  $q$;
  EXECUTE $q$ALTER TABLE users ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE users ADD COLUMN IF NOT EXISTS updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS occurred_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS actor_id BIGINT REFERENCES users (id)
  $q$;
  EXECUTE $q$ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS actor_name VARCHAR(64) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS client VARCHAR(128)
  $q$;
  EXECUTE $q$ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS action VARCHAR(64) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS entity_type VARCHAR(32)
  $q$;
  EXECUTE $q$ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS entity_id VARCHAR(64)
  $q$;
  EXECUTE $q$ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS details JSONB
  $q$;
  EXECUTE $q$ALTER TABLE flats ADD COLUMN IF NOT EXISTS code VARCHAR(32) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE flats ADD COLUMN IF NOT EXISTS block VARCHAR(8) DEFAULT '' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE flats ADD COLUMN IF NOT EXISTS floor_id BIGINT REFERENCES floors (id)
  $q$;
  EXECUTE $q$ALTER TABLE flats ADD COLUMN IF NOT EXISTS type_id BIGINT REFERENCES flat_types (id)
  $q$;
  EXECUTE $q$ALTER TABLE flats ADD COLUMN IF NOT EXISTS is_active BOOLEAN DEFAULT true NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE flats ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE user_sessions ADD COLUMN IF NOT EXISTS token_hash VARCHAR(64) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE user_sessions ADD COLUMN IF NOT EXISTS user_id BIGINT NOT NULL REFERENCES users (id)
  $q$;
  EXECUTE $q$ALTER TABLE user_sessions ADD COLUMN IF NOT EXISTS client VARCHAR(128)
  $q$;
  EXECUTE $q$ALTER TABLE user_sessions ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE user_sessions ADD COLUMN IF NOT EXISTS last_seen_at TIMESTAMP WITH TIME ZONE NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE user_sessions ADD COLUMN IF NOT EXISTS expires_at TIMESTAMP WITH TIME ZONE NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE user_sessions ADD COLUMN IF NOT EXISTS revoked_at TIMESTAMP WITH TIME ZONE
  $q$;
  EXECUTE $q$ALTER TABLE user_sessions ADD COLUMN IF NOT EXISTS revoked_reason VARCHAR(64)
  $q$;
  EXECUTE $q$ALTER TABLE flat_motors ADD COLUMN IF NOT EXISTS flat_id BIGINT NOT NULL REFERENCES flats (id)
  $q$;
  EXECUTE $q$ALTER TABLE flat_motors ADD COLUMN IF NOT EXISTS motor_id BIGINT NOT NULL REFERENCES motors (id)
  $q$;
  EXECUTE $q$ALTER TABLE flat_owners ADD COLUMN IF NOT EXISTS flat_id BIGINT NOT NULL REFERENCES flats (id)
  $q$;
  EXECUTE $q$ALTER TABLE flat_owners ADD COLUMN IF NOT EXISTS owner_id BIGINT NOT NULL REFERENCES owners (id)
  $q$;
  EXECUTE $q$ALTER TABLE flat_owners ADD COLUMN IF NOT EXISTS is_primary BOOLEAN DEFAULT false NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE meters ADD COLUMN IF NOT EXISTS meter_number VARCHAR(32) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE meters ADD COLUMN IF NOT EXISTS flat_id BIGINT REFERENCES flats (id)
  $q$;
  EXECUTE $q$ALTER TABLE meters ADD COLUMN IF NOT EXISTS motor_id BIGINT REFERENCES motors (id)
  $q$;
  EXECUTE $q$ALTER TABLE meters ADD COLUMN IF NOT EXISTS status VARCHAR(16) DEFAULT 'active' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE meters ADD COLUMN IF NOT EXISTS is_smart BOOLEAN DEFAULT false NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE meters ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE readings ADD COLUMN IF NOT EXISTS meter_id BIGINT NOT NULL REFERENCES meters (id)
  $q$;
  EXECUTE $q$ALTER TABLE readings ADD COLUMN IF NOT EXISTS reading_value NUMERIC(12, 2) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE readings ADD COLUMN IF NOT EXISTS reading_date DATE NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE readings ADD COLUMN IF NOT EXISTS consumption NUMERIC(12, 2)
  $q$;
  EXECUTE $q$ALTER TABLE readings ADD COLUMN IF NOT EXISTS previous_reading_id BIGINT REFERENCES readings (id)
  $q$;
  EXECUTE $q$ALTER TABLE readings ADD COLUMN IF NOT EXISTS motor_reading_value NUMERIC(12, 2)
  $q$;
  EXECUTE $q$ALTER TABLE readings ADD COLUMN IF NOT EXISTS motor_share NUMERIC(12, 2)
  $q$;
  EXECUTE $q$ALTER TABLE readings ADD COLUMN IF NOT EXISTS motor_reading_id BIGINT REFERENCES readings (id)
  $q$;
  EXECUTE $q$ALTER TABLE readings ADD COLUMN IF NOT EXISTS photo_ref VARCHAR(512)
  $q$;
  EXECUTE $q$ALTER TABLE readings ADD COLUMN IF NOT EXISTS photo_url VARCHAR(1024)
  $q$;
  EXECUTE $q$ALTER TABLE readings ADD COLUMN IF NOT EXISTS source VARCHAR(16) DEFAULT 'ui' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE readings ADD COLUMN IF NOT EXISTS status VARCHAR(16) DEFAULT 'pending' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE readings ADD COLUMN IF NOT EXISTS flags JSONB
  $q$;
  EXECUTE $q$ALTER TABLE readings ADD COLUMN IF NOT EXISTS ai_opinion JSONB
  $q$;
  EXECUTE $q$ALTER TABLE readings ADD COLUMN IF NOT EXISTS approved_units NUMERIC(12, 2)
  $q$;
  EXECUTE $q$ALTER TABLE readings ADD COLUMN IF NOT EXISTS rejection_reason TEXT
  $q$;
  EXECUTE $q$ALTER TABLE readings ADD COLUMN IF NOT EXISTS submitted_by BIGINT REFERENCES users (id)
  $q$;
  EXECUTE $q$ALTER TABLE readings ADD COLUMN IF NOT EXISTS reviewed_by BIGINT REFERENCES users (id)
  $q$;
  EXECUTE $q$ALTER TABLE readings ADD COLUMN IF NOT EXISTS reviewed_at TIMESTAMP WITH TIME ZONE
  $q$;
  EXECUTE $q$ALTER TABLE readings ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE readings ADD COLUMN IF NOT EXISTS updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS flat_id BIGINT NOT NULL REFERENCES flats (id)
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS billing_period_start DATE NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS billing_period_end DATE NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS due_date DATE NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS tariff_kind VARCHAR(32) DEFAULT 'flat_rate' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS pricing_rule VARCHAR(32) DEFAULT 'master_data' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS flat_units NUMERIC(12, 2) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS motor_units NUMERIC(12, 2) DEFAULT '0' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS total_units NUMERIC(12, 2) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS rate_per_unit NUMERIC(10, 4) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS fixed_charge NUMERIC(14, 2) DEFAULT '0' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS previous_outstanding NUMERIC(14, 2) DEFAULT '0' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS tariff_details JSONB
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS total_amount NUMERIC(14, 2) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS status VARCHAR(16) DEFAULT 'pending' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS amount_paid NUMERIC(14, 2) DEFAULT '0' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS paid_at TIMESTAMP WITH TIME ZONE
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS carried_forward_to BIGINT REFERENCES bills (id)
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS overdue_notified_at TIMESTAMP WITH TIME ZONE
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS payment_link_id VARCHAR(128)
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS payment_link_url VARCHAR(1024)
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS flat_reading_id BIGINT REFERENCES readings (id)
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS motor_reading_id BIGINT REFERENCES readings (id)
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS first_reading_id BIGINT REFERENCES readings (id)
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS reissue_of BIGINT REFERENCES bills (id)
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS superseded_by BIGINT REFERENCES bills (id)
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS bill_run_id BIGINT REFERENCES bill_runs (id)
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS created_by BIGINT REFERENCES users (id)
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS created_by_name VARCHAR(64) DEFAULT 'system' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bills ADD COLUMN IF NOT EXISTS updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE meter_changes ADD COLUMN IF NOT EXISTS kind VARCHAR(16) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE meter_changes ADD COLUMN IF NOT EXISTS old_meter_id BIGINT NOT NULL REFERENCES meters (id)
  $q$;
  EXECUTE $q$ALTER TABLE meter_changes ADD COLUMN IF NOT EXISTS new_meter_id BIGINT NOT NULL REFERENCES meters (id)
  $q$;
  EXECUTE $q$ALTER TABLE meter_changes ADD COLUMN IF NOT EXISTS change_date DATE NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE meter_changes ADD COLUMN IF NOT EXISTS final_reading_id BIGINT NOT NULL REFERENCES readings (id)
  $q$;
  EXECUTE $q$ALTER TABLE meter_changes ADD COLUMN IF NOT EXISTS start_reading_id BIGINT NOT NULL REFERENCES readings (id)
  $q$;
  EXECUTE $q$ALTER TABLE meter_changes ADD COLUMN IF NOT EXISTS reason TEXT NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE meter_changes ADD COLUMN IF NOT EXISTS recorded_by BIGINT REFERENCES users (id)
  $q$;
  EXECUTE $q$ALTER TABLE meter_changes ADD COLUMN IF NOT EXISTS recorded_by_name VARCHAR(64) DEFAULT 'system' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE meter_changes ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bill_readings ADD COLUMN IF NOT EXISTS bill_id BIGINT NOT NULL REFERENCES bills (id)
  $q$;
  EXECUTE $q$ALTER TABLE bill_readings ADD COLUMN IF NOT EXISTS reading_id BIGINT NOT NULL REFERENCES readings (id)
  $q$;
  EXECUTE $q$ALTER TABLE bill_readings ADD COLUMN IF NOT EXISTS units NUMERIC(12, 2) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bill_readings ADD COLUMN IF NOT EXISTS motor_units NUMERIC(12, 2) DEFAULT '0' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE bill_readings ADD COLUMN IF NOT EXISTS superseded_by BIGINT REFERENCES bills (id)
  $q$;
  EXECUTE $q$ALTER TABLE notifications ADD COLUMN IF NOT EXISTS bill_id BIGINT REFERENCES bills (id)
  $q$;
  EXECUTE $q$ALTER TABLE notifications ADD COLUMN IF NOT EXISTS owner_id BIGINT REFERENCES owners (id)
  $q$;
  EXECUTE $q$ALTER TABLE notifications ADD COLUMN IF NOT EXISTS kind VARCHAR(32) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE notifications ADD COLUMN IF NOT EXISTS channel VARCHAR(16) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE notifications ADD COLUMN IF NOT EXISTS recipient VARCHAR(254)
  $q$;
  EXECUTE $q$ALTER TABLE notifications ADD COLUMN IF NOT EXISTS message TEXT NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE notifications ADD COLUMN IF NOT EXISTS status VARCHAR(16) DEFAULT 'pending' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE notifications ADD COLUMN IF NOT EXISTS provider_message_id VARCHAR(255)
  $q$;
  EXECUTE $q$ALTER TABLE notifications ADD COLUMN IF NOT EXISTS error TEXT
  $q$;
  EXECUTE $q$ALTER TABLE notifications ADD COLUMN IF NOT EXISTS attempts INTEGER DEFAULT '0' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE notifications ADD COLUMN IF NOT EXISTS resend_of BIGINT REFERENCES notifications (id)
  $q$;
  EXECUTE $q$ALTER TABLE notifications ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE notifications ADD COLUMN IF NOT EXISTS sent_at TIMESTAMP WITH TIME ZONE
  $q$;
  EXECUTE $q$ALTER TABLE payment_events ADD COLUMN IF NOT EXISTS bill_id BIGINT REFERENCES bills (id)
  $q$;
  EXECUTE $q$ALTER TABLE payment_events ADD COLUMN IF NOT EXISTS provider VARCHAR(16) DEFAULT 'stripe' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE payment_events ADD COLUMN IF NOT EXISTS event_type VARCHAR(64) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE payment_events ADD COLUMN IF NOT EXISTS stripe_event_id VARCHAR(255)
  $q$;
  EXECUTE $q$ALTER TABLE payment_events ADD COLUMN IF NOT EXISTS payment_link_id VARCHAR(128)
  $q$;
  EXECUTE $q$ALTER TABLE payment_events ADD COLUMN IF NOT EXISTS amount NUMERIC(14, 2)
  $q$;
  EXECUTE $q$ALTER TABLE payment_events ADD COLUMN IF NOT EXISTS currency VARCHAR(8)
  $q$;
  EXECUTE $q$ALTER TABLE payment_events ADD COLUMN IF NOT EXISTS outcome VARCHAR(32) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE payment_events ADD COLUMN IF NOT EXISTS event_data JSONB
  $q$;
  EXECUTE $q$ALTER TABLE payment_events ADD COLUMN IF NOT EXISTS received_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE payments ADD COLUMN IF NOT EXISTS bill_id BIGINT NOT NULL REFERENCES bills (id)
  $q$;
  EXECUTE $q$ALTER TABLE payments ADD COLUMN IF NOT EXISTS amount NUMERIC(14, 2) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE payments ADD COLUMN IF NOT EXISTS paid_on DATE NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE payments ADD COLUMN IF NOT EXISTS method VARCHAR(32) NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE payments ADD COLUMN IF NOT EXISTS reference VARCHAR(128)
  $q$;
  EXECUTE $q$ALTER TABLE payments ADD COLUMN IF NOT EXISTS external_id VARCHAR(255)
  $q$;
  EXECUTE $q$ALTER TABLE payments ADD COLUMN IF NOT EXISTS credit_from_bill BIGINT REFERENCES bills (id)
  $q$;
  EXECUTE $q$ALTER TABLE payments ADD COLUMN IF NOT EXISTS recorded_by BIGINT REFERENCES users (id)
  $q$;
  EXECUTE $q$ALTER TABLE payments ADD COLUMN IF NOT EXISTS recorded_by_name VARCHAR(64) DEFAULT 'system' NOT NULL
  $q$;
  EXECUTE $q$ALTER TABLE payments ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL
  $q$;
  EXECUTE $q$DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'ck_bills_status_valid'
                   AND pg_get_constraintdef(oid) LIKE '%superseded%') THEN
    ALTER TABLE bills DROP CONSTRAINT IF EXISTS ck_bills_status_valid;
    ALTER TABLE bills ADD CONSTRAINT ck_bills_status_valid CHECK (status IN ('pending', 'partially_paid', 'paid', 'overdue', 'carried_forward', 'cancelled', 'superseded'));
  END IF;
END $$
  $q$;
  EXECUTE $q$INSERT INTO bill_readings (bill_id, reading_id, units, motor_units)
SELECT b.id, b.flat_reading_id, b.flat_units, b.motor_units
  FROM bills b
  JOIN readings r ON r.id = b.flat_reading_id
  JOIN meters m ON m.id = r.meter_id AND m.flat_id = b.flat_id
 WHERE r.status = 'approved' AND b.status <> 'superseded'
   AND b.id = (SELECT max(b2.id) FROM bills b2 WHERE b2.flat_reading_id = b.flat_reading_id)
   AND b.id NOT IN (SELECT x.bill_id FROM bill_readings x)  -- hashed once: NOT EXISTS here was planned as a loop over the table it fills
   AND NOT EXISTS (SELECT 1 FROM bill_readings x WHERE x.reading_id = b.flat_reading_id AND x.superseded_by IS NULL)
  $q$;
  EXECUTE $q$INSERT INTO bill_readings (bill_id, reading_id, units, motor_units)
SELECT (SELECT x.bill_id FROM bill_readings x JOIN readings r2 ON r2.id = x.reading_id
         WHERE r2.meter_id = r.meter_id AND x.superseded_by IS NULL
           AND (r2.reading_date > r.reading_date OR (r2.reading_date = r.reading_date AND r2.id > r.id))
         ORDER BY r2.reading_date, r2.id LIMIT 1), r.id, 0, 0
  FROM readings r
 WHERE r.status = 'approved' AND r.consumption IS NULL AND r.approved_units IS NULL
   AND NOT EXISTS (SELECT 1 FROM bill_readings x WHERE x.reading_id = r.id AND x.superseded_by IS NULL)
   AND EXISTS (SELECT 1 FROM bill_readings x JOIN readings r2 ON r2.id = x.reading_id
                WHERE r2.meter_id = r.meter_id AND x.superseded_by IS NULL
                  AND (r2.reading_date > r.reading_date OR (r2.reading_date = r.reading_date AND r2.id > r.id)))
  $q$;
END $v2$;

-- ---- a version-2 project: its tables set aside as v2_<name> (database/upgrade_v3.py); no-op otherwise ----

DO $$
DECLARE
  t text; ix record; fn record; seq text; views text;
BEGIN
  IF to_regclass('schema_info') IS NULL OR to_regclass('flats') IS NULL THEN RETURN; END IF;
  IF COALESCE((SELECT value::int FROM schema_info WHERE key = 'version'), 0) >= 3 THEN RETURN; END IF;
  -- The REST backend's views and functions read the old tables; database/supabase/*.sql makes them
  -- again (database/triggers.py the one the SQL backend uses). Trigger functions stay: replaced later.
  IF to_regprocedure('meterline_view_names()') IS NOT NULL THEN
    SELECT string_agg(quote_ident(v), ', ') INTO views FROM unnest(meterline_view_names()) v;
    IF views IS NOT NULL THEN EXECUTE 'DROP VIEW IF EXISTS ' || views; END IF;
  END IF;
  FOR fn IN SELECT p.oid::regprocedure AS sig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = current_schema() AND p.proname LIKE 'meterline\_%'
               AND p.prorettype <> 'trigger'::regtype LOOP
    EXECUTE format('DROP FUNCTION %s', fn.sig);
  END LOOP;
  -- Each old table, its indexes (constraints' too) and its id sequence become v2_<name>.
  FOREACH t IN ARRAY ARRAY['bill_runs', 'flat_types', 'floors', 'job_runs', 'master_data_staging', 'motors', 'owners', 'period_locks', 'users', 'audit_log', 'flats', 'user_sessions', 'flat_motors', 'flat_owners', 'meters', 'readings', 'bills', 'meter_changes', 'bill_readings', 'notifications', 'payment_events', 'payments'] LOOP
    IF to_regclass(t) IS NULL THEN
      RAISE EXCEPTION 'UPGRADE_V3: table % of schema version 2 is missing', t;
    END IF;
    seq := NULL;
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(t) AND attname = 'id' AND NOT attisdropped) THEN
      seq := pg_get_serial_sequence(t, 'id');
    END IF;
    EXECUTE format('ALTER TABLE %I RENAME TO %I', t, 'v2_' || t);
    FOR ix IN SELECT i.indexrelid::regclass AS name, c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
               WHERE i.indrelid = to_regclass('v2_' || t) LOOP
      EXECUTE format('ALTER INDEX %s RENAME TO %I', ix.name, 'v2_' || ix.relname);
    END LOOP;
    IF seq IS NOT NULL THEN
      EXECUTE format('ALTER SEQUENCE %s RENAME TO %I', seq, 'v2_' || t || '_id_seq');
    END IF;
  END LOOP;
END $$;

-- ---- tables (from database/schema.py) ----

CREATE TABLE IF NOT EXISTS archived_bill_lines (
	id BIGINT NOT NULL, 
	bill_id BIGINT NOT NULL, 
	seq INTEGER NOT NULL, 
	code VARCHAR(32) NOT NULL, 
	label VARCHAR(128) NOT NULL, 
	quantity NUMERIC(14, 2), 
	unit VARCHAR(8), 
	rate NUMERIC(10, 4), 
	amount NUMERIC(14, 2) NOT NULL, 
	CONSTRAINT pk_archived_bill_lines PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS archived_bill_readings (
	id BIGINT NOT NULL, 
	bill_id BIGINT NOT NULL, 
	reading_id BIGINT NOT NULL, 
	units NUMERIC(12, 2) NOT NULL, 
	motor_units NUMERIC(12, 2) NOT NULL, 
	superseded_by BIGINT, 
	CONSTRAINT pk_archived_bill_readings PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS archived_bill_seals (
	seq BIGINT NOT NULL, 
	bill_id BIGINT NOT NULL, 
	prev_hash VARCHAR(64) NOT NULL, 
	hash VARCHAR(64) NOT NULL, 
	sealed_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	CONSTRAINT pk_archived_bill_seals PRIMARY KEY (seq)
);

CREATE TABLE IF NOT EXISTS archived_bills (
	id BIGINT NOT NULL, 
	account_id BIGINT NOT NULL, 
	service VARCHAR(16) NOT NULL, 
	area_id BIGINT NOT NULL, 
	billing_period_start DATE NOT NULL, 
	billing_period_end DATE NOT NULL, 
	due_date DATE NOT NULL, 
	tariff_kind VARCHAR(32) NOT NULL, 
	pricing_rule VARCHAR(32) NOT NULL, 
	tariff_plan_version_id BIGINT NOT NULL, 
	category VARCHAR(32), 
	units NUMERIC(12, 2) NOT NULL, 
	motor_units NUMERIC(12, 2) NOT NULL, 
	total_units NUMERIC(12, 2) NOT NULL, 
	rate_per_unit NUMERIC(10, 4) NOT NULL, 
	fixed_charge NUMERIC(14, 2) NOT NULL, 
	previous_outstanding NUMERIC(14, 2) NOT NULL, 
	tariff_details JSONB, 
	total_amount NUMERIC(14, 2) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	amount_paid NUMERIC(14, 2) NOT NULL, 
	paid_at TIMESTAMP WITH TIME ZONE, 
	carried_forward_to BIGINT, 
	overdue_notified_at TIMESTAMP WITH TIME ZONE, 
	payment_link_id VARCHAR(128), 
	payment_link_url VARCHAR(1024), 
	psid VARCHAR(17), 
	last_reading_id BIGINT, 
	motor_reading_id BIGINT, 
	first_reading_id BIGINT, 
	usage_from DATE, 
	usage_to DATE, 
	reissue_of BIGINT, 
	superseded_by BIGINT, 
	bill_run_id BIGINT, 
	created_by BIGINT, 
	created_by_name VARCHAR(64) NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	bill_number VARCHAR(32), 
	CONSTRAINT pk_archived_bills PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS archived_notifications (
	id BIGINT NOT NULL, 
	bill_id BIGINT, 
	contact_id BIGINT, 
	kind VARCHAR(32) NOT NULL, 
	channel VARCHAR(16) NOT NULL, 
	recipient VARCHAR(254), 
	message TEXT NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	provider_message_id VARCHAR(255), 
	error TEXT, 
	attempts INTEGER NOT NULL, 
	resend_of BIGINT, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	sent_at TIMESTAMP WITH TIME ZONE, 
	CONSTRAINT pk_archived_notifications PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS archived_payment_events (
	id BIGINT NOT NULL, 
	bill_id BIGINT, 
	provider VARCHAR(16) NOT NULL, 
	event_type VARCHAR(64) NOT NULL, 
	stripe_event_id VARCHAR(255), 
	payment_link_id VARCHAR(128), 
	amount NUMERIC(14, 2), 
	currency VARCHAR(8), 
	outcome VARCHAR(32) NOT NULL, 
	event_data JSONB, 
	received_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	CONSTRAINT pk_archived_payment_events PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS archived_payments (
	id BIGINT NOT NULL, 
	bill_id BIGINT NOT NULL, 
	amount NUMERIC(14, 2) NOT NULL, 
	paid_on DATE NOT NULL, 
	method VARCHAR(32) NOT NULL, 
	reference VARCHAR(128), 
	external_id VARCHAR(255), 
	credit_from_bill BIGINT, 
	recorded_by BIGINT, 
	recorded_by_name VARCHAR(64) NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	CONSTRAINT pk_archived_payments PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS areas (
	id BIGSERIAL NOT NULL, 
	parent_id BIGINT, 
	level INTEGER NOT NULL, 
	code VARCHAR(32) NOT NULL, 
	name VARCHAR(128) NOT NULL, 
	path VARCHAR(255) NOT NULL, 
	kind VARCHAR(32), 
	sort_order INTEGER DEFAULT '0' NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_areas PRIMARY KEY (id), 
	CONSTRAINT ck_areas_level_positive CHECK (level >= 1), 
	CONSTRAINT ck_areas_parent_by_level CHECK ((level = 1) = (parent_id IS NULL)), 
	CONSTRAINT fk_areas_parent_id_areas FOREIGN KEY(parent_id) REFERENCES areas (id), 
	CONSTRAINT uq_areas_path UNIQUE (path)
);

CREATE TABLE IF NOT EXISTS bill_archive_months (
	bill_month VARCHAR(7) NOT NULL, 
	bills BIGINT NOT NULL, 
	total_amount NUMERIC(14, 2) NOT NULL, 
	amount_paid NUMERIC(14, 2) NOT NULL, 
	lines BIGINT NOT NULL, 
	line_amount NUMERIC(14, 2) NOT NULL, 
	payments BIGINT NOT NULL, 
	payment_amount NUMERIC(14, 2) NOT NULL, 
	other_rows BIGINT NOT NULL, 
	kept_live BIGINT NOT NULL, 
	archived_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	archived_by VARCHAR(64) NOT NULL, 
	archived_by_id BIGINT, 
	CONSTRAINT pk_bill_archive_months PRIMARY KEY (bill_month), 
	CONSTRAINT ck_bill_archive_months_counts_nonneg CHECK (bills >= 0 AND lines >= 0 AND payments >= 0 AND other_rows >= 0 AND kept_live >= 0)
);

CREATE TABLE IF NOT EXISTS bill_month_totals (
	bill_month VARCHAR(7) NOT NULL, 
	area_id BIGINT NOT NULL, 
	due_date DATE NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	paid_any BOOLEAN NOT NULL, 
	arrears BOOLEAN NOT NULL, 
	bills BIGINT NOT NULL, 
	units BIGINT NOT NULL, 
	billed BIGINT NOT NULL, 
	due BIGINT NOT NULL, 
	paid BIGINT NOT NULL, 
	CONSTRAINT pk_bill_month_totals PRIMARY KEY (bill_month, area_id, due_date, status, paid_any, arrears)
);

CREATE TABLE IF NOT EXISTS bill_number_series (
	series VARCHAR(16) NOT NULL, 
	last_number BIGINT DEFAULT '0' NOT NULL, 
	CONSTRAINT pk_bill_number_series PRIMARY KEY (series), 
	CONSTRAINT ck_bill_number_series_last_number_nonneg CHECK (last_number >= 0)
);

CREATE TABLE IF NOT EXISTS contacts (
	id BIGSERIAL NOT NULL, 
	name VARCHAR(128) NOT NULL, 
	phone VARCHAR(20), 
	email VARCHAR(254), 
	address VARCHAR(255), 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_contacts PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS job_runs (
	id BIGSERIAL NOT NULL, 
	job_id VARCHAR(64) NOT NULL, 
	run_key VARCHAR(64) NOT NULL, 
	status VARCHAR(16) DEFAULT 'running' NOT NULL, 
	counts JSONB, 
	error TEXT, 
	host VARCHAR(128), 
	started_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	finished_at TIMESTAMP WITH TIME ZONE, 
	CONSTRAINT pk_job_runs PRIMARY KEY (id), 
	CONSTRAINT uq_job_runs_job_id_run_key UNIQUE (job_id, run_key), 
	CONSTRAINT ck_job_runs_status_valid CHECK (status IN ('running', 'completed', 'failed', 'refused'))
);

CREATE TABLE IF NOT EXISTS master_data_staging (
	import_id VARCHAR(36) NOT NULL, 
	part INTEGER NOT NULL, 
	changes JSONB NOT NULL, 
	staged_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_master_data_staging PRIMARY KEY (import_id, part), 
	CONSTRAINT ck_master_data_staging_part_positive CHECK (part > 0)
);

CREATE TABLE IF NOT EXISTS motors (
	id BIGSERIAL NOT NULL, 
	code VARCHAR(32) NOT NULL, 
	name VARCHAR(128) DEFAULT '' NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_motors PRIMARY KEY (id), 
	CONSTRAINT uq_motors_code UNIQUE (code)
);

CREATE TABLE IF NOT EXISTS period_locks (
	id BIGSERIAL NOT NULL, 
	month VARCHAR(7) NOT NULL, 
	reason TEXT DEFAULT '' NOT NULL, 
	locked_by VARCHAR(64) DEFAULT 'system' NOT NULL, 
	locked_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	bill_count_at_lock INTEGER, 
	CONSTRAINT pk_period_locks PRIMARY KEY (id), 
	CONSTRAINT ck_period_locks_month_format CHECK (month LIKE '____-__'), 
	CONSTRAINT uq_period_locks_month UNIQUE (month)
);

CREATE TABLE IF NOT EXISTS schema_info (
	key VARCHAR(64) NOT NULL, 
	value VARCHAR(255) NOT NULL, 
	CONSTRAINT pk_schema_info PRIMARY KEY (key)
);

CREATE TABLE IF NOT EXISTS tariff_plans (
	id BIGSERIAL NOT NULL, 
	code VARCHAR(64) NOT NULL, 
	name VARCHAR(128) NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	service VARCHAR(16) NOT NULL, 
	unit VARCHAR(8), 
	currency VARCHAR(3) NOT NULL, 
	notes TEXT, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_tariff_plans PRIMARY KEY (id), 
	CONSTRAINT ck_tariff_plans_kind_valid CHECK (kind IN ('flat_rate', 'tiered_seasonal', 'category_fee')), 
	CONSTRAINT ck_tariff_plans_service_valid CHECK (service IN ('electricity', 'water', 'sanitation')), 
	CONSTRAINT uq_tariff_plans_code UNIQUE (code)
);

CREATE TABLE IF NOT EXISTS usage_day_index (
	account_type VARCHAR(32) NOT NULL, 
	usage_date DATE NOT NULL, 
	accounts INTEGER NOT NULL, 
	mean NUMERIC(14, 6) NOT NULL, 
	CONSTRAINT pk_usage_day_index PRIMARY KEY (account_type, usage_date)
);

CREATE TABLE IF NOT EXISTS users (
	id BIGSERIAL NOT NULL, 
	username VARCHAR(64) NOT NULL, 
	display_name VARCHAR(128) DEFAULT '' NOT NULL, 
	email VARCHAR(254), 
	role VARCHAR(32) NOT NULL, 
	password_hash VARCHAR(255), 
	auth_provider VARCHAR(16) DEFAULT 'local' NOT NULL, 
	is_active BOOLEAN DEFAULT true NOT NULL, 
	failed_login_count INTEGER DEFAULT '0' NOT NULL, 
	locked_until TIMESTAMP WITH TIME ZONE, 
	login_attempts_in_flight INTEGER DEFAULT '0' NOT NULL, 
	login_attempt_at TIMESTAMP WITH TIME ZONE, 
	password_changed_at TIMESTAMP WITH TIME ZONE, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_users PRIMARY KEY (id), 
	CONSTRAINT ck_users_failed_login_count_nonneg CHECK (failed_login_count >= 0), 
	CONSTRAINT ck_users_password_hash_is_hash CHECK (password_hash IS NULL OR password_hash LIKE '$argon2id$%' OR password_hash LIKE '$2b$%'), 
	CONSTRAINT uq_users_username UNIQUE (username), 
	CONSTRAINT uq_users_email UNIQUE (email)
);

CREATE TABLE IF NOT EXISTS utility_settings (
	id INTEGER NOT NULL, 
	template VARCHAR(16) NOT NULL, 
	name VARCHAR(128) NOT NULL, 
	short_code VARCHAR(8) NOT NULL, 
	currency VARCHAR(3) NOT NULL, 
	locale VARCHAR(16) NOT NULL, 
	timezone VARCHAR(64) NOT NULL, 
	account_label VARCHAR(32) NOT NULL, 
	account_label_plural VARCHAR(32) NOT NULL, 
	area_levels JSONB NOT NULL, 
	service VARCHAR(16) NOT NULL, 
	quantity_unit VARCHAR(8), 
	billing_day INTEGER NOT NULL, 
	due_days INTEGER NOT NULL, 
	plan_file VARCHAR(255) NOT NULL, 
	updated_by VARCHAR(64) DEFAULT 'system' NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_utility_settings PRIMARY KEY (id), 
	CONSTRAINT ck_utility_settings_one_row CHECK (id = 1), 
	CONSTRAINT ck_utility_settings_template_valid CHECK (template IN ('society', 'municipal', 'water')), 
	CONSTRAINT ck_utility_settings_service_valid CHECK (service IN ('electricity', 'water', 'sanitation')), 
	CONSTRAINT ck_utility_settings_billing_day_range CHECK (billing_day BETWEEN 1 AND 28), 
	CONSTRAINT ck_utility_settings_due_days_range CHECK (due_days BETWEEN 0 AND 90)
);

CREATE TABLE IF NOT EXISTS accounts (
	id BIGSERIAL NOT NULL, 
	code VARCHAR(32) NOT NULL, 
	name VARCHAR(128) DEFAULT '' NOT NULL, 
	area_id BIGINT NOT NULL, 
	category VARCHAR(32), 
	account_type VARCHAR(32), 
	is_active BOOLEAN DEFAULT true NOT NULL, 
	address VARCHAR(255), 
	gps_lat NUMERIC(9, 6), 
	gps_lon NUMERIC(9, 6), 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_accounts PRIMARY KEY (id), 
	CONSTRAINT ck_accounts_gps_both_or_neither CHECK ((gps_lat IS NULL) = (gps_lon IS NULL)), 
	CONSTRAINT ck_accounts_gps_range CHECK (gps_lat IS NULL OR (gps_lat BETWEEN -90 AND 90 AND gps_lon BETWEEN -180 AND 180)), 
	CONSTRAINT uq_accounts_code UNIQUE (code), 
	CONSTRAINT fk_accounts_area_id_areas FOREIGN KEY(area_id) REFERENCES areas (id)
);

CREATE TABLE IF NOT EXISTS audit_log (
	id BIGSERIAL NOT NULL, 
	occurred_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	actor_id BIGINT, 
	actor_name VARCHAR(64) NOT NULL, 
	client VARCHAR(128), 
	action VARCHAR(64) NOT NULL, 
	entity_type VARCHAR(32), 
	entity_id VARCHAR(64), 
	details JSONB, 
	CONSTRAINT pk_audit_log PRIMARY KEY (id), 
	CONSTRAINT fk_audit_log_actor_id_users FOREIGN KEY(actor_id) REFERENCES users (id)
);

CREATE TABLE IF NOT EXISTS bank_files (
	id BIGSERIAL NOT NULL, 
	file_name VARCHAR(255) NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	row_count INTEGER NOT NULL, 
	matched_count INTEGER NOT NULL, 
	duplicate_count INTEGER NOT NULL, 
	refused_count INTEGER NOT NULL, 
	matched_amount NUMERIC(14, 2) NOT NULL, 
	duplicate_amount NUMERIC(14, 2) NOT NULL, 
	refused_amount NUMERIC(14, 2) NOT NULL, 
	imported_by BIGINT, 
	imported_by_name VARCHAR(64) DEFAULT 'system' NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_bank_files PRIMARY KEY (id), 
	CONSTRAINT uq_bank_files_sha256 UNIQUE (sha256), 
	CONSTRAINT fk_bank_files_imported_by_users FOREIGN KEY(imported_by) REFERENCES users (id)
);

CREATE TABLE IF NOT EXISTS bill_runs (
	id BIGSERIAL NOT NULL, 
	billing_period_start DATE NOT NULL, 
	billing_period_end DATE NOT NULL, 
	due_date DATE NOT NULL, 
	service VARCHAR(16) DEFAULT 'electricity' NOT NULL, 
	area_id BIGINT, 
	status VARCHAR(16) DEFAULT 'running' NOT NULL, 
	created_count INTEGER DEFAULT '0' NOT NULL, 
	skipped_count INTEGER DEFAULT '0' NOT NULL, 
	refused_count INTEGER DEFAULT '0' NOT NULL, 
	total_amount NUMERIC(14, 2) DEFAULT '0' NOT NULL, 
	error TEXT, 
	started_by VARCHAR(64) DEFAULT 'system' NOT NULL, 
	started_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	finished_at TIMESTAMP WITH TIME ZONE, 
	CONSTRAINT pk_bill_runs PRIMARY KEY (id), 
	CONSTRAINT ck_bill_runs_status_valid CHECK (status IN ('running', 'completed', 'failed', 'refused')), 
	CONSTRAINT ck_bill_runs_period_order CHECK (billing_period_end >= billing_period_start), 
	CONSTRAINT ck_bill_runs_counts_nonneg CHECK (created_count >= 0 AND skipped_count >= 0 AND refused_count >= 0), 
	CONSTRAINT fk_bill_runs_area_id_areas FOREIGN KEY(area_id) REFERENCES areas (id)
);

CREATE TABLE IF NOT EXISTS consumer_pattern_totals (
	as_of DATE NOT NULL, 
	months INTEGER NOT NULL, 
	area_id BIGINT NOT NULL, 
	billed INTEGER NOT NULL, 
	on_time INTEGER NOT NULL, 
	late INTEGER NOT NULL, 
	partial INTEGER NOT NULL, 
	never_paid INTEGER NOT NULL, 
	computed_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	CONSTRAINT pk_consumer_pattern_totals PRIMARY KEY (as_of, months, area_id), 
	CONSTRAINT ck_consumer_pattern_totals_months_positive CHECK (months >= 1), 
	CONSTRAINT fk_consumer_pattern_totals_area_id_areas FOREIGN KEY(area_id) REFERENCES areas (id)
);

CREATE TABLE IF NOT EXISTS customer_preferences (
	user_id BIGINT NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	enabled BOOLEAN NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_customer_preferences PRIMARY KEY (user_id, kind), 
	CONSTRAINT ck_customer_preferences_kind_valid CHECK (kind IN ('high_usage_alert', 'leak_alert', 'bill_ready', 'due_reminder', 'paperless')), 
	CONSTRAINT fk_customer_preferences_user_id_users FOREIGN KEY(user_id) REFERENCES users (id)
);

CREATE TABLE IF NOT EXISTS tariff_plan_versions (
	id BIGSERIAL NOT NULL, 
	plan_id BIGINT NOT NULL, 
	version INTEGER NOT NULL, 
	effective_from DATE NOT NULL, 
	params JSONB NOT NULL, 
	notes TEXT, 
	created_by_name VARCHAR(64) DEFAULT 'system' NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_tariff_plan_versions PRIMARY KEY (id), 
	CONSTRAINT uq_tariff_plan_versions_plan_id_version UNIQUE (plan_id, version), 
	CONSTRAINT uq_tariff_plan_versions_plan_id_effective_from UNIQUE (plan_id, effective_from), 
	CONSTRAINT ck_tariff_plan_versions_version_positive CHECK (version >= 1), 
	CONSTRAINT fk_tariff_plan_versions_plan_id_tariff_plans FOREIGN KEY(plan_id) REFERENCES tariff_plans (id)
);

CREATE TABLE IF NOT EXISTS user_areas (
	id BIGSERIAL NOT NULL, 
	user_id BIGINT NOT NULL, 
	area_id BIGINT NOT NULL, 
	assigned_by_name VARCHAR(64) DEFAULT 'system' NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_user_areas PRIMARY KEY (id), 
	CONSTRAINT uq_user_areas_user_id_area_id UNIQUE (user_id, area_id), 
	CONSTRAINT fk_user_areas_user_id_users FOREIGN KEY(user_id) REFERENCES users (id), 
	CONSTRAINT fk_user_areas_area_id_areas FOREIGN KEY(area_id) REFERENCES areas (id)
);

CREATE TABLE IF NOT EXISTS user_sessions (
	id BIGSERIAL NOT NULL, 
	token_hash VARCHAR(64) NOT NULL, 
	user_id BIGINT NOT NULL, 
	client VARCHAR(128), 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	last_seen_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	expires_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	revoked_at TIMESTAMP WITH TIME ZONE, 
	revoked_reason VARCHAR(64), 
	CONSTRAINT pk_user_sessions PRIMARY KEY (id), 
	CONSTRAINT uq_user_sessions_token_hash UNIQUE (token_hash), 
	CONSTRAINT fk_user_sessions_user_id_users FOREIGN KEY(user_id) REFERENCES users (id)
);

CREATE TABLE IF NOT EXISTS account_contacts (
	id BIGSERIAL NOT NULL, 
	account_id BIGINT NOT NULL, 
	contact_id BIGINT NOT NULL, 
	role VARCHAR(16) DEFAULT 'owner' NOT NULL, 
	is_primary BOOLEAN DEFAULT false NOT NULL, 
	CONSTRAINT pk_account_contacts PRIMARY KEY (id), 
	CONSTRAINT uq_account_contacts_account_id_contact_id UNIQUE (account_id, contact_id), 
	CONSTRAINT fk_account_contacts_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id), 
	CONSTRAINT fk_account_contacts_contact_id_contacts FOREIGN KEY(contact_id) REFERENCES contacts (id)
);

CREATE TABLE IF NOT EXISTS account_history (
	id BIGSERIAL NOT NULL, 
	account_id BIGINT NOT NULL, 
	field VARCHAR(32) NOT NULL, 
	old_value VARCHAR(255), 
	new_value VARCHAR(255), 
	source VARCHAR(64) NOT NULL, 
	changed_by_name VARCHAR(64) DEFAULT 'system' NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_account_history PRIMARY KEY (id), 
	CONSTRAINT ck_account_history_field_valid CHECK (field IN ('billing_name', 'billing_mobile', 'billing_address')), 
	CONSTRAINT fk_account_history_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id)
);

CREATE TABLE IF NOT EXISTS account_motors (
	id BIGSERIAL NOT NULL, 
	account_id BIGINT NOT NULL, 
	motor_id BIGINT NOT NULL, 
	CONSTRAINT pk_account_motors PRIMARY KEY (id), 
	CONSTRAINT uq_account_motors_account_id_motor_id UNIQUE (account_id, motor_id), 
	CONSTRAINT fk_account_motors_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id), 
	CONSTRAINT fk_account_motors_motor_id_motors FOREIGN KEY(motor_id) REFERENCES motors (id)
);

CREATE TABLE IF NOT EXISTS account_surveys (
	account_id BIGINT NOT NULL, 
	survey_id VARCHAR(32) NOT NULL, 
	surveyor_name VARCHAR(128), 
	surveyed_at TIMESTAMP WITH TIME ZONE, 
	survey_name VARCHAR(128), 
	survey_mobile VARCHAR(20), 
	survey_address VARCHAR(255), 
	house_type VARCHAR(32), 
	water_connection VARCHAR(16), 
	size_marla NUMERIC(8, 2), 
	photo_ref VARCHAR(512), 
	gps_text VARCHAR(128), 
	unit_type VARCHAR(64), 
	size_category VARCHAR(16), 
	CONSTRAINT pk_account_surveys PRIMARY KEY (account_id), 
	CONSTRAINT ck_account_surveys_size_nonneg CHECK (size_marla IS NULL OR size_marla >= 0), 
	CONSTRAINT fk_account_surveys_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id), 
	CONSTRAINT uq_account_surveys_survey_id UNIQUE (survey_id)
);

CREATE TABLE IF NOT EXISTS bank_payments (
	id BIGSERIAL NOT NULL, 
	bank_file_id BIGINT NOT NULL, 
	row_no INTEGER NOT NULL, 
	psid VARCHAR(17), 
	consumer_number VARCHAR(32), 
	transaction_id VARCHAR(64) NOT NULL, 
	amount NUMERIC(14, 2) NOT NULL, 
	fine NUMERIC(14, 2) DEFAULT '0' NOT NULL, 
	paid_on DATE NOT NULL, 
	paid_time VARCHAR(8) NOT NULL, 
	bank VARCHAR(64), 
	channel VARCHAR(32), 
	outcome VARCHAR(24) NOT NULL, 
	reason TEXT, 
	bill_id BIGINT, 
	payment_id BIGINT, 
	dedupe_key VARCHAR(160) NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_bank_payments PRIMARY KEY (id), 
	CONSTRAINT ck_bank_payments_outcome_valid CHECK (outcome IN ('matched', 'duplicate', 'refused_unknown', 'refused_amount', 'refused_expired', 'refused_paid')), 
	CONSTRAINT fk_bank_payments_bank_file_id_bank_files FOREIGN KEY(bank_file_id) REFERENCES bank_files (id)
);

CREATE TABLE IF NOT EXISTS bill_run_manifests (
	id BIGSERIAL NOT NULL, 
	bill_run_id BIGINT, 
	dry_run BOOLEAN NOT NULL, 
	service VARCHAR(16) NOT NULL, 
	billing_period_start DATE NOT NULL, 
	billing_period_end DATE NOT NULL, 
	area_id BIGINT, 
	manifest JSONB NOT NULL, 
	chain_head VARCHAR(128), 
	created_by VARCHAR(64) DEFAULT 'system' NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_bill_run_manifests PRIMARY KEY (id), 
	CONSTRAINT fk_bill_run_manifests_bill_run_id_bill_runs FOREIGN KEY(bill_run_id) REFERENCES bill_runs (id), 
	CONSTRAINT fk_bill_run_manifests_area_id_areas FOREIGN KEY(area_id) REFERENCES areas (id)
);

CREATE TABLE IF NOT EXISTS customer_accounts (
	id BIGSERIAL NOT NULL, 
	user_id BIGINT NOT NULL, 
	account_id BIGINT NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_customer_accounts PRIMARY KEY (id), 
	CONSTRAINT uq_customer_accounts_user_id_account_id UNIQUE (user_id, account_id), 
	CONSTRAINT fk_customer_accounts_user_id_users FOREIGN KEY(user_id) REFERENCES users (id), 
	CONSTRAINT fk_customer_accounts_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id)
);

CREATE TABLE IF NOT EXISTS customer_alerts_sent (
	id BIGSERIAL NOT NULL, 
	user_id BIGINT NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	ref VARCHAR(64) NOT NULL, 
	account_id BIGINT NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_customer_alerts_sent PRIMARY KEY (id), 
	CONSTRAINT uq_customer_alerts_sent_user_id_kind_ref UNIQUE (user_id, kind, ref), 
	CONSTRAINT ck_customer_alerts_sent_kind_valid CHECK (kind IN ('high_usage_alert', 'leak_alert', 'bill_ready', 'due_reminder')), 
	CONSTRAINT fk_customer_alerts_sent_user_id_users FOREIGN KEY(user_id) REFERENCES users (id), 
	CONSTRAINT fk_customer_alerts_sent_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id)
);

CREATE TABLE IF NOT EXISTS customer_codes (
	id BIGSERIAL NOT NULL, 
	purpose VARCHAR(16) NOT NULL, 
	subject VARCHAR(64) NOT NULL, 
	user_id BIGINT, 
	account_id BIGINT, 
	new_value VARCHAR(254), 
	salt VARCHAR(32) NOT NULL, 
	code_hash VARCHAR(64) NOT NULL, 
	channel VARCHAR(16) NOT NULL, 
	recipient VARCHAR(254), 
	expires_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	used_at TIMESTAMP WITH TIME ZONE, 
	attempts INTEGER DEFAULT '0' NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_customer_codes PRIMARY KEY (id), 
	CONSTRAINT ck_customer_codes_purpose_valid CHECK (purpose IN ('invite', 'register', 'phone', 'email')), 
	CONSTRAINT ck_customer_codes_attempts_nonneg CHECK (attempts >= 0), 
	CONSTRAINT fk_customer_codes_user_id_users FOREIGN KEY(user_id) REFERENCES users (id), 
	CONSTRAINT fk_customer_codes_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id)
);

CREATE TABLE IF NOT EXISTS field_visits (
	id BIGSERIAL NOT NULL, 
	account_id BIGINT NOT NULL, 
	area_id BIGINT NOT NULL, 
	agent_id BIGINT, 
	agent_name VARCHAR(64) NOT NULL, 
	visited_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	visit_date DATE NOT NULL, 
	outcome VARCHAR(16) NOT NULL, 
	notes TEXT, 
	photo_ref VARCHAR(512), 
	photo_url VARCHAR(1024), 
	gps_lat NUMERIC(9, 6), 
	gps_lon NUMERIC(9, 6), 
	gps_accuracy_m NUMERIC(10, 1), 
	distance_m NUMERIC(12, 1), 
	radius_m INTEGER, 
	flagged BOOLEAN DEFAULT false NOT NULL, 
	status VARCHAR(16) DEFAULT 'pending' NOT NULL, 
	reviewed_by BIGINT, 
	reviewed_by_name VARCHAR(64), 
	reviewed_at TIMESTAMP WITH TIME ZONE, 
	review_reason TEXT, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_field_visits PRIMARY KEY (id), 
	CONSTRAINT ck_field_visits_status_valid CHECK (status IN ('pending', 'approved', 'rejected')), 
	CONSTRAINT ck_field_visits_decided_has_reviewer CHECK ((status = 'pending') = (reviewed_at IS NULL AND reviewed_by_name IS NULL)), 
	CONSTRAINT ck_field_visits_rejected_has_reason CHECK (status <> 'rejected' OR (review_reason IS NOT NULL AND review_reason <> '')), 
	CONSTRAINT ck_field_visits_outcome_valid CHECK (outcome IN ('paid', 'promised', 'refused', 'closed', 'not_found')), 
	CONSTRAINT ck_field_visits_gps_both_or_neither CHECK ((gps_lat IS NULL) = (gps_lon IS NULL)), 
	CONSTRAINT ck_field_visits_gps_range CHECK (gps_lat IS NULL OR (gps_lat BETWEEN -90 AND 90 AND gps_lon BETWEEN -180 AND 180)), 
	CONSTRAINT ck_field_visits_distance_nonneg CHECK (distance_m IS NULL OR distance_m >= 0), 
	CONSTRAINT fk_field_visits_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id), 
	CONSTRAINT fk_field_visits_area_id_areas FOREIGN KEY(area_id) REFERENCES areas (id), 
	CONSTRAINT fk_field_visits_agent_id_users FOREIGN KEY(agent_id) REFERENCES users (id), 
	CONSTRAINT fk_field_visits_reviewed_by_users FOREIGN KEY(reviewed_by) REFERENCES users (id)
);

CREATE TABLE IF NOT EXISTS meters (
	id BIGSERIAL NOT NULL, 
	meter_number VARCHAR(32) NOT NULL, 
	account_id BIGINT, 
	motor_id BIGINT, 
	service VARCHAR(16) DEFAULT 'electricity' NOT NULL, 
	unit VARCHAR(8) DEFAULT 'kWh' NOT NULL, 
	status VARCHAR(16) DEFAULT 'active' NOT NULL, 
	is_smart BOOLEAN DEFAULT false NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_meters PRIMARY KEY (id), 
	CONSTRAINT ck_meters_status_valid CHECK (status IN ('active', 'inactive', 'replaced')), 
	CONSTRAINT ck_meters_service_valid CHECK (service IN ('electricity', 'water', 'sanitation')), 
	CONSTRAINT ck_meters_has_owner CHECK (account_id IS NOT NULL OR motor_id IS NOT NULL), 
	CONSTRAINT uq_meters_meter_number UNIQUE (meter_number), 
	CONSTRAINT fk_meters_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id), 
	CONSTRAINT fk_meters_motor_id_motors FOREIGN KEY(motor_id) REFERENCES motors (id)
);

CREATE TABLE IF NOT EXISTS service_connections (
	id BIGSERIAL NOT NULL, 
	account_id BIGINT NOT NULL, 
	service VARCHAR(16) NOT NULL, 
	tariff_plan_id BIGINT NOT NULL, 
	is_active BOOLEAN DEFAULT true NOT NULL, 
	started_on DATE, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_service_connections PRIMARY KEY (id), 
	CONSTRAINT uq_service_connections_account_id_service UNIQUE (account_id, service), 
	CONSTRAINT ck_service_connections_service_valid CHECK (service IN ('electricity', 'water', 'sanitation')), 
	CONSTRAINT fk_service_connections_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id), 
	CONSTRAINT fk_service_connections_tariff_plan_id_tariff_plans FOREIGN KEY(tariff_plan_id) REFERENCES tariff_plans (id)
);

CREATE TABLE IF NOT EXISTS usage_anomalies (
	id BIGSERIAL NOT NULL, 
	account_id BIGINT NOT NULL, 
	area_id BIGINT NOT NULL, 
	method VARCHAR(32) NOT NULL, 
	period_start DATE NOT NULL, 
	period_end DATE NOT NULL, 
	usage_date DATE NOT NULL, 
	usage NUMERIC(12, 2) NOT NULL, 
	baseline NUMERIC(14, 4), 
	spread NUMERIC(14, 4), 
	score NUMERIC(14, 4) NOT NULL, 
	history_days INTEGER DEFAULT '0' NOT NULL, 
	params JSONB, 
	detected_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	detected_by VARCHAR(64) DEFAULT 'system' NOT NULL, 
	status VARCHAR(16) DEFAULT 'open' NOT NULL, 
	outcome VARCHAR(32), 
	review_note TEXT, 
	reviewed_by BIGINT, 
	reviewed_by_name VARCHAR(64), 
	reviewed_at TIMESTAMP WITH TIME ZONE, 
	CONSTRAINT pk_usage_anomalies PRIMARY KEY (id), 
	CONSTRAINT uq_usage_anomalies_account_id_method_period_start UNIQUE (account_id, method, period_start), 
	CONSTRAINT ck_usage_anomalies_method_valid CHECK (method IN ('zscore', 'robust', 'high_read', 'continuous_flow', 'zero_usage', 'inactive_usage')), 
	CONSTRAINT ck_usage_anomalies_status_valid CHECK (status IN ('open', 'reviewed')), 
	CONSTRAINT ck_usage_anomalies_outcome_valid CHECK (outcome IS NULL OR outcome IN ('leak_confirmed', 'meter_fault', 'genuine', 'data_error', 'customer_contacted', 'no_action')), 
	CONSTRAINT ck_usage_anomalies_reviewed_has_outcome CHECK ((status = 'reviewed') = (outcome IS NOT NULL AND reviewed_at IS NOT NULL)), 
	CONSTRAINT ck_usage_anomalies_date_in_period CHECK (usage_date BETWEEN period_start AND period_end), 
	CONSTRAINT fk_usage_anomalies_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id), 
	CONSTRAINT fk_usage_anomalies_area_id_areas FOREIGN KEY(area_id) REFERENCES areas (id), 
	CONSTRAINT fk_usage_anomalies_reviewed_by_users FOREIGN KEY(reviewed_by) REFERENCES users (id)
);

CREATE TABLE IF NOT EXISTS usage_baselines (
	account_id BIGINT NOT NULL, 
	as_of DATE NOT NULL, 
	window_days INTEGER NOT NULL, 
	days INTEGER NOT NULL, 
	mean NUMERIC(14, 4) NOT NULL, 
	sd NUMERIC(14, 4) NOT NULL, 
	median NUMERIC(14, 4) NOT NULL, 
	mad NUMERIC(14, 4) NOT NULL, 
	adj_median NUMERIC(14, 4), 
	adj_mad NUMERIC(14, 4), 
	CONSTRAINT pk_usage_baselines PRIMARY KEY (account_id, as_of, window_days), 
	CONSTRAINT fk_usage_baselines_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id)
);

CREATE TABLE IF NOT EXISTS readings (
	id BIGSERIAL NOT NULL, 
	meter_id BIGINT NOT NULL, 
	reading_value NUMERIC(12, 2) NOT NULL, 
	reading_date DATE NOT NULL, 
	consumption NUMERIC(12, 2), 
	previous_reading_id BIGINT, 
	motor_reading_value NUMERIC(12, 2), 
	motor_share NUMERIC(12, 2), 
	motor_reading_id BIGINT, 
	photo_ref VARCHAR(512), 
	photo_url VARCHAR(1024), 
	source VARCHAR(16) DEFAULT 'ui' NOT NULL, 
	status VARCHAR(16) DEFAULT 'pending' NOT NULL, 
	flags JSONB, 
	ai_opinion JSONB, 
	approved_units NUMERIC(12, 2), 
	rejection_reason TEXT, 
	submitted_by BIGINT, 
	reviewed_by BIGINT, 
	reviewed_at TIMESTAMP WITH TIME ZONE, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_readings PRIMARY KEY (id), 
	CONSTRAINT ck_readings_reading_value_nonneg CHECK (reading_value >= 0), 
	CONSTRAINT ck_readings_consumption_nonneg CHECK (consumption IS NULL OR consumption >= 0), 
	CONSTRAINT ck_readings_motor_reading_nonneg CHECK (motor_reading_value IS NULL OR motor_reading_value >= 0), 
	CONSTRAINT ck_readings_motor_share_nonneg CHECK (motor_share IS NULL OR motor_share >= 0), 
	CONSTRAINT ck_readings_approved_units_nonneg CHECK (approved_units IS NULL OR approved_units >= 0), 
	CONSTRAINT ck_readings_status_valid CHECK (status IN ('pending', 'approved', 'rejected')), 
	CONSTRAINT ck_readings_rejection_has_reason CHECK (status <> 'rejected' OR rejection_reason IS NOT NULL), 
	CONSTRAINT uq_readings_meter_id_reading_date_reading_value UNIQUE (meter_id, reading_date, reading_value), 
	CONSTRAINT fk_readings_meter_id_meters FOREIGN KEY(meter_id) REFERENCES meters (id), 
	CONSTRAINT fk_readings_previous_reading_id_readings FOREIGN KEY(previous_reading_id) REFERENCES readings (id), 
	CONSTRAINT fk_readings_motor_reading_id_readings FOREIGN KEY(motor_reading_id) REFERENCES readings (id), 
	CONSTRAINT fk_readings_submitted_by_users FOREIGN KEY(submitted_by) REFERENCES users (id), 
	CONSTRAINT fk_readings_reviewed_by_users FOREIGN KEY(reviewed_by) REFERENCES users (id)
);

CREATE TABLE IF NOT EXISTS bills (
	id BIGSERIAL NOT NULL, 
	account_id BIGINT NOT NULL, 
	service VARCHAR(16) DEFAULT 'electricity' NOT NULL, 
	area_id BIGINT NOT NULL, 
	billing_period_start DATE NOT NULL, 
	billing_period_end DATE NOT NULL, 
	due_date DATE NOT NULL, 
	tariff_kind VARCHAR(32) DEFAULT 'flat_rate' NOT NULL, 
	pricing_rule VARCHAR(32) DEFAULT 'master_data' NOT NULL, 
	tariff_plan_version_id BIGINT NOT NULL, 
	category VARCHAR(32), 
	units NUMERIC(12, 2) NOT NULL, 
	motor_units NUMERIC(12, 2) DEFAULT '0' NOT NULL, 
	total_units NUMERIC(12, 2) NOT NULL, 
	rate_per_unit NUMERIC(10, 4) NOT NULL, 
	fixed_charge NUMERIC(14, 2) DEFAULT '0' NOT NULL, 
	previous_outstanding NUMERIC(14, 2) DEFAULT '0' NOT NULL, 
	tariff_details JSONB, 
	total_amount NUMERIC(14, 2) NOT NULL, 
	status VARCHAR(16) DEFAULT 'pending' NOT NULL, 
	amount_paid NUMERIC(14, 2) DEFAULT '0' NOT NULL, 
	paid_at TIMESTAMP WITH TIME ZONE, 
	carried_forward_to BIGINT, 
	overdue_notified_at TIMESTAMP WITH TIME ZONE, 
	payment_link_id VARCHAR(128), 
	payment_link_url VARCHAR(1024), 
	psid VARCHAR(17), 
	last_reading_id BIGINT, 
	motor_reading_id BIGINT, 
	first_reading_id BIGINT, 
	usage_from DATE, 
	usage_to DATE, 
	reissue_of BIGINT, 
	superseded_by BIGINT, 
	bill_run_id BIGINT, 
	created_by BIGINT, 
	created_by_name VARCHAR(64) DEFAULT 'system' NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	bill_number VARCHAR(32), 
	CONSTRAINT pk_bills PRIMARY KEY (id), 
	CONSTRAINT uq_bills_account_id_service_billing_period_start UNIQUE (account_id, service, billing_period_start), 
	CONSTRAINT ck_bills_service_valid CHECK (service IN ('electricity', 'water', 'sanitation')), 
	CONSTRAINT ck_bills_usage_span CHECK ((usage_from IS NULL) = (usage_to IS NULL) AND (usage_from IS NULL OR usage_to >= usage_from)), 
	CONSTRAINT ck_bills_period_order CHECK (billing_period_end >= billing_period_start), 
	CONSTRAINT ck_bills_due_after_start CHECK (due_date >= billing_period_start), 
	CONSTRAINT ck_bills_units_nonneg CHECK (units >= 0), 
	CONSTRAINT ck_bills_motor_units_nonneg CHECK (motor_units >= 0), 
	CONSTRAINT ck_bills_total_units_nonneg CHECK (total_units >= 0), 
	CONSTRAINT ck_bills_rate_nonneg CHECK (rate_per_unit >= 0), 
	CONSTRAINT ck_bills_fixed_charge_nonneg CHECK (fixed_charge >= 0), 
	CONSTRAINT ck_bills_previous_outstanding_nonneg CHECK (previous_outstanding >= 0), 
	CONSTRAINT ck_bills_total_amount_nonneg CHECK (total_amount >= 0), 
	CONSTRAINT ck_bills_amount_paid_range CHECK (amount_paid >= 0 AND amount_paid <= total_amount), 
	CONSTRAINT ck_bills_status_valid CHECK (status IN ('pending', 'partially_paid', 'paid', 'overdue', 'carried_forward', 'cancelled', 'superseded')), 
	CONSTRAINT fk_bills_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id), 
	CONSTRAINT fk_bills_area_id_areas FOREIGN KEY(area_id) REFERENCES areas (id), 
	CONSTRAINT fk_bills_tariff_plan_version_id_tariff_plan_versions FOREIGN KEY(tariff_plan_version_id) REFERENCES tariff_plan_versions (id), 
	CONSTRAINT fk_bills_carried_forward_to_bills FOREIGN KEY(carried_forward_to) REFERENCES bills (id), 
	CONSTRAINT fk_bills_last_reading_id_readings FOREIGN KEY(last_reading_id) REFERENCES readings (id), 
	CONSTRAINT fk_bills_motor_reading_id_readings FOREIGN KEY(motor_reading_id) REFERENCES readings (id), 
	CONSTRAINT fk_bills_first_reading_id_readings FOREIGN KEY(first_reading_id) REFERENCES readings (id), 
	CONSTRAINT fk_bills_reissue_of_bills FOREIGN KEY(reissue_of) REFERENCES bills (id), 
	CONSTRAINT fk_bills_superseded_by_bills FOREIGN KEY(superseded_by) REFERENCES bills (id), 
	CONSTRAINT fk_bills_bill_run_id_bill_runs FOREIGN KEY(bill_run_id) REFERENCES bill_runs (id), 
	CONSTRAINT fk_bills_created_by_users FOREIGN KEY(created_by) REFERENCES users (id)
);

CREATE TABLE IF NOT EXISTS daily_usage (
	id BIGSERIAL NOT NULL, 
	account_id BIGINT NOT NULL, 
	meter_id BIGINT, 
	usage_date DATE NOT NULL, 
	quantity NUMERIC(12, 2) NOT NULL, 
	source VARCHAR(16) DEFAULT 'import' NOT NULL, 
	created_by BIGINT, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	reading_id BIGINT, 
	CONSTRAINT pk_daily_usage PRIMARY KEY (id), 
	CONSTRAINT ck_daily_usage_quantity_nonneg CHECK (quantity >= 0), 
	CONSTRAINT uq_daily_usage_account_id_usage_date UNIQUE (account_id, usage_date), 
	CONSTRAINT fk_daily_usage_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id), 
	CONSTRAINT fk_daily_usage_meter_id_meters FOREIGN KEY(meter_id) REFERENCES meters (id), 
	CONSTRAINT fk_daily_usage_created_by_users FOREIGN KEY(created_by) REFERENCES users (id), 
	CONSTRAINT fk_daily_usage_reading_id_readings FOREIGN KEY(reading_id) REFERENCES readings (id)
);

CREATE TABLE IF NOT EXISTS meter_changes (
	id BIGSERIAL NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	old_meter_id BIGINT NOT NULL, 
	new_meter_id BIGINT NOT NULL, 
	change_date DATE NOT NULL, 
	final_reading_id BIGINT NOT NULL, 
	start_reading_id BIGINT NOT NULL, 
	reason TEXT NOT NULL, 
	recorded_by BIGINT, 
	recorded_by_name VARCHAR(64) DEFAULT 'system' NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_meter_changes PRIMARY KEY (id), 
	CONSTRAINT uq_meter_changes_start_reading_id UNIQUE (start_reading_id), 
	CONSTRAINT ck_meter_changes_kind_valid CHECK (kind IN ('replacement', 'rollover')), 
	CONSTRAINT ck_meter_changes_rollover_same_meter CHECK ((kind = 'rollover') = (new_meter_id = old_meter_id)), 
	CONSTRAINT ck_meter_changes_two_readings CHECK (final_reading_id <> start_reading_id), 
	CONSTRAINT fk_meter_changes_old_meter_id_meters FOREIGN KEY(old_meter_id) REFERENCES meters (id), 
	CONSTRAINT fk_meter_changes_new_meter_id_meters FOREIGN KEY(new_meter_id) REFERENCES meters (id), 
	CONSTRAINT fk_meter_changes_final_reading_id_readings FOREIGN KEY(final_reading_id) REFERENCES readings (id), 
	CONSTRAINT fk_meter_changes_start_reading_id_readings FOREIGN KEY(start_reading_id) REFERENCES readings (id), 
	CONSTRAINT fk_meter_changes_recorded_by_users FOREIGN KEY(recorded_by) REFERENCES users (id)
);

CREATE TABLE IF NOT EXISTS photo_hashes (
	id BIGSERIAL NOT NULL, 
	reading_id BIGINT NOT NULL, 
	meter_id BIGINT NOT NULL, 
	reading_date DATE NOT NULL, 
	phash VARCHAR(16) NOT NULL, 
	band0 INTEGER NOT NULL, 
	band1 INTEGER NOT NULL, 
	band2 INTEGER NOT NULL, 
	band3 INTEGER NOT NULL, 
	taken_at TIMESTAMP WITHOUT TIME ZONE, 
	photo_ref VARCHAR(512), 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_photo_hashes PRIMARY KEY (id), 
	CONSTRAINT uq_photo_hashes_reading_id UNIQUE (reading_id), 
	CONSTRAINT ck_photo_hashes_bands_16bit CHECK (band0 BETWEEN 0 AND 65535 AND band1 BETWEEN 0 AND 65535 AND band2 BETWEEN 0 AND 65535 AND band3 BETWEEN 0 AND 65535), 
	CONSTRAINT fk_photo_hashes_reading_id_readings FOREIGN KEY(reading_id) REFERENCES readings (id), 
	CONSTRAINT fk_photo_hashes_meter_id_meters FOREIGN KEY(meter_id) REFERENCES meters (id)
);

CREATE TABLE IF NOT EXISTS bill_lines (
	id BIGSERIAL NOT NULL, 
	bill_id BIGINT NOT NULL, 
	seq INTEGER NOT NULL, 
	code VARCHAR(32) NOT NULL, 
	label VARCHAR(128) NOT NULL, 
	quantity NUMERIC(14, 2), 
	unit VARCHAR(8), 
	rate NUMERIC(10, 4), 
	amount NUMERIC(14, 2) NOT NULL, 
	CONSTRAINT pk_bill_lines PRIMARY KEY (id), 
	CONSTRAINT uq_bill_lines_bill_id_seq UNIQUE (bill_id, seq), 
	CONSTRAINT fk_bill_lines_bill_id_bills FOREIGN KEY(bill_id) REFERENCES bills (id)
);

CREATE TABLE IF NOT EXISTS bill_readings (
	id BIGSERIAL NOT NULL, 
	bill_id BIGINT NOT NULL, 
	reading_id BIGINT NOT NULL, 
	units NUMERIC(12, 2) NOT NULL, 
	motor_units NUMERIC(12, 2) DEFAULT '0' NOT NULL, 
	superseded_by BIGINT, 
	CONSTRAINT pk_bill_readings PRIMARY KEY (id), 
	CONSTRAINT ck_bill_readings_units_nonneg CHECK (units >= 0), 
	CONSTRAINT ck_bill_readings_motor_units_nonneg CHECK (motor_units >= 0), 
	CONSTRAINT uq_bill_readings_bill_id_reading_id UNIQUE (bill_id, reading_id), 
	CONSTRAINT fk_bill_readings_bill_id_bills FOREIGN KEY(bill_id) REFERENCES bills (id), 
	CONSTRAINT fk_bill_readings_reading_id_readings FOREIGN KEY(reading_id) REFERENCES readings (id), 
	CONSTRAINT fk_bill_readings_superseded_by_bills FOREIGN KEY(superseded_by) REFERENCES bills (id)
);

CREATE TABLE IF NOT EXISTS bill_seals (
	seq BIGINT NOT NULL, 
	bill_id BIGINT NOT NULL, 
	prev_hash VARCHAR(64) NOT NULL, 
	hash VARCHAR(64) NOT NULL, 
	sealed_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	CONSTRAINT pk_bill_seals PRIMARY KEY (seq), 
	CONSTRAINT uq_bill_seals_bill_id UNIQUE (bill_id), 
	CONSTRAINT ck_bill_seals_seq_positive CHECK (seq >= 1), 
	CONSTRAINT fk_bill_seals_bill_id_bills FOREIGN KEY(bill_id) REFERENCES bills (id)
);

CREATE TABLE IF NOT EXISTS notifications (
	id BIGSERIAL NOT NULL, 
	bill_id BIGINT, 
	contact_id BIGINT, 
	kind VARCHAR(32) NOT NULL, 
	channel VARCHAR(16) NOT NULL, 
	recipient VARCHAR(254), 
	message TEXT NOT NULL, 
	status VARCHAR(16) DEFAULT 'pending' NOT NULL, 
	provider_message_id VARCHAR(255), 
	error TEXT, 
	attempts INTEGER DEFAULT '0' NOT NULL, 
	resend_of BIGINT, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	sent_at TIMESTAMP WITH TIME ZONE, 
	CONSTRAINT pk_notifications PRIMARY KEY (id), 
	CONSTRAINT ck_notifications_status_valid CHECK (status IN ('pending', 'sent', 'failed', 'skipped')), 
	CONSTRAINT ck_notifications_attempts_nonneg CHECK (attempts >= 0), 
	CONSTRAINT fk_notifications_bill_id_bills FOREIGN KEY(bill_id) REFERENCES bills (id), 
	CONSTRAINT fk_notifications_contact_id_contacts FOREIGN KEY(contact_id) REFERENCES contacts (id), 
	CONSTRAINT fk_notifications_resend_of_notifications FOREIGN KEY(resend_of) REFERENCES notifications (id)
);

CREATE TABLE IF NOT EXISTS payment_events (
	id BIGSERIAL NOT NULL, 
	bill_id BIGINT, 
	provider VARCHAR(16) DEFAULT 'stripe' NOT NULL, 
	event_type VARCHAR(64) NOT NULL, 
	stripe_event_id VARCHAR(255), 
	payment_link_id VARCHAR(128), 
	amount NUMERIC(14, 2), 
	currency VARCHAR(8), 
	outcome VARCHAR(32) NOT NULL, 
	event_data JSONB, 
	received_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_payment_events PRIMARY KEY (id), 
	CONSTRAINT fk_payment_events_bill_id_bills FOREIGN KEY(bill_id) REFERENCES bills (id), 
	CONSTRAINT uq_payment_events_stripe_event_id UNIQUE (stripe_event_id)
);

CREATE TABLE IF NOT EXISTS payments (
	id BIGSERIAL NOT NULL, 
	bill_id BIGINT NOT NULL, 
	amount NUMERIC(14, 2) NOT NULL, 
	paid_on DATE NOT NULL, 
	method VARCHAR(32) NOT NULL, 
	reference VARCHAR(128), 
	external_id VARCHAR(255), 
	credit_from_bill BIGINT, 
	recorded_by BIGINT, 
	recorded_by_name VARCHAR(64) DEFAULT 'system' NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_payments PRIMARY KEY (id), 
	CONSTRAINT ck_payments_amount_positive CHECK (amount > 0), 
	CONSTRAINT fk_payments_bill_id_bills FOREIGN KEY(bill_id) REFERENCES bills (id), 
	CONSTRAINT uq_payments_external_id UNIQUE (external_id), 
	CONSTRAINT fk_payments_credit_from_bill_bills FOREIGN KEY(credit_from_bill) REFERENCES bills (id), 
	CONSTRAINT fk_payments_recorded_by_users FOREIGN KEY(recorded_by) REFERENCES users (id)
);

CREATE TABLE IF NOT EXISTS tickets (
	id BIGSERIAL NOT NULL, 
	account_id BIGINT NOT NULL, 
	area_id BIGINT NOT NULL, 
	kind VARCHAR(24) NOT NULL, 
	description TEXT NOT NULL, 
	source VARCHAR(8) DEFAULT 'unit' NOT NULL, 
	bill_id BIGINT, 
	visit_id BIGINT, 
	proposed_change JSONB, 
	raised_by BIGINT, 
	raised_by_name VARCHAR(64) NOT NULL, 
	raised_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	assignee_id BIGINT, 
	assignee_name VARCHAR(64), 
	applied JSONB, 
	status VARCHAR(16) DEFAULT 'pending' NOT NULL, 
	reviewed_by BIGINT, 
	reviewed_by_name VARCHAR(64), 
	reviewed_at TIMESTAMP WITH TIME ZONE, 
	review_reason TEXT, 
	CONSTRAINT pk_tickets PRIMARY KEY (id), 
	CONSTRAINT ck_tickets_status_valid CHECK (status IN ('pending', 'approved', 'rejected')), 
	CONSTRAINT ck_tickets_decided_has_reviewer CHECK ((status = 'pending') = (reviewed_at IS NULL AND reviewed_by_name IS NULL)), 
	CONSTRAINT ck_tickets_rejected_has_reason CHECK (status <> 'rejected' OR (review_reason IS NOT NULL AND review_reason <> '')), 
	CONSTRAINT ck_tickets_kind_valid CHECK (kind IN ('wrong_category', 'closed_business', 'duplicate_unit', 'wrong_reading', 'meter_fault', 'payment_not_posted', 'other')), 
	CONSTRAINT ck_tickets_source_valid CHECK (source IN ('unit', 'bill', 'visit', 'portal')), 
	CONSTRAINT ck_tickets_description_given CHECK (description <> ''), 
	CONSTRAINT ck_tickets_applied_only_when_approved CHECK (applied IS NULL OR status = 'approved'), 
	CONSTRAINT fk_tickets_account_id_accounts FOREIGN KEY(account_id) REFERENCES accounts (id), 
	CONSTRAINT fk_tickets_area_id_areas FOREIGN KEY(area_id) REFERENCES areas (id), 
	CONSTRAINT fk_tickets_bill_id_bills FOREIGN KEY(bill_id) REFERENCES bills (id), 
	CONSTRAINT fk_tickets_visit_id_field_visits FOREIGN KEY(visit_id) REFERENCES field_visits (id), 
	CONSTRAINT fk_tickets_raised_by_users FOREIGN KEY(raised_by) REFERENCES users (id), 
	CONSTRAINT fk_tickets_assignee_id_users FOREIGN KEY(assignee_id) REFERENCES users (id), 
	CONSTRAINT fk_tickets_reviewed_by_users FOREIGN KEY(reviewed_by) REFERENCES users (id)
);

CREATE TABLE IF NOT EXISTS ticket_attachments (
	id BIGSERIAL NOT NULL, 
	ticket_id BIGINT NOT NULL, 
	photo_ref VARCHAR(512) NOT NULL, 
	photo_url VARCHAR(1024), 
	added_by_name VARCHAR(64) NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_ticket_attachments PRIMARY KEY (id), 
	CONSTRAINT fk_ticket_attachments_ticket_id_tickets FOREIGN KEY(ticket_id) REFERENCES tickets (id)
);

CREATE TABLE IF NOT EXISTS ticket_comments (
	id BIGSERIAL NOT NULL, 
	ticket_id BIGINT NOT NULL, 
	author_id BIGINT, 
	author_name VARCHAR(64) NOT NULL, 
	body TEXT NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
	CONSTRAINT pk_ticket_comments PRIMARY KEY (id), 
	CONSTRAINT ck_ticket_comments_body_given CHECK (body <> ''), 
	CONSTRAINT fk_ticket_comments_ticket_id_tickets FOREIGN KEY(ticket_id) REFERENCES tickets (id), 
	CONSTRAINT fk_ticket_comments_author_id_users FOREIGN KEY(author_id) REFERENCES users (id)
);

-- Columns added to schema.py after a database was created (no-op on a current database).

ALTER TABLE archived_bill_lines ADD COLUMN IF NOT EXISTS bill_id BIGINT NOT NULL;

ALTER TABLE archived_bill_lines ADD COLUMN IF NOT EXISTS seq INTEGER NOT NULL;

ALTER TABLE archived_bill_lines ADD COLUMN IF NOT EXISTS code VARCHAR(32) NOT NULL;

ALTER TABLE archived_bill_lines ADD COLUMN IF NOT EXISTS label VARCHAR(128) NOT NULL;

ALTER TABLE archived_bill_lines ADD COLUMN IF NOT EXISTS quantity NUMERIC(14, 2);

ALTER TABLE archived_bill_lines ADD COLUMN IF NOT EXISTS unit VARCHAR(8);

ALTER TABLE archived_bill_lines ADD COLUMN IF NOT EXISTS rate NUMERIC(10, 4);

ALTER TABLE archived_bill_lines ADD COLUMN IF NOT EXISTS amount NUMERIC(14, 2) NOT NULL;

ALTER TABLE archived_bill_readings ADD COLUMN IF NOT EXISTS bill_id BIGINT NOT NULL;

ALTER TABLE archived_bill_readings ADD COLUMN IF NOT EXISTS reading_id BIGINT NOT NULL;

ALTER TABLE archived_bill_readings ADD COLUMN IF NOT EXISTS units NUMERIC(12, 2) NOT NULL;

ALTER TABLE archived_bill_readings ADD COLUMN IF NOT EXISTS motor_units NUMERIC(12, 2) NOT NULL;

ALTER TABLE archived_bill_readings ADD COLUMN IF NOT EXISTS superseded_by BIGINT;

ALTER TABLE archived_bill_seals ADD COLUMN IF NOT EXISTS bill_id BIGINT NOT NULL;

ALTER TABLE archived_bill_seals ADD COLUMN IF NOT EXISTS prev_hash VARCHAR(64) NOT NULL;

ALTER TABLE archived_bill_seals ADD COLUMN IF NOT EXISTS hash VARCHAR(64) NOT NULL;

ALTER TABLE archived_bill_seals ADD COLUMN IF NOT EXISTS sealed_at TIMESTAMP WITH TIME ZONE NOT NULL;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS account_id BIGINT NOT NULL;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS service VARCHAR(16) NOT NULL;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS area_id BIGINT NOT NULL;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS billing_period_start DATE NOT NULL;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS billing_period_end DATE NOT NULL;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS due_date DATE NOT NULL;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS tariff_kind VARCHAR(32) NOT NULL;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS pricing_rule VARCHAR(32) NOT NULL;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS tariff_plan_version_id BIGINT NOT NULL;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS category VARCHAR(32);

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS units NUMERIC(12, 2) NOT NULL;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS motor_units NUMERIC(12, 2) NOT NULL;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS total_units NUMERIC(12, 2) NOT NULL;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS rate_per_unit NUMERIC(10, 4) NOT NULL;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS fixed_charge NUMERIC(14, 2) NOT NULL;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS previous_outstanding NUMERIC(14, 2) NOT NULL;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS tariff_details JSONB;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS total_amount NUMERIC(14, 2) NOT NULL;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS status VARCHAR(16) NOT NULL;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS amount_paid NUMERIC(14, 2) NOT NULL;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS paid_at TIMESTAMP WITH TIME ZONE;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS carried_forward_to BIGINT;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS overdue_notified_at TIMESTAMP WITH TIME ZONE;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS payment_link_id VARCHAR(128);

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS payment_link_url VARCHAR(1024);

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS psid VARCHAR(17);

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS last_reading_id BIGINT;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS motor_reading_id BIGINT;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS first_reading_id BIGINT;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS usage_from DATE;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS usage_to DATE;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS reissue_of BIGINT;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS superseded_by BIGINT;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS bill_run_id BIGINT;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS created_by BIGINT;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS created_by_name VARCHAR(64) NOT NULL;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE NOT NULL;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS updated_at TIMESTAMP WITH TIME ZONE NOT NULL;

ALTER TABLE archived_bills ADD COLUMN IF NOT EXISTS bill_number VARCHAR(32);

ALTER TABLE archived_notifications ADD COLUMN IF NOT EXISTS bill_id BIGINT;

ALTER TABLE archived_notifications ADD COLUMN IF NOT EXISTS contact_id BIGINT;

ALTER TABLE archived_notifications ADD COLUMN IF NOT EXISTS kind VARCHAR(32) NOT NULL;

ALTER TABLE archived_notifications ADD COLUMN IF NOT EXISTS channel VARCHAR(16) NOT NULL;

ALTER TABLE archived_notifications ADD COLUMN IF NOT EXISTS recipient VARCHAR(254);

ALTER TABLE archived_notifications ADD COLUMN IF NOT EXISTS message TEXT NOT NULL;

ALTER TABLE archived_notifications ADD COLUMN IF NOT EXISTS status VARCHAR(16) NOT NULL;

ALTER TABLE archived_notifications ADD COLUMN IF NOT EXISTS provider_message_id VARCHAR(255);

ALTER TABLE archived_notifications ADD COLUMN IF NOT EXISTS error TEXT;

ALTER TABLE archived_notifications ADD COLUMN IF NOT EXISTS attempts INTEGER NOT NULL;

ALTER TABLE archived_notifications ADD COLUMN IF NOT EXISTS resend_of BIGINT;

ALTER TABLE archived_notifications ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE NOT NULL;

ALTER TABLE archived_notifications ADD COLUMN IF NOT EXISTS sent_at TIMESTAMP WITH TIME ZONE;

ALTER TABLE archived_payment_events ADD COLUMN IF NOT EXISTS bill_id BIGINT;

ALTER TABLE archived_payment_events ADD COLUMN IF NOT EXISTS provider VARCHAR(16) NOT NULL;

ALTER TABLE archived_payment_events ADD COLUMN IF NOT EXISTS event_type VARCHAR(64) NOT NULL;

ALTER TABLE archived_payment_events ADD COLUMN IF NOT EXISTS stripe_event_id VARCHAR(255);

ALTER TABLE archived_payment_events ADD COLUMN IF NOT EXISTS payment_link_id VARCHAR(128);

ALTER TABLE archived_payment_events ADD COLUMN IF NOT EXISTS amount NUMERIC(14, 2);

ALTER TABLE archived_payment_events ADD COLUMN IF NOT EXISTS currency VARCHAR(8);

ALTER TABLE archived_payment_events ADD COLUMN IF NOT EXISTS outcome VARCHAR(32) NOT NULL;

ALTER TABLE archived_payment_events ADD COLUMN IF NOT EXISTS event_data JSONB;

ALTER TABLE archived_payment_events ADD COLUMN IF NOT EXISTS received_at TIMESTAMP WITH TIME ZONE NOT NULL;

ALTER TABLE archived_payments ADD COLUMN IF NOT EXISTS bill_id BIGINT NOT NULL;

ALTER TABLE archived_payments ADD COLUMN IF NOT EXISTS amount NUMERIC(14, 2) NOT NULL;

ALTER TABLE archived_payments ADD COLUMN IF NOT EXISTS paid_on DATE NOT NULL;

ALTER TABLE archived_payments ADD COLUMN IF NOT EXISTS method VARCHAR(32) NOT NULL;

ALTER TABLE archived_payments ADD COLUMN IF NOT EXISTS reference VARCHAR(128);

ALTER TABLE archived_payments ADD COLUMN IF NOT EXISTS external_id VARCHAR(255);

ALTER TABLE archived_payments ADD COLUMN IF NOT EXISTS credit_from_bill BIGINT;

ALTER TABLE archived_payments ADD COLUMN IF NOT EXISTS recorded_by BIGINT;

ALTER TABLE archived_payments ADD COLUMN IF NOT EXISTS recorded_by_name VARCHAR(64) NOT NULL;

ALTER TABLE archived_payments ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE NOT NULL;

ALTER TABLE areas ADD COLUMN IF NOT EXISTS parent_id BIGINT REFERENCES areas (id);

ALTER TABLE areas ADD COLUMN IF NOT EXISTS level INTEGER NOT NULL;

ALTER TABLE areas ADD COLUMN IF NOT EXISTS code VARCHAR(32) NOT NULL;

ALTER TABLE areas ADD COLUMN IF NOT EXISTS name VARCHAR(128) NOT NULL;

ALTER TABLE areas ADD COLUMN IF NOT EXISTS path VARCHAR(255) NOT NULL;

ALTER TABLE areas ADD COLUMN IF NOT EXISTS kind VARCHAR(32);

ALTER TABLE areas ADD COLUMN IF NOT EXISTS sort_order INTEGER DEFAULT '0' NOT NULL;

ALTER TABLE areas ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE bill_archive_months ADD COLUMN IF NOT EXISTS bills BIGINT NOT NULL;

ALTER TABLE bill_archive_months ADD COLUMN IF NOT EXISTS total_amount NUMERIC(14, 2) NOT NULL;

ALTER TABLE bill_archive_months ADD COLUMN IF NOT EXISTS amount_paid NUMERIC(14, 2) NOT NULL;

ALTER TABLE bill_archive_months ADD COLUMN IF NOT EXISTS lines BIGINT NOT NULL;

ALTER TABLE bill_archive_months ADD COLUMN IF NOT EXISTS line_amount NUMERIC(14, 2) NOT NULL;

ALTER TABLE bill_archive_months ADD COLUMN IF NOT EXISTS payments BIGINT NOT NULL;

ALTER TABLE bill_archive_months ADD COLUMN IF NOT EXISTS payment_amount NUMERIC(14, 2) NOT NULL;

ALTER TABLE bill_archive_months ADD COLUMN IF NOT EXISTS other_rows BIGINT NOT NULL;

ALTER TABLE bill_archive_months ADD COLUMN IF NOT EXISTS kept_live BIGINT NOT NULL;

ALTER TABLE bill_archive_months ADD COLUMN IF NOT EXISTS archived_at TIMESTAMP WITH TIME ZONE NOT NULL;

ALTER TABLE bill_archive_months ADD COLUMN IF NOT EXISTS archived_by VARCHAR(64) NOT NULL;

ALTER TABLE bill_archive_months ADD COLUMN IF NOT EXISTS archived_by_id BIGINT;

ALTER TABLE bill_month_totals ADD COLUMN IF NOT EXISTS bills BIGINT NOT NULL;

ALTER TABLE bill_month_totals ADD COLUMN IF NOT EXISTS units BIGINT NOT NULL;

ALTER TABLE bill_month_totals ADD COLUMN IF NOT EXISTS billed BIGINT NOT NULL;

ALTER TABLE bill_month_totals ADD COLUMN IF NOT EXISTS due BIGINT NOT NULL;

ALTER TABLE bill_month_totals ADD COLUMN IF NOT EXISTS paid BIGINT NOT NULL;

ALTER TABLE bill_number_series ADD COLUMN IF NOT EXISTS last_number BIGINT DEFAULT '0' NOT NULL;

ALTER TABLE contacts ADD COLUMN IF NOT EXISTS name VARCHAR(128) NOT NULL;

ALTER TABLE contacts ADD COLUMN IF NOT EXISTS phone VARCHAR(20);

ALTER TABLE contacts ADD COLUMN IF NOT EXISTS email VARCHAR(254);

ALTER TABLE contacts ADD COLUMN IF NOT EXISTS address VARCHAR(255);

ALTER TABLE contacts ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE job_runs ADD COLUMN IF NOT EXISTS job_id VARCHAR(64) NOT NULL;

ALTER TABLE job_runs ADD COLUMN IF NOT EXISTS run_key VARCHAR(64) NOT NULL;

ALTER TABLE job_runs ADD COLUMN IF NOT EXISTS status VARCHAR(16) DEFAULT 'running' NOT NULL;

ALTER TABLE job_runs ADD COLUMN IF NOT EXISTS counts JSONB;

ALTER TABLE job_runs ADD COLUMN IF NOT EXISTS error TEXT;

ALTER TABLE job_runs ADD COLUMN IF NOT EXISTS host VARCHAR(128);

ALTER TABLE job_runs ADD COLUMN IF NOT EXISTS started_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE job_runs ADD COLUMN IF NOT EXISTS finished_at TIMESTAMP WITH TIME ZONE;

ALTER TABLE master_data_staging ADD COLUMN IF NOT EXISTS changes JSONB NOT NULL;

ALTER TABLE master_data_staging ADD COLUMN IF NOT EXISTS staged_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE motors ADD COLUMN IF NOT EXISTS code VARCHAR(32) NOT NULL;

ALTER TABLE motors ADD COLUMN IF NOT EXISTS name VARCHAR(128) DEFAULT '' NOT NULL;

ALTER TABLE motors ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE period_locks ADD COLUMN IF NOT EXISTS month VARCHAR(7) NOT NULL;

ALTER TABLE period_locks ADD COLUMN IF NOT EXISTS reason TEXT DEFAULT '' NOT NULL;

ALTER TABLE period_locks ADD COLUMN IF NOT EXISTS locked_by VARCHAR(64) DEFAULT 'system' NOT NULL;

ALTER TABLE period_locks ADD COLUMN IF NOT EXISTS locked_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE period_locks ADD COLUMN IF NOT EXISTS bill_count_at_lock INTEGER;

ALTER TABLE schema_info ADD COLUMN IF NOT EXISTS value VARCHAR(255) NOT NULL;

ALTER TABLE tariff_plans ADD COLUMN IF NOT EXISTS code VARCHAR(64) NOT NULL;

ALTER TABLE tariff_plans ADD COLUMN IF NOT EXISTS name VARCHAR(128) NOT NULL;

ALTER TABLE tariff_plans ADD COLUMN IF NOT EXISTS kind VARCHAR(32) NOT NULL;

ALTER TABLE tariff_plans ADD COLUMN IF NOT EXISTS service VARCHAR(16) NOT NULL;

ALTER TABLE tariff_plans ADD COLUMN IF NOT EXISTS unit VARCHAR(8);

ALTER TABLE tariff_plans ADD COLUMN IF NOT EXISTS currency VARCHAR(3) NOT NULL;

ALTER TABLE tariff_plans ADD COLUMN IF NOT EXISTS notes TEXT;

ALTER TABLE tariff_plans ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE usage_day_index ADD COLUMN IF NOT EXISTS accounts INTEGER NOT NULL;

ALTER TABLE usage_day_index ADD COLUMN IF NOT EXISTS mean NUMERIC(14, 6) NOT NULL;

ALTER TABLE users ADD COLUMN IF NOT EXISTS username VARCHAR(64) NOT NULL;

ALTER TABLE users ADD COLUMN IF NOT EXISTS display_name VARCHAR(128) DEFAULT '' NOT NULL;

ALTER TABLE users ADD COLUMN IF NOT EXISTS email VARCHAR(254);

ALTER TABLE users ADD COLUMN IF NOT EXISTS role VARCHAR(32) NOT NULL;

ALTER TABLE users ADD COLUMN IF NOT EXISTS password_hash VARCHAR(255);

ALTER TABLE users ADD COLUMN IF NOT EXISTS auth_provider VARCHAR(16) DEFAULT 'local' NOT NULL;

ALTER TABLE users ADD COLUMN IF NOT EXISTS is_active BOOLEAN DEFAULT true NOT NULL;

ALTER TABLE users ADD COLUMN IF NOT EXISTS failed_login_count INTEGER DEFAULT '0' NOT NULL;

ALTER TABLE users ADD COLUMN IF NOT EXISTS locked_until TIMESTAMP WITH TIME ZONE;

ALTER TABLE users ADD COLUMN IF NOT EXISTS login_attempts_in_flight INTEGER DEFAULT '0' NOT NULL;

ALTER TABLE users ADD COLUMN IF NOT EXISTS login_attempt_at TIMESTAMP WITH TIME ZONE;

ALTER TABLE users ADD COLUMN IF NOT EXISTS password_changed_at TIMESTAMP WITH TIME ZONE;

ALTER TABLE users ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE users ADD COLUMN IF NOT EXISTS updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE utility_settings ADD COLUMN IF NOT EXISTS template VARCHAR(16) NOT NULL;

ALTER TABLE utility_settings ADD COLUMN IF NOT EXISTS name VARCHAR(128) NOT NULL;

ALTER TABLE utility_settings ADD COLUMN IF NOT EXISTS short_code VARCHAR(8) NOT NULL;

ALTER TABLE utility_settings ADD COLUMN IF NOT EXISTS currency VARCHAR(3) NOT NULL;

ALTER TABLE utility_settings ADD COLUMN IF NOT EXISTS locale VARCHAR(16) NOT NULL;

ALTER TABLE utility_settings ADD COLUMN IF NOT EXISTS timezone VARCHAR(64) NOT NULL;

ALTER TABLE utility_settings ADD COLUMN IF NOT EXISTS account_label VARCHAR(32) NOT NULL;

ALTER TABLE utility_settings ADD COLUMN IF NOT EXISTS account_label_plural VARCHAR(32) NOT NULL;

ALTER TABLE utility_settings ADD COLUMN IF NOT EXISTS area_levels JSONB NOT NULL;

ALTER TABLE utility_settings ADD COLUMN IF NOT EXISTS service VARCHAR(16) NOT NULL;

ALTER TABLE utility_settings ADD COLUMN IF NOT EXISTS quantity_unit VARCHAR(8);

ALTER TABLE utility_settings ADD COLUMN IF NOT EXISTS billing_day INTEGER NOT NULL;

ALTER TABLE utility_settings ADD COLUMN IF NOT EXISTS due_days INTEGER NOT NULL;

ALTER TABLE utility_settings ADD COLUMN IF NOT EXISTS plan_file VARCHAR(255) NOT NULL;

ALTER TABLE utility_settings ADD COLUMN IF NOT EXISTS updated_by VARCHAR(64) DEFAULT 'system' NOT NULL;

ALTER TABLE utility_settings ADD COLUMN IF NOT EXISTS updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE accounts ADD COLUMN IF NOT EXISTS code VARCHAR(32) NOT NULL;

ALTER TABLE accounts ADD COLUMN IF NOT EXISTS name VARCHAR(128) DEFAULT '' NOT NULL;

ALTER TABLE accounts ADD COLUMN IF NOT EXISTS area_id BIGINT NOT NULL REFERENCES areas (id);

ALTER TABLE accounts ADD COLUMN IF NOT EXISTS category VARCHAR(32);

ALTER TABLE accounts ADD COLUMN IF NOT EXISTS account_type VARCHAR(32);

ALTER TABLE accounts ADD COLUMN IF NOT EXISTS is_active BOOLEAN DEFAULT true NOT NULL;

ALTER TABLE accounts ADD COLUMN IF NOT EXISTS address VARCHAR(255);

ALTER TABLE accounts ADD COLUMN IF NOT EXISTS gps_lat NUMERIC(9, 6);

ALTER TABLE accounts ADD COLUMN IF NOT EXISTS gps_lon NUMERIC(9, 6);

ALTER TABLE accounts ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE accounts ADD COLUMN IF NOT EXISTS updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS occurred_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS actor_id BIGINT REFERENCES users (id);

ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS actor_name VARCHAR(64) NOT NULL;

ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS client VARCHAR(128);

ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS action VARCHAR(64) NOT NULL;

ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS entity_type VARCHAR(32);

ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS entity_id VARCHAR(64);

ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS details JSONB;

ALTER TABLE bank_files ADD COLUMN IF NOT EXISTS file_name VARCHAR(255) NOT NULL;

ALTER TABLE bank_files ADD COLUMN IF NOT EXISTS sha256 VARCHAR(64) NOT NULL;

ALTER TABLE bank_files ADD COLUMN IF NOT EXISTS row_count INTEGER NOT NULL;

ALTER TABLE bank_files ADD COLUMN IF NOT EXISTS matched_count INTEGER NOT NULL;

ALTER TABLE bank_files ADD COLUMN IF NOT EXISTS duplicate_count INTEGER NOT NULL;

ALTER TABLE bank_files ADD COLUMN IF NOT EXISTS refused_count INTEGER NOT NULL;

ALTER TABLE bank_files ADD COLUMN IF NOT EXISTS matched_amount NUMERIC(14, 2) NOT NULL;

ALTER TABLE bank_files ADD COLUMN IF NOT EXISTS duplicate_amount NUMERIC(14, 2) NOT NULL;

ALTER TABLE bank_files ADD COLUMN IF NOT EXISTS refused_amount NUMERIC(14, 2) NOT NULL;

ALTER TABLE bank_files ADD COLUMN IF NOT EXISTS imported_by BIGINT REFERENCES users (id);

ALTER TABLE bank_files ADD COLUMN IF NOT EXISTS imported_by_name VARCHAR(64) DEFAULT 'system' NOT NULL;

ALTER TABLE bank_files ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS billing_period_start DATE NOT NULL;

ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS billing_period_end DATE NOT NULL;

ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS due_date DATE NOT NULL;

ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS service VARCHAR(16) DEFAULT 'electricity' NOT NULL;

ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS area_id BIGINT REFERENCES areas (id);

ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS status VARCHAR(16) DEFAULT 'running' NOT NULL;

ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS created_count INTEGER DEFAULT '0' NOT NULL;

ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS skipped_count INTEGER DEFAULT '0' NOT NULL;

ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS refused_count INTEGER DEFAULT '0' NOT NULL;

ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS total_amount NUMERIC(14, 2) DEFAULT '0' NOT NULL;

ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS error TEXT;

ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS started_by VARCHAR(64) DEFAULT 'system' NOT NULL;

ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS started_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE bill_runs ADD COLUMN IF NOT EXISTS finished_at TIMESTAMP WITH TIME ZONE;

ALTER TABLE consumer_pattern_totals ADD COLUMN IF NOT EXISTS billed INTEGER NOT NULL;

ALTER TABLE consumer_pattern_totals ADD COLUMN IF NOT EXISTS on_time INTEGER NOT NULL;

ALTER TABLE consumer_pattern_totals ADD COLUMN IF NOT EXISTS late INTEGER NOT NULL;

ALTER TABLE consumer_pattern_totals ADD COLUMN IF NOT EXISTS partial INTEGER NOT NULL;

ALTER TABLE consumer_pattern_totals ADD COLUMN IF NOT EXISTS never_paid INTEGER NOT NULL;

ALTER TABLE consumer_pattern_totals ADD COLUMN IF NOT EXISTS computed_at TIMESTAMP WITH TIME ZONE NOT NULL;

ALTER TABLE customer_preferences ADD COLUMN IF NOT EXISTS enabled BOOLEAN NOT NULL;

ALTER TABLE customer_preferences ADD COLUMN IF NOT EXISTS updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE tariff_plan_versions ADD COLUMN IF NOT EXISTS plan_id BIGINT NOT NULL REFERENCES tariff_plans (id);

ALTER TABLE tariff_plan_versions ADD COLUMN IF NOT EXISTS version INTEGER NOT NULL;

ALTER TABLE tariff_plan_versions ADD COLUMN IF NOT EXISTS effective_from DATE NOT NULL;

ALTER TABLE tariff_plan_versions ADD COLUMN IF NOT EXISTS params JSONB NOT NULL;

ALTER TABLE tariff_plan_versions ADD COLUMN IF NOT EXISTS notes TEXT;

ALTER TABLE tariff_plan_versions ADD COLUMN IF NOT EXISTS created_by_name VARCHAR(64) DEFAULT 'system' NOT NULL;

ALTER TABLE tariff_plan_versions ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE user_areas ADD COLUMN IF NOT EXISTS user_id BIGINT NOT NULL REFERENCES users (id);

ALTER TABLE user_areas ADD COLUMN IF NOT EXISTS area_id BIGINT NOT NULL REFERENCES areas (id);

ALTER TABLE user_areas ADD COLUMN IF NOT EXISTS assigned_by_name VARCHAR(64) DEFAULT 'system' NOT NULL;

ALTER TABLE user_areas ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE user_sessions ADD COLUMN IF NOT EXISTS token_hash VARCHAR(64) NOT NULL;

ALTER TABLE user_sessions ADD COLUMN IF NOT EXISTS user_id BIGINT NOT NULL REFERENCES users (id);

ALTER TABLE user_sessions ADD COLUMN IF NOT EXISTS client VARCHAR(128);

ALTER TABLE user_sessions ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE user_sessions ADD COLUMN IF NOT EXISTS last_seen_at TIMESTAMP WITH TIME ZONE NOT NULL;

ALTER TABLE user_sessions ADD COLUMN IF NOT EXISTS expires_at TIMESTAMP WITH TIME ZONE NOT NULL;

ALTER TABLE user_sessions ADD COLUMN IF NOT EXISTS revoked_at TIMESTAMP WITH TIME ZONE;

ALTER TABLE user_sessions ADD COLUMN IF NOT EXISTS revoked_reason VARCHAR(64);

ALTER TABLE account_contacts ADD COLUMN IF NOT EXISTS account_id BIGINT NOT NULL REFERENCES accounts (id);

ALTER TABLE account_contacts ADD COLUMN IF NOT EXISTS contact_id BIGINT NOT NULL REFERENCES contacts (id);

ALTER TABLE account_contacts ADD COLUMN IF NOT EXISTS role VARCHAR(16) DEFAULT 'owner' NOT NULL;

ALTER TABLE account_contacts ADD COLUMN IF NOT EXISTS is_primary BOOLEAN DEFAULT false NOT NULL;

ALTER TABLE account_history ADD COLUMN IF NOT EXISTS account_id BIGINT NOT NULL REFERENCES accounts (id);

ALTER TABLE account_history ADD COLUMN IF NOT EXISTS field VARCHAR(32) NOT NULL;

ALTER TABLE account_history ADD COLUMN IF NOT EXISTS old_value VARCHAR(255);

ALTER TABLE account_history ADD COLUMN IF NOT EXISTS new_value VARCHAR(255);

ALTER TABLE account_history ADD COLUMN IF NOT EXISTS source VARCHAR(64) NOT NULL;

ALTER TABLE account_history ADD COLUMN IF NOT EXISTS changed_by_name VARCHAR(64) DEFAULT 'system' NOT NULL;

ALTER TABLE account_history ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE account_motors ADD COLUMN IF NOT EXISTS account_id BIGINT NOT NULL REFERENCES accounts (id);

ALTER TABLE account_motors ADD COLUMN IF NOT EXISTS motor_id BIGINT NOT NULL REFERENCES motors (id);

ALTER TABLE account_surveys ADD COLUMN IF NOT EXISTS survey_id VARCHAR(32) NOT NULL;

ALTER TABLE account_surveys ADD COLUMN IF NOT EXISTS surveyor_name VARCHAR(128);

ALTER TABLE account_surveys ADD COLUMN IF NOT EXISTS surveyed_at TIMESTAMP WITH TIME ZONE;

ALTER TABLE account_surveys ADD COLUMN IF NOT EXISTS survey_name VARCHAR(128);

ALTER TABLE account_surveys ADD COLUMN IF NOT EXISTS survey_mobile VARCHAR(20);

ALTER TABLE account_surveys ADD COLUMN IF NOT EXISTS survey_address VARCHAR(255);

ALTER TABLE account_surveys ADD COLUMN IF NOT EXISTS house_type VARCHAR(32);

ALTER TABLE account_surveys ADD COLUMN IF NOT EXISTS water_connection VARCHAR(16);

ALTER TABLE account_surveys ADD COLUMN IF NOT EXISTS size_marla NUMERIC(8, 2);

ALTER TABLE account_surveys ADD COLUMN IF NOT EXISTS photo_ref VARCHAR(512);

ALTER TABLE account_surveys ADD COLUMN IF NOT EXISTS gps_text VARCHAR(128);

ALTER TABLE account_surveys ADD COLUMN IF NOT EXISTS unit_type VARCHAR(64);

ALTER TABLE account_surveys ADD COLUMN IF NOT EXISTS size_category VARCHAR(16);

ALTER TABLE bank_payments ADD COLUMN IF NOT EXISTS bank_file_id BIGINT NOT NULL REFERENCES bank_files (id);

ALTER TABLE bank_payments ADD COLUMN IF NOT EXISTS row_no INTEGER NOT NULL;

ALTER TABLE bank_payments ADD COLUMN IF NOT EXISTS psid VARCHAR(17);

ALTER TABLE bank_payments ADD COLUMN IF NOT EXISTS consumer_number VARCHAR(32);

ALTER TABLE bank_payments ADD COLUMN IF NOT EXISTS transaction_id VARCHAR(64) NOT NULL;

ALTER TABLE bank_payments ADD COLUMN IF NOT EXISTS amount NUMERIC(14, 2) NOT NULL;

ALTER TABLE bank_payments ADD COLUMN IF NOT EXISTS fine NUMERIC(14, 2) DEFAULT '0' NOT NULL;

ALTER TABLE bank_payments ADD COLUMN IF NOT EXISTS paid_on DATE NOT NULL;

ALTER TABLE bank_payments ADD COLUMN IF NOT EXISTS paid_time VARCHAR(8) NOT NULL;

ALTER TABLE bank_payments ADD COLUMN IF NOT EXISTS bank VARCHAR(64);

ALTER TABLE bank_payments ADD COLUMN IF NOT EXISTS channel VARCHAR(32);

ALTER TABLE bank_payments ADD COLUMN IF NOT EXISTS outcome VARCHAR(24) NOT NULL;

ALTER TABLE bank_payments ADD COLUMN IF NOT EXISTS reason TEXT;

ALTER TABLE bank_payments ADD COLUMN IF NOT EXISTS bill_id BIGINT;

ALTER TABLE bank_payments ADD COLUMN IF NOT EXISTS payment_id BIGINT;

ALTER TABLE bank_payments ADD COLUMN IF NOT EXISTS dedupe_key VARCHAR(160) NOT NULL;

ALTER TABLE bank_payments ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE bill_run_manifests ADD COLUMN IF NOT EXISTS bill_run_id BIGINT REFERENCES bill_runs (id);

ALTER TABLE bill_run_manifests ADD COLUMN IF NOT EXISTS dry_run BOOLEAN NOT NULL;

ALTER TABLE bill_run_manifests ADD COLUMN IF NOT EXISTS service VARCHAR(16) NOT NULL;

ALTER TABLE bill_run_manifests ADD COLUMN IF NOT EXISTS billing_period_start DATE NOT NULL;

ALTER TABLE bill_run_manifests ADD COLUMN IF NOT EXISTS billing_period_end DATE NOT NULL;

ALTER TABLE bill_run_manifests ADD COLUMN IF NOT EXISTS area_id BIGINT REFERENCES areas (id);

ALTER TABLE bill_run_manifests ADD COLUMN IF NOT EXISTS manifest JSONB NOT NULL;

ALTER TABLE bill_run_manifests ADD COLUMN IF NOT EXISTS chain_head VARCHAR(128);

ALTER TABLE bill_run_manifests ADD COLUMN IF NOT EXISTS created_by VARCHAR(64) DEFAULT 'system' NOT NULL;

ALTER TABLE bill_run_manifests ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE customer_accounts ADD COLUMN IF NOT EXISTS user_id BIGINT NOT NULL REFERENCES users (id);

ALTER TABLE customer_accounts ADD COLUMN IF NOT EXISTS account_id BIGINT NOT NULL REFERENCES accounts (id);

ALTER TABLE customer_accounts ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE customer_alerts_sent ADD COLUMN IF NOT EXISTS user_id BIGINT NOT NULL REFERENCES users (id);

ALTER TABLE customer_alerts_sent ADD COLUMN IF NOT EXISTS kind VARCHAR(32) NOT NULL;

ALTER TABLE customer_alerts_sent ADD COLUMN IF NOT EXISTS ref VARCHAR(64) NOT NULL;

ALTER TABLE customer_alerts_sent ADD COLUMN IF NOT EXISTS account_id BIGINT NOT NULL REFERENCES accounts (id);

ALTER TABLE customer_alerts_sent ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE customer_codes ADD COLUMN IF NOT EXISTS purpose VARCHAR(16) NOT NULL;

ALTER TABLE customer_codes ADD COLUMN IF NOT EXISTS subject VARCHAR(64) NOT NULL;

ALTER TABLE customer_codes ADD COLUMN IF NOT EXISTS user_id BIGINT REFERENCES users (id);

ALTER TABLE customer_codes ADD COLUMN IF NOT EXISTS account_id BIGINT REFERENCES accounts (id);

ALTER TABLE customer_codes ADD COLUMN IF NOT EXISTS new_value VARCHAR(254);

ALTER TABLE customer_codes ADD COLUMN IF NOT EXISTS salt VARCHAR(32) NOT NULL;

ALTER TABLE customer_codes ADD COLUMN IF NOT EXISTS code_hash VARCHAR(64) NOT NULL;

ALTER TABLE customer_codes ADD COLUMN IF NOT EXISTS channel VARCHAR(16) NOT NULL;

ALTER TABLE customer_codes ADD COLUMN IF NOT EXISTS recipient VARCHAR(254);

ALTER TABLE customer_codes ADD COLUMN IF NOT EXISTS expires_at TIMESTAMP WITH TIME ZONE NOT NULL;

ALTER TABLE customer_codes ADD COLUMN IF NOT EXISTS used_at TIMESTAMP WITH TIME ZONE;

ALTER TABLE customer_codes ADD COLUMN IF NOT EXISTS attempts INTEGER DEFAULT '0' NOT NULL;

ALTER TABLE customer_codes ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE field_visits ADD COLUMN IF NOT EXISTS account_id BIGINT NOT NULL REFERENCES accounts (id);

ALTER TABLE field_visits ADD COLUMN IF NOT EXISTS area_id BIGINT NOT NULL REFERENCES areas (id);

ALTER TABLE field_visits ADD COLUMN IF NOT EXISTS agent_id BIGINT REFERENCES users (id);

ALTER TABLE field_visits ADD COLUMN IF NOT EXISTS agent_name VARCHAR(64) NOT NULL;

ALTER TABLE field_visits ADD COLUMN IF NOT EXISTS visited_at TIMESTAMP WITH TIME ZONE NOT NULL;

ALTER TABLE field_visits ADD COLUMN IF NOT EXISTS visit_date DATE NOT NULL;

ALTER TABLE field_visits ADD COLUMN IF NOT EXISTS outcome VARCHAR(16) NOT NULL;

ALTER TABLE field_visits ADD COLUMN IF NOT EXISTS notes TEXT;

ALTER TABLE field_visits ADD COLUMN IF NOT EXISTS photo_ref VARCHAR(512);

ALTER TABLE field_visits ADD COLUMN IF NOT EXISTS photo_url VARCHAR(1024);

ALTER TABLE field_visits ADD COLUMN IF NOT EXISTS gps_lat NUMERIC(9, 6);

ALTER TABLE field_visits ADD COLUMN IF NOT EXISTS gps_lon NUMERIC(9, 6);

ALTER TABLE field_visits ADD COLUMN IF NOT EXISTS gps_accuracy_m NUMERIC(10, 1);

ALTER TABLE field_visits ADD COLUMN IF NOT EXISTS distance_m NUMERIC(12, 1);

ALTER TABLE field_visits ADD COLUMN IF NOT EXISTS radius_m INTEGER;

ALTER TABLE field_visits ADD COLUMN IF NOT EXISTS flagged BOOLEAN DEFAULT false NOT NULL;

ALTER TABLE field_visits ADD COLUMN IF NOT EXISTS status VARCHAR(16) DEFAULT 'pending' NOT NULL;

ALTER TABLE field_visits ADD COLUMN IF NOT EXISTS reviewed_by BIGINT REFERENCES users (id);

ALTER TABLE field_visits ADD COLUMN IF NOT EXISTS reviewed_by_name VARCHAR(64);

ALTER TABLE field_visits ADD COLUMN IF NOT EXISTS reviewed_at TIMESTAMP WITH TIME ZONE;

ALTER TABLE field_visits ADD COLUMN IF NOT EXISTS review_reason TEXT;

ALTER TABLE field_visits ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE meters ADD COLUMN IF NOT EXISTS meter_number VARCHAR(32) NOT NULL;

ALTER TABLE meters ADD COLUMN IF NOT EXISTS account_id BIGINT REFERENCES accounts (id);

ALTER TABLE meters ADD COLUMN IF NOT EXISTS motor_id BIGINT REFERENCES motors (id);

ALTER TABLE meters ADD COLUMN IF NOT EXISTS service VARCHAR(16) DEFAULT 'electricity' NOT NULL;

ALTER TABLE meters ADD COLUMN IF NOT EXISTS unit VARCHAR(8) DEFAULT 'kWh' NOT NULL;

ALTER TABLE meters ADD COLUMN IF NOT EXISTS status VARCHAR(16) DEFAULT 'active' NOT NULL;

ALTER TABLE meters ADD COLUMN IF NOT EXISTS is_smart BOOLEAN DEFAULT false NOT NULL;

ALTER TABLE meters ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE service_connections ADD COLUMN IF NOT EXISTS account_id BIGINT NOT NULL REFERENCES accounts (id);

ALTER TABLE service_connections ADD COLUMN IF NOT EXISTS service VARCHAR(16) NOT NULL;

ALTER TABLE service_connections ADD COLUMN IF NOT EXISTS tariff_plan_id BIGINT NOT NULL REFERENCES tariff_plans (id);

ALTER TABLE service_connections ADD COLUMN IF NOT EXISTS is_active BOOLEAN DEFAULT true NOT NULL;

ALTER TABLE service_connections ADD COLUMN IF NOT EXISTS started_on DATE;

ALTER TABLE service_connections ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE usage_anomalies ADD COLUMN IF NOT EXISTS account_id BIGINT NOT NULL REFERENCES accounts (id);

ALTER TABLE usage_anomalies ADD COLUMN IF NOT EXISTS area_id BIGINT NOT NULL REFERENCES areas (id);

ALTER TABLE usage_anomalies ADD COLUMN IF NOT EXISTS method VARCHAR(32) NOT NULL;

ALTER TABLE usage_anomalies ADD COLUMN IF NOT EXISTS period_start DATE NOT NULL;

ALTER TABLE usage_anomalies ADD COLUMN IF NOT EXISTS period_end DATE NOT NULL;

ALTER TABLE usage_anomalies ADD COLUMN IF NOT EXISTS usage_date DATE NOT NULL;

ALTER TABLE usage_anomalies ADD COLUMN IF NOT EXISTS usage NUMERIC(12, 2) NOT NULL;

ALTER TABLE usage_anomalies ADD COLUMN IF NOT EXISTS baseline NUMERIC(14, 4);

ALTER TABLE usage_anomalies ADD COLUMN IF NOT EXISTS spread NUMERIC(14, 4);

ALTER TABLE usage_anomalies ADD COLUMN IF NOT EXISTS score NUMERIC(14, 4) NOT NULL;

ALTER TABLE usage_anomalies ADD COLUMN IF NOT EXISTS history_days INTEGER DEFAULT '0' NOT NULL;

ALTER TABLE usage_anomalies ADD COLUMN IF NOT EXISTS params JSONB;

ALTER TABLE usage_anomalies ADD COLUMN IF NOT EXISTS detected_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE usage_anomalies ADD COLUMN IF NOT EXISTS detected_by VARCHAR(64) DEFAULT 'system' NOT NULL;

ALTER TABLE usage_anomalies ADD COLUMN IF NOT EXISTS status VARCHAR(16) DEFAULT 'open' NOT NULL;

ALTER TABLE usage_anomalies ADD COLUMN IF NOT EXISTS outcome VARCHAR(32);

ALTER TABLE usage_anomalies ADD COLUMN IF NOT EXISTS review_note TEXT;

ALTER TABLE usage_anomalies ADD COLUMN IF NOT EXISTS reviewed_by BIGINT REFERENCES users (id);

ALTER TABLE usage_anomalies ADD COLUMN IF NOT EXISTS reviewed_by_name VARCHAR(64);

ALTER TABLE usage_anomalies ADD COLUMN IF NOT EXISTS reviewed_at TIMESTAMP WITH TIME ZONE;

ALTER TABLE usage_baselines ADD COLUMN IF NOT EXISTS days INTEGER NOT NULL;

ALTER TABLE usage_baselines ADD COLUMN IF NOT EXISTS mean NUMERIC(14, 4) NOT NULL;

ALTER TABLE usage_baselines ADD COLUMN IF NOT EXISTS sd NUMERIC(14, 4) NOT NULL;

ALTER TABLE usage_baselines ADD COLUMN IF NOT EXISTS median NUMERIC(14, 4) NOT NULL;

ALTER TABLE usage_baselines ADD COLUMN IF NOT EXISTS mad NUMERIC(14, 4) NOT NULL;

ALTER TABLE usage_baselines ADD COLUMN IF NOT EXISTS adj_median NUMERIC(14, 4);

ALTER TABLE usage_baselines ADD COLUMN IF NOT EXISTS adj_mad NUMERIC(14, 4);

ALTER TABLE readings ADD COLUMN IF NOT EXISTS meter_id BIGINT NOT NULL REFERENCES meters (id);

ALTER TABLE readings ADD COLUMN IF NOT EXISTS reading_value NUMERIC(12, 2) NOT NULL;

ALTER TABLE readings ADD COLUMN IF NOT EXISTS reading_date DATE NOT NULL;

ALTER TABLE readings ADD COLUMN IF NOT EXISTS consumption NUMERIC(12, 2);

ALTER TABLE readings ADD COLUMN IF NOT EXISTS previous_reading_id BIGINT REFERENCES readings (id);

ALTER TABLE readings ADD COLUMN IF NOT EXISTS motor_reading_value NUMERIC(12, 2);

ALTER TABLE readings ADD COLUMN IF NOT EXISTS motor_share NUMERIC(12, 2);

ALTER TABLE readings ADD COLUMN IF NOT EXISTS motor_reading_id BIGINT REFERENCES readings (id);

ALTER TABLE readings ADD COLUMN IF NOT EXISTS photo_ref VARCHAR(512);

ALTER TABLE readings ADD COLUMN IF NOT EXISTS photo_url VARCHAR(1024);

ALTER TABLE readings ADD COLUMN IF NOT EXISTS source VARCHAR(16) DEFAULT 'ui' NOT NULL;

ALTER TABLE readings ADD COLUMN IF NOT EXISTS status VARCHAR(16) DEFAULT 'pending' NOT NULL;

ALTER TABLE readings ADD COLUMN IF NOT EXISTS flags JSONB;

ALTER TABLE readings ADD COLUMN IF NOT EXISTS ai_opinion JSONB;

ALTER TABLE readings ADD COLUMN IF NOT EXISTS approved_units NUMERIC(12, 2);

ALTER TABLE readings ADD COLUMN IF NOT EXISTS rejection_reason TEXT;

ALTER TABLE readings ADD COLUMN IF NOT EXISTS submitted_by BIGINT REFERENCES users (id);

ALTER TABLE readings ADD COLUMN IF NOT EXISTS reviewed_by BIGINT REFERENCES users (id);

ALTER TABLE readings ADD COLUMN IF NOT EXISTS reviewed_at TIMESTAMP WITH TIME ZONE;

ALTER TABLE readings ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE readings ADD COLUMN IF NOT EXISTS updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE bills ADD COLUMN IF NOT EXISTS account_id BIGINT NOT NULL REFERENCES accounts (id);

ALTER TABLE bills ADD COLUMN IF NOT EXISTS service VARCHAR(16) DEFAULT 'electricity' NOT NULL;

ALTER TABLE bills ADD COLUMN IF NOT EXISTS area_id BIGINT NOT NULL REFERENCES areas (id);

ALTER TABLE bills ADD COLUMN IF NOT EXISTS billing_period_start DATE NOT NULL;

ALTER TABLE bills ADD COLUMN IF NOT EXISTS billing_period_end DATE NOT NULL;

ALTER TABLE bills ADD COLUMN IF NOT EXISTS due_date DATE NOT NULL;

ALTER TABLE bills ADD COLUMN IF NOT EXISTS tariff_kind VARCHAR(32) DEFAULT 'flat_rate' NOT NULL;

ALTER TABLE bills ADD COLUMN IF NOT EXISTS pricing_rule VARCHAR(32) DEFAULT 'master_data' NOT NULL;

ALTER TABLE bills ADD COLUMN IF NOT EXISTS tariff_plan_version_id BIGINT NOT NULL REFERENCES tariff_plan_versions (id);

ALTER TABLE bills ADD COLUMN IF NOT EXISTS category VARCHAR(32);

ALTER TABLE bills ADD COLUMN IF NOT EXISTS units NUMERIC(12, 2) NOT NULL;

ALTER TABLE bills ADD COLUMN IF NOT EXISTS motor_units NUMERIC(12, 2) DEFAULT '0' NOT NULL;

ALTER TABLE bills ADD COLUMN IF NOT EXISTS total_units NUMERIC(12, 2) NOT NULL;

ALTER TABLE bills ADD COLUMN IF NOT EXISTS rate_per_unit NUMERIC(10, 4) NOT NULL;

ALTER TABLE bills ADD COLUMN IF NOT EXISTS fixed_charge NUMERIC(14, 2) DEFAULT '0' NOT NULL;

ALTER TABLE bills ADD COLUMN IF NOT EXISTS previous_outstanding NUMERIC(14, 2) DEFAULT '0' NOT NULL;

ALTER TABLE bills ADD COLUMN IF NOT EXISTS tariff_details JSONB;

ALTER TABLE bills ADD COLUMN IF NOT EXISTS total_amount NUMERIC(14, 2) NOT NULL;

ALTER TABLE bills ADD COLUMN IF NOT EXISTS status VARCHAR(16) DEFAULT 'pending' NOT NULL;

ALTER TABLE bills ADD COLUMN IF NOT EXISTS amount_paid NUMERIC(14, 2) DEFAULT '0' NOT NULL;

ALTER TABLE bills ADD COLUMN IF NOT EXISTS paid_at TIMESTAMP WITH TIME ZONE;

ALTER TABLE bills ADD COLUMN IF NOT EXISTS carried_forward_to BIGINT REFERENCES bills (id);

ALTER TABLE bills ADD COLUMN IF NOT EXISTS overdue_notified_at TIMESTAMP WITH TIME ZONE;

ALTER TABLE bills ADD COLUMN IF NOT EXISTS payment_link_id VARCHAR(128);

ALTER TABLE bills ADD COLUMN IF NOT EXISTS payment_link_url VARCHAR(1024);

ALTER TABLE bills ADD COLUMN IF NOT EXISTS psid VARCHAR(17);

ALTER TABLE bills ADD COLUMN IF NOT EXISTS last_reading_id BIGINT REFERENCES readings (id);

ALTER TABLE bills ADD COLUMN IF NOT EXISTS motor_reading_id BIGINT REFERENCES readings (id);

ALTER TABLE bills ADD COLUMN IF NOT EXISTS first_reading_id BIGINT REFERENCES readings (id);

ALTER TABLE bills ADD COLUMN IF NOT EXISTS usage_from DATE;

ALTER TABLE bills ADD COLUMN IF NOT EXISTS usage_to DATE;

ALTER TABLE bills ADD COLUMN IF NOT EXISTS reissue_of BIGINT REFERENCES bills (id);

ALTER TABLE bills ADD COLUMN IF NOT EXISTS superseded_by BIGINT REFERENCES bills (id);

ALTER TABLE bills ADD COLUMN IF NOT EXISTS bill_run_id BIGINT REFERENCES bill_runs (id);

ALTER TABLE bills ADD COLUMN IF NOT EXISTS created_by BIGINT REFERENCES users (id);

ALTER TABLE bills ADD COLUMN IF NOT EXISTS created_by_name VARCHAR(64) DEFAULT 'system' NOT NULL;

ALTER TABLE bills ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE bills ADD COLUMN IF NOT EXISTS updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE bills ADD COLUMN IF NOT EXISTS bill_number VARCHAR(32);

ALTER TABLE daily_usage ADD COLUMN IF NOT EXISTS account_id BIGINT NOT NULL REFERENCES accounts (id);

ALTER TABLE daily_usage ADD COLUMN IF NOT EXISTS meter_id BIGINT REFERENCES meters (id);

ALTER TABLE daily_usage ADD COLUMN IF NOT EXISTS usage_date DATE NOT NULL;

ALTER TABLE daily_usage ADD COLUMN IF NOT EXISTS quantity NUMERIC(12, 2) NOT NULL;

ALTER TABLE daily_usage ADD COLUMN IF NOT EXISTS source VARCHAR(16) DEFAULT 'import' NOT NULL;

ALTER TABLE daily_usage ADD COLUMN IF NOT EXISTS created_by BIGINT REFERENCES users (id);

ALTER TABLE daily_usage ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE daily_usage ADD COLUMN IF NOT EXISTS reading_id BIGINT REFERENCES readings (id);

ALTER TABLE meter_changes ADD COLUMN IF NOT EXISTS kind VARCHAR(16) NOT NULL;

ALTER TABLE meter_changes ADD COLUMN IF NOT EXISTS old_meter_id BIGINT NOT NULL REFERENCES meters (id);

ALTER TABLE meter_changes ADD COLUMN IF NOT EXISTS new_meter_id BIGINT NOT NULL REFERENCES meters (id);

ALTER TABLE meter_changes ADD COLUMN IF NOT EXISTS change_date DATE NOT NULL;

ALTER TABLE meter_changes ADD COLUMN IF NOT EXISTS final_reading_id BIGINT NOT NULL REFERENCES readings (id);

ALTER TABLE meter_changes ADD COLUMN IF NOT EXISTS start_reading_id BIGINT NOT NULL REFERENCES readings (id);

ALTER TABLE meter_changes ADD COLUMN IF NOT EXISTS reason TEXT NOT NULL;

ALTER TABLE meter_changes ADD COLUMN IF NOT EXISTS recorded_by BIGINT REFERENCES users (id);

ALTER TABLE meter_changes ADD COLUMN IF NOT EXISTS recorded_by_name VARCHAR(64) DEFAULT 'system' NOT NULL;

ALTER TABLE meter_changes ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE photo_hashes ADD COLUMN IF NOT EXISTS reading_id BIGINT NOT NULL REFERENCES readings (id);

ALTER TABLE photo_hashes ADD COLUMN IF NOT EXISTS meter_id BIGINT NOT NULL REFERENCES meters (id);

ALTER TABLE photo_hashes ADD COLUMN IF NOT EXISTS reading_date DATE NOT NULL;

ALTER TABLE photo_hashes ADD COLUMN IF NOT EXISTS phash VARCHAR(16) NOT NULL;

ALTER TABLE photo_hashes ADD COLUMN IF NOT EXISTS band0 INTEGER NOT NULL;

ALTER TABLE photo_hashes ADD COLUMN IF NOT EXISTS band1 INTEGER NOT NULL;

ALTER TABLE photo_hashes ADD COLUMN IF NOT EXISTS band2 INTEGER NOT NULL;

ALTER TABLE photo_hashes ADD COLUMN IF NOT EXISTS band3 INTEGER NOT NULL;

ALTER TABLE photo_hashes ADD COLUMN IF NOT EXISTS taken_at TIMESTAMP WITHOUT TIME ZONE;

ALTER TABLE photo_hashes ADD COLUMN IF NOT EXISTS photo_ref VARCHAR(512);

ALTER TABLE photo_hashes ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE bill_lines ADD COLUMN IF NOT EXISTS bill_id BIGINT NOT NULL REFERENCES bills (id);

ALTER TABLE bill_lines ADD COLUMN IF NOT EXISTS seq INTEGER NOT NULL;

ALTER TABLE bill_lines ADD COLUMN IF NOT EXISTS code VARCHAR(32) NOT NULL;

ALTER TABLE bill_lines ADD COLUMN IF NOT EXISTS label VARCHAR(128) NOT NULL;

ALTER TABLE bill_lines ADD COLUMN IF NOT EXISTS quantity NUMERIC(14, 2);

ALTER TABLE bill_lines ADD COLUMN IF NOT EXISTS unit VARCHAR(8);

ALTER TABLE bill_lines ADD COLUMN IF NOT EXISTS rate NUMERIC(10, 4);

ALTER TABLE bill_lines ADD COLUMN IF NOT EXISTS amount NUMERIC(14, 2) NOT NULL;

ALTER TABLE bill_readings ADD COLUMN IF NOT EXISTS bill_id BIGINT NOT NULL REFERENCES bills (id);

ALTER TABLE bill_readings ADD COLUMN IF NOT EXISTS reading_id BIGINT NOT NULL REFERENCES readings (id);

ALTER TABLE bill_readings ADD COLUMN IF NOT EXISTS units NUMERIC(12, 2) NOT NULL;

ALTER TABLE bill_readings ADD COLUMN IF NOT EXISTS motor_units NUMERIC(12, 2) DEFAULT '0' NOT NULL;

ALTER TABLE bill_readings ADD COLUMN IF NOT EXISTS superseded_by BIGINT REFERENCES bills (id);

ALTER TABLE bill_seals ADD COLUMN IF NOT EXISTS bill_id BIGINT NOT NULL REFERENCES bills (id);

ALTER TABLE bill_seals ADD COLUMN IF NOT EXISTS prev_hash VARCHAR(64) NOT NULL;

ALTER TABLE bill_seals ADD COLUMN IF NOT EXISTS hash VARCHAR(64) NOT NULL;

ALTER TABLE bill_seals ADD COLUMN IF NOT EXISTS sealed_at TIMESTAMP WITH TIME ZONE NOT NULL;

ALTER TABLE notifications ADD COLUMN IF NOT EXISTS bill_id BIGINT REFERENCES bills (id);

ALTER TABLE notifications ADD COLUMN IF NOT EXISTS contact_id BIGINT REFERENCES contacts (id);

ALTER TABLE notifications ADD COLUMN IF NOT EXISTS kind VARCHAR(32) NOT NULL;

ALTER TABLE notifications ADD COLUMN IF NOT EXISTS channel VARCHAR(16) NOT NULL;

ALTER TABLE notifications ADD COLUMN IF NOT EXISTS recipient VARCHAR(254);

ALTER TABLE notifications ADD COLUMN IF NOT EXISTS message TEXT NOT NULL;

ALTER TABLE notifications ADD COLUMN IF NOT EXISTS status VARCHAR(16) DEFAULT 'pending' NOT NULL;

ALTER TABLE notifications ADD COLUMN IF NOT EXISTS provider_message_id VARCHAR(255);

ALTER TABLE notifications ADD COLUMN IF NOT EXISTS error TEXT;

ALTER TABLE notifications ADD COLUMN IF NOT EXISTS attempts INTEGER DEFAULT '0' NOT NULL;

ALTER TABLE notifications ADD COLUMN IF NOT EXISTS resend_of BIGINT REFERENCES notifications (id);

ALTER TABLE notifications ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE notifications ADD COLUMN IF NOT EXISTS sent_at TIMESTAMP WITH TIME ZONE;

ALTER TABLE payment_events ADD COLUMN IF NOT EXISTS bill_id BIGINT REFERENCES bills (id);

ALTER TABLE payment_events ADD COLUMN IF NOT EXISTS provider VARCHAR(16) DEFAULT 'stripe' NOT NULL;

ALTER TABLE payment_events ADD COLUMN IF NOT EXISTS event_type VARCHAR(64) NOT NULL;

ALTER TABLE payment_events ADD COLUMN IF NOT EXISTS stripe_event_id VARCHAR(255);

ALTER TABLE payment_events ADD COLUMN IF NOT EXISTS payment_link_id VARCHAR(128);

ALTER TABLE payment_events ADD COLUMN IF NOT EXISTS amount NUMERIC(14, 2);

ALTER TABLE payment_events ADD COLUMN IF NOT EXISTS currency VARCHAR(8);

ALTER TABLE payment_events ADD COLUMN IF NOT EXISTS outcome VARCHAR(32) NOT NULL;

ALTER TABLE payment_events ADD COLUMN IF NOT EXISTS event_data JSONB;

ALTER TABLE payment_events ADD COLUMN IF NOT EXISTS received_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE payments ADD COLUMN IF NOT EXISTS bill_id BIGINT NOT NULL REFERENCES bills (id);

ALTER TABLE payments ADD COLUMN IF NOT EXISTS amount NUMERIC(14, 2) NOT NULL;

ALTER TABLE payments ADD COLUMN IF NOT EXISTS paid_on DATE NOT NULL;

ALTER TABLE payments ADD COLUMN IF NOT EXISTS method VARCHAR(32) NOT NULL;

ALTER TABLE payments ADD COLUMN IF NOT EXISTS reference VARCHAR(128);

ALTER TABLE payments ADD COLUMN IF NOT EXISTS external_id VARCHAR(255);

ALTER TABLE payments ADD COLUMN IF NOT EXISTS credit_from_bill BIGINT REFERENCES bills (id);

ALTER TABLE payments ADD COLUMN IF NOT EXISTS recorded_by BIGINT REFERENCES users (id);

ALTER TABLE payments ADD COLUMN IF NOT EXISTS recorded_by_name VARCHAR(64) DEFAULT 'system' NOT NULL;

ALTER TABLE payments ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE tickets ADD COLUMN IF NOT EXISTS account_id BIGINT NOT NULL REFERENCES accounts (id);

ALTER TABLE tickets ADD COLUMN IF NOT EXISTS area_id BIGINT NOT NULL REFERENCES areas (id);

ALTER TABLE tickets ADD COLUMN IF NOT EXISTS kind VARCHAR(24) NOT NULL;

ALTER TABLE tickets ADD COLUMN IF NOT EXISTS description TEXT NOT NULL;

ALTER TABLE tickets ADD COLUMN IF NOT EXISTS source VARCHAR(8) DEFAULT 'unit' NOT NULL;

ALTER TABLE tickets ADD COLUMN IF NOT EXISTS bill_id BIGINT REFERENCES bills (id);

ALTER TABLE tickets ADD COLUMN IF NOT EXISTS visit_id BIGINT REFERENCES field_visits (id);

ALTER TABLE tickets ADD COLUMN IF NOT EXISTS proposed_change JSONB;

ALTER TABLE tickets ADD COLUMN IF NOT EXISTS raised_by BIGINT REFERENCES users (id);

ALTER TABLE tickets ADD COLUMN IF NOT EXISTS raised_by_name VARCHAR(64) NOT NULL;

ALTER TABLE tickets ADD COLUMN IF NOT EXISTS raised_at TIMESTAMP WITH TIME ZONE NOT NULL;

ALTER TABLE tickets ADD COLUMN IF NOT EXISTS assignee_id BIGINT REFERENCES users (id);

ALTER TABLE tickets ADD COLUMN IF NOT EXISTS assignee_name VARCHAR(64);

ALTER TABLE tickets ADD COLUMN IF NOT EXISTS applied JSONB;

ALTER TABLE tickets ADD COLUMN IF NOT EXISTS status VARCHAR(16) DEFAULT 'pending' NOT NULL;

ALTER TABLE tickets ADD COLUMN IF NOT EXISTS reviewed_by BIGINT REFERENCES users (id);

ALTER TABLE tickets ADD COLUMN IF NOT EXISTS reviewed_by_name VARCHAR(64);

ALTER TABLE tickets ADD COLUMN IF NOT EXISTS reviewed_at TIMESTAMP WITH TIME ZONE;

ALTER TABLE tickets ADD COLUMN IF NOT EXISTS review_reason TEXT;

ALTER TABLE ticket_attachments ADD COLUMN IF NOT EXISTS ticket_id BIGINT NOT NULL REFERENCES tickets (id);

ALTER TABLE ticket_attachments ADD COLUMN IF NOT EXISTS photo_ref VARCHAR(512) NOT NULL;

ALTER TABLE ticket_attachments ADD COLUMN IF NOT EXISTS photo_url VARCHAR(1024);

ALTER TABLE ticket_attachments ADD COLUMN IF NOT EXISTS added_by_name VARCHAR(64) NOT NULL;

ALTER TABLE ticket_attachments ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

ALTER TABLE ticket_comments ADD COLUMN IF NOT EXISTS ticket_id BIGINT NOT NULL REFERENCES tickets (id);

ALTER TABLE ticket_comments ADD COLUMN IF NOT EXISTS author_id BIGINT REFERENCES users (id);

ALTER TABLE ticket_comments ADD COLUMN IF NOT EXISTS author_name VARCHAR(64) NOT NULL;

ALTER TABLE ticket_comments ADD COLUMN IF NOT EXISTS body TEXT NOT NULL;

ALTER TABLE ticket_comments ADD COLUMN IF NOT EXISTS created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL;

-- ---- indexes ----

CREATE INDEX IF NOT EXISTS ix_archived_bill_lines_bill_id ON archived_bill_lines (bill_id);

CREATE INDEX IF NOT EXISTS ix_archived_bill_readings_bill_id ON archived_bill_readings (bill_id);

CREATE INDEX IF NOT EXISTS ix_archived_bill_readings_reading_id ON archived_bill_readings (reading_id);

CREATE INDEX IF NOT EXISTS ix_archived_bill_seals_bill_id ON archived_bill_seals (bill_id);

CREATE INDEX IF NOT EXISTS ix_archived_bills_account_id_service_billing_period_start ON archived_bills (account_id, service, billing_period_start);

CREATE INDEX IF NOT EXISTS ix_archived_bills_area_id_billing_period_start ON archived_bills (area_id, billing_period_start);

CREATE UNIQUE INDEX IF NOT EXISTS ix_archived_bills_bill_number ON archived_bills (bill_number);

CREATE INDEX IF NOT EXISTS ix_archived_bills_billing_period_start ON archived_bills (billing_period_start);

CREATE UNIQUE INDEX IF NOT EXISTS ix_archived_bills_psid ON archived_bills (psid);

CREATE INDEX IF NOT EXISTS ix_archived_notifications_bill_id ON archived_notifications (bill_id);

CREATE INDEX IF NOT EXISTS ix_archived_payment_events_bill_id ON archived_payment_events (bill_id);

CREATE INDEX IF NOT EXISTS ix_archived_payments_bill_id ON archived_payments (bill_id);

CREATE UNIQUE INDEX IF NOT EXISTS ix_areas_parent_id_code ON areas (parent_id, code);

CREATE INDEX IF NOT EXISTS ix_contacts_name ON contacts (name);

CREATE INDEX IF NOT EXISTS ix_contacts_phone ON contacts (phone);

CREATE INDEX IF NOT EXISTS ix_job_runs_started_at ON job_runs (started_at);

CREATE UNIQUE INDEX IF NOT EXISTS uq_users_username_lower ON users (lower(username));

CREATE INDEX IF NOT EXISTS ix_accounts_area_id_code ON accounts (area_id, code);

CREATE INDEX IF NOT EXISTS ix_accounts_category ON accounts (category);

CREATE INDEX IF NOT EXISTS ix_accounts_code_pattern ON accounts (code varchar_pattern_ops);

CREATE INDEX IF NOT EXISTS ix_accounts_is_active ON accounts (is_active);

CREATE INDEX IF NOT EXISTS ix_audit_log_action_occurred_at ON audit_log (action, occurred_at);

CREATE INDEX IF NOT EXISTS ix_audit_log_entity_type_entity_id ON audit_log (entity_type, entity_id);

CREATE INDEX IF NOT EXISTS ix_audit_log_occurred_at ON audit_log (occurred_at);

CREATE INDEX IF NOT EXISTS ix_bank_files_created_at ON bank_files (created_at);

CREATE INDEX IF NOT EXISTS ix_bill_runs_billing_period_start_billing_period_end ON bill_runs (billing_period_start, billing_period_end);

CREATE INDEX IF NOT EXISTS ix_user_areas_area_id ON user_areas (area_id);

CREATE INDEX IF NOT EXISTS ix_user_sessions_user_id ON user_sessions (user_id);

CREATE INDEX IF NOT EXISTS ix_account_contacts_contact_id ON account_contacts (contact_id);

CREATE UNIQUE INDEX IF NOT EXISTS uq_account_contacts_primary ON account_contacts (account_id) WHERE is_primary;

CREATE INDEX IF NOT EXISTS ix_account_history_account_id_created_at ON account_history (account_id, created_at);

CREATE INDEX IF NOT EXISTS ix_account_motors_motor_id ON account_motors (motor_id);

CREATE INDEX IF NOT EXISTS ix_bank_payments_bank_file_id_row_no ON bank_payments (bank_file_id, row_no);

CREATE INDEX IF NOT EXISTS ix_bank_payments_bill_id ON bank_payments (bill_id);

CREATE INDEX IF NOT EXISTS ix_bank_payments_dedupe_key ON bank_payments (dedupe_key);

CREATE UNIQUE INDEX IF NOT EXISTS uq_bank_payments_matched_key ON bank_payments (dedupe_key) WHERE outcome = 'matched';

CREATE INDEX IF NOT EXISTS ix_bill_run_manifests_bill_run_id ON bill_run_manifests (bill_run_id);

CREATE INDEX IF NOT EXISTS ix_bill_run_manifests_service_billing_period_start_id ON bill_run_manifests (service, billing_period_start, id);

CREATE INDEX IF NOT EXISTS ix_customer_accounts_account_id ON customer_accounts (account_id);

CREATE INDEX IF NOT EXISTS ix_customer_codes_subject_created_at ON customer_codes (subject, created_at);

CREATE INDEX IF NOT EXISTS ix_field_visits_account_id_visited_at ON field_visits (account_id, visited_at);

CREATE INDEX IF NOT EXISTS ix_field_visits_agent_id_visit_date ON field_visits (agent_id, visit_date);

CREATE INDEX IF NOT EXISTS ix_field_visits_area_id_status_visited_at ON field_visits (area_id, status, visited_at);

CREATE INDEX IF NOT EXISTS ix_field_visits_visit_date_area_id ON field_visits (visit_date, area_id);

CREATE INDEX IF NOT EXISTS ix_meters_account_id ON meters (account_id);

CREATE INDEX IF NOT EXISTS ix_meters_motor_id ON meters (motor_id);

CREATE INDEX IF NOT EXISTS ix_meters_number_pattern ON meters (meter_number varchar_pattern_ops);

CREATE INDEX IF NOT EXISTS ix_meters_status ON meters (status);

CREATE INDEX IF NOT EXISTS ix_service_connections_tariff_plan_id ON service_connections (tariff_plan_id);

CREATE INDEX IF NOT EXISTS ix_usage_anomalies_account_id_usage_date ON usage_anomalies (account_id, usage_date);

CREATE INDEX IF NOT EXISTS ix_usage_anomalies_area_id_status ON usage_anomalies (area_id, status);

CREATE INDEX IF NOT EXISTS ix_usage_anomalies_period_start_method ON usage_anomalies (period_start, method);

CREATE INDEX IF NOT EXISTS ix_usage_anomalies_status_usage_date_id ON usage_anomalies (status, usage_date, id);

CREATE INDEX IF NOT EXISTS ix_readings_flagged_queue ON readings (reading_date, id) WHERE status = 'pending' AND flags IS NOT NULL;

CREATE INDEX IF NOT EXISTS ix_readings_meter_id_reading_date ON readings (meter_id, reading_date);

CREATE INDEX IF NOT EXISTS ix_readings_reading_date ON readings (reading_date);

CREATE INDEX IF NOT EXISTS ix_readings_status_reading_date ON readings (status, reading_date);

CREATE INDEX IF NOT EXISTS ix_readings_status_reading_date_id ON readings (status, reading_date, id);

CREATE INDEX IF NOT EXISTS ix_readings_submitted_by_reading_date_id ON readings (submitted_by, reading_date, id);

CREATE INDEX IF NOT EXISTS ix_readings_submitted_by_status_reading_date_id ON readings (submitted_by, status, reading_date, id);

CREATE INDEX IF NOT EXISTS ix_bills_account_id_status ON bills (account_id, status);

CREATE INDEX IF NOT EXISTS ix_bills_area_id_billing_period_start ON bills (area_id, billing_period_start);

CREATE UNIQUE INDEX IF NOT EXISTS ix_bills_bill_number ON bills (bill_number);

CREATE INDEX IF NOT EXISTS ix_bills_bill_run_id ON bills (bill_run_id);

CREATE INDEX IF NOT EXISTS ix_bills_billing_period_start_id ON bills (billing_period_start, id);

CREATE INDEX IF NOT EXISTS ix_bills_billing_period_start_status ON bills (billing_period_start, status);

CREATE INDEX IF NOT EXISTS ix_bills_carried_forward_to ON bills (carried_forward_to) WHERE carried_forward_to IS NOT NULL;

CREATE INDEX IF NOT EXISTS ix_bills_created_at ON bills (created_at);

CREATE INDEX IF NOT EXISTS ix_bills_estimates ON bills (account_id) WHERE (tariff_details -> 'estimate') IS NOT NULL;

CREATE INDEX IF NOT EXISTS ix_bills_last_reading_id ON bills (last_reading_id);

CREATE INDEX IF NOT EXISTS ix_bills_month_area_amounts ON bills (billing_period_start, area_id, status, total_amount, previous_outstanding, amount_paid);

CREATE INDEX IF NOT EXISTS ix_bills_motor_reading_id ON bills (motor_reading_id);

CREATE INDEX IF NOT EXISTS ix_bills_open_area_due ON bills (status, area_id, due_date, total_amount, amount_paid);

CREATE INDEX IF NOT EXISTS ix_bills_period_status_amounts ON bills (billing_period_start, status, total_amount, previous_outstanding);

CREATE INDEX IF NOT EXISTS ix_bills_reissue_of ON bills (reissue_of);

CREATE INDEX IF NOT EXISTS ix_bills_status_balances ON bills (status, total_amount, amount_paid);

CREATE INDEX IF NOT EXISTS ix_bills_status_billing_period_start_id ON bills (status, billing_period_start, id);

CREATE INDEX IF NOT EXISTS ix_bills_status_due_date ON bills (status, due_date);

CREATE INDEX IF NOT EXISTS ix_bills_superseded_by ON bills (superseded_by) WHERE superseded_by IS NOT NULL;

CREATE UNIQUE INDEX IF NOT EXISTS uq_bills_psid ON bills (psid);

CREATE INDEX IF NOT EXISTS ix_daily_usage_reading_id ON daily_usage (reading_id) WHERE reading_id IS NOT NULL;

CREATE INDEX IF NOT EXISTS ix_daily_usage_usage_date_account_id ON daily_usage (usage_date, account_id);

CREATE INDEX IF NOT EXISTS ix_meter_changes_new_meter_id ON meter_changes (new_meter_id);

CREATE INDEX IF NOT EXISTS ix_meter_changes_old_meter_id ON meter_changes (old_meter_id);

CREATE INDEX IF NOT EXISTS ix_photo_hashes_band0 ON photo_hashes (band0);

CREATE INDEX IF NOT EXISTS ix_photo_hashes_band1 ON photo_hashes (band1);

CREATE INDEX IF NOT EXISTS ix_photo_hashes_band2 ON photo_hashes (band2);

CREATE INDEX IF NOT EXISTS ix_photo_hashes_band3 ON photo_hashes (band3);

CREATE UNIQUE INDEX IF NOT EXISTS uq_bill_readings_current_reading ON bill_readings (reading_id) WHERE superseded_by IS NULL;

CREATE INDEX IF NOT EXISTS ix_notifications_bill_id ON notifications (bill_id);

CREATE INDEX IF NOT EXISTS ix_notifications_created_at ON notifications (created_at);

CREATE INDEX IF NOT EXISTS ix_notifications_status_created_at ON notifications (status, created_at);

CREATE UNIQUE INDEX IF NOT EXISTS uq_notifications_email_once ON notifications (bill_id, kind) WHERE channel = 'email' AND status IN ('pending', 'sent') AND resend_of IS NULL;

CREATE INDEX IF NOT EXISTS ix_payment_events_bill_id ON payment_events (bill_id);

CREATE INDEX IF NOT EXISTS ix_payments_bill_id ON payments (bill_id);

CREATE INDEX IF NOT EXISTS ix_payments_bill_paid_amount ON payments (bill_id, paid_on, amount);

CREATE UNIQUE INDEX IF NOT EXISTS ix_payments_credit_from_bill ON payments (credit_from_bill);

CREATE INDEX IF NOT EXISTS ix_payments_paid_on ON payments (paid_on);

CREATE INDEX IF NOT EXISTS ix_payments_paid_on_amount ON payments (paid_on, amount);

CREATE INDEX IF NOT EXISTS ix_tickets_account_id_raised_at ON tickets (account_id, raised_at);

CREATE INDEX IF NOT EXISTS ix_tickets_area_id_status_raised_at ON tickets (area_id, status, raised_at);

CREATE INDEX IF NOT EXISTS ix_tickets_status_raised_at_id ON tickets (status, raised_at, id);

CREATE INDEX IF NOT EXISTS ix_tickets_visit_id ON tickets (visit_id);

CREATE INDEX IF NOT EXISTS ix_ticket_attachments_ticket_id_id ON ticket_attachments (ticket_id, id);

CREATE INDEX IF NOT EXISTS ix_ticket_comments_ticket_id_id ON ticket_comments (ticket_id, id);

-- ---- a version-2 project: its rows copied into the version-3 tables, checked, the v2_ tables dropped (database/upgrade_v3.py); no-op otherwise ----

DO $$
DECLARE
  bad bigint; first_bad bigint;
BEGIN
  IF to_regclass('v2_flats') IS NULL THEN RETURN; END IF;
  INSERT INTO areas (parent_id, level, code, name, path, sort_order)
  SELECT NULL, 1, k.code, CASE WHEN k.code = 'UNASSIGNED' THEN 'Block not recorded' ELSE 'Block ' || k.code END,
         k.code, CASE WHEN k.code = 'UNASSIGNED' THEN 9999
                      ELSE row_number() OVER (ORDER BY CASE WHEN k.code = 'UNASSIGNED' THEN 1 ELSE 0 END, k.code) - 1 END
    FROM (SELECT DISTINCT CASE WHEN TRIM(f.block) = '' THEN 'UNASSIGNED' ELSE f.block END AS code FROM v2_flats f) k;
  INSERT INTO areas (parent_id, level, code, name, path, sort_order)
  SELECT p.id, 2, k.code, k.name, p.path || '/' || k.code, k.sort_order
    FROM (SELECT DISTINCT CASE WHEN TRIM(f.block) = '' THEN 'UNASSIGNED' ELSE f.block END AS block, COALESCE(fl.code, 'UNASSIGNED') AS code, COALESCE(fl.name, 'Floor not recorded') AS name,
                 COALESCE(fl.sort_order, 9999) AS sort_order
            FROM v2_flats f LEFT JOIN v2_floors fl ON fl.id = f.floor_id) k
    JOIN areas p ON p.level = 1 AND p.path = k.block;
  INSERT INTO contacts (id, name, phone, email, address, created_at)
  SELECT id, name, phone, email, NULL, created_at
    FROM v2_owners;
  INSERT INTO job_runs (id, job_id, run_key, status, counts, error, host, started_at, finished_at)
  SELECT id, job_id, run_key, status, counts, error, host, started_at, finished_at
    FROM v2_job_runs;
  INSERT INTO master_data_staging (import_id, part, changes, staged_at)
  SELECT import_id, part, changes, staged_at
    FROM v2_master_data_staging;
  INSERT INTO motors (id, code, name, created_at)
  SELECT id, code, name, created_at
    FROM v2_motors;
  INSERT INTO period_locks (id, month, reason, locked_by, locked_at, bill_count_at_lock)
  SELECT id, month, reason, locked_by, locked_at, bill_count_at_lock
    FROM v2_period_locks;
  INSERT INTO tariff_plans (code, name, kind, service, unit, currency, notes) VALUES ('society-electricity', 'Blessings City electricity', 'flat_rate', 'electricity', 'kWh', 'INR', 'Seed 002 pricing rules: master data rate, default 12, BHK fixed charges, special 9 rupee flats.');
  INSERT INTO users (id, username, display_name, email, role, password_hash, auth_provider, is_active, failed_login_count, locked_until, login_attempts_in_flight, login_attempt_at, password_changed_at, created_at, updated_at)
  SELECT id, username, display_name, email, role, password_hash, auth_provider, is_active, failed_login_count, locked_until, login_attempts_in_flight, login_attempt_at, password_changed_at, created_at, updated_at
    FROM v2_users;
  INSERT INTO utility_settings (id, template, name, short_code, currency, locale, timezone, account_label, account_label_plural, area_levels, service, quantity_unit, billing_day, due_days, plan_file, updated_by) VALUES (1, 'society', 'Blessings City', 'BC', 'INR', 'en_IN', 'Asia/Kolkata', 'flat', 'flats', '["Block", "Floor"]', 'electricity', 'kWh', 1, 15, 'data/tariffs/society.toml', 'system');
  INSERT INTO accounts (id, code, name, area_id, category, account_type, is_active, created_at, updated_at)
  SELECT f.id, f.code, COALESCE(o.name, ''), (SELECT a.id FROM areas a WHERE a.path = CASE WHEN TRIM(f.block) = '' THEN 'UNASSIGNED' ELSE f.block END || '/' || COALESCE(fl.code, 'UNASSIGNED')), ft.name, 'flat', f.is_active, f.created_at, f.created_at
    FROM v2_flats f LEFT JOIN v2_floors fl ON fl.id = f.floor_id LEFT JOIN v2_flat_types ft ON ft.id = f.type_id
    LEFT JOIN v2_flat_owners fo ON fo.flat_id = f.id AND fo.is_primary
    LEFT JOIN v2_owners o ON o.id = fo.owner_id;
  INSERT INTO audit_log (id, occurred_at, actor_id, actor_name, client, action, entity_type, entity_id, details)
  SELECT id, occurred_at, actor_id, actor_name, client, action, entity_type, entity_id, details
    FROM v2_audit_log;
  INSERT INTO bill_runs (id, billing_period_start, billing_period_end, due_date, service, status, created_count, skipped_count, refused_count, total_amount, error, started_by, started_at, finished_at)
  SELECT id, billing_period_start, billing_period_end, due_date, 'electricity', status, created_count, skipped_count, refused_count, total_amount, error, started_by, started_at, finished_at
    FROM v2_bill_runs;
  INSERT INTO tariff_plan_versions (plan_id, version, effective_from, params, notes, created_by_name) VALUES ((SELECT id FROM tariff_plans WHERE code = 'society-electricity'), 1, '2020-01-01', '{"default_rate": "12.0", "default_fixed_charge": "0", "master_data": true, "fixed_charge_by_bhk": {"5BHK": "2311", "4BHK": "1890", "2BHK": "1474"}, "special_rate": "9", "special_accounts": ["C14-SF", "D3-SF", "D4-SF"]}', 'The seed''s rules as they are today.', 'system');
  INSERT INTO user_sessions (id, token_hash, user_id, client, created_at, last_seen_at, expires_at, revoked_at, revoked_reason)
  SELECT id, token_hash, user_id, client, created_at, last_seen_at, expires_at, revoked_at, revoked_reason
    FROM v2_user_sessions;
  INSERT INTO account_contacts (id, account_id, contact_id, role, is_primary)
  SELECT id, flat_id, owner_id, 'owner', is_primary
    FROM v2_flat_owners;
  INSERT INTO account_motors (id, account_id, motor_id)
  SELECT id, flat_id, motor_id
    FROM v2_flat_motors;
  INSERT INTO meters (id, meter_number, account_id, motor_id, service, unit, status, is_smart, created_at)
  SELECT id, meter_number, flat_id, motor_id, 'electricity', 'kWh', status, is_smart, created_at
    FROM v2_meters;
  INSERT INTO service_connections (id, account_id, service, tariff_plan_id, is_active)
  SELECT id, id, 'electricity', (SELECT id FROM tariff_plans WHERE code = 'society-electricity'), TRUE
    FROM v2_flats;
  INSERT INTO readings (id, meter_id, reading_value, reading_date, consumption, previous_reading_id, motor_reading_value, motor_share, motor_reading_id, photo_ref, photo_url, source, status, flags, ai_opinion, approved_units, rejection_reason, submitted_by, reviewed_by, reviewed_at, created_at, updated_at)
  SELECT id, meter_id, reading_value, reading_date, consumption, previous_reading_id, motor_reading_value, motor_share, motor_reading_id, photo_ref, photo_url, source, status, flags, ai_opinion, approved_units, rejection_reason, submitted_by, reviewed_by, reviewed_at, created_at, updated_at
    FROM v2_readings;
  INSERT INTO bills (id, account_id, billing_period_start, billing_period_end, due_date, tariff_kind, pricing_rule, units, motor_units, total_units, rate_per_unit, fixed_charge, previous_outstanding, tariff_details, total_amount, status, amount_paid, paid_at, carried_forward_to, overdue_notified_at, payment_link_id, payment_link_url, last_reading_id, motor_reading_id, first_reading_id, reissue_of, superseded_by, bill_run_id, created_by, created_by_name, created_at, updated_at, service, area_id, category, tariff_plan_version_id)
  SELECT b.id, b.flat_id, b.billing_period_start, b.billing_period_end, b.due_date, b.tariff_kind, b.pricing_rule, b.flat_units, b.motor_units, b.total_units, b.rate_per_unit, b.fixed_charge, b.previous_outstanding, b.tariff_details, b.total_amount, b.status, b.amount_paid, b.paid_at, b.carried_forward_to, b.overdue_notified_at, b.payment_link_id, b.payment_link_url, b.flat_reading_id, b.motor_reading_id, b.first_reading_id, b.reissue_of, b.superseded_by, b.bill_run_id, b.created_by, b.created_by_name, b.created_at, b.updated_at, 'electricity', a.area_id, a.category, (SELECT v.id FROM tariff_plan_versions v JOIN tariff_plans p ON p.id = v.plan_id WHERE p.code = 'society-electricity' AND v.version = 1)
    FROM v2_bills b JOIN accounts a ON a.id = b.flat_id;
  INSERT INTO meter_changes (id, kind, old_meter_id, new_meter_id, change_date, final_reading_id, start_reading_id, reason, recorded_by, recorded_by_name, created_at)
  SELECT id, kind, old_meter_id, new_meter_id, change_date, final_reading_id, start_reading_id, reason, recorded_by, recorded_by_name, created_at
    FROM v2_meter_changes;
  INSERT INTO bill_lines (bill_id, seq, code, label, quantity, unit, rate, amount)
  SELECT b.id, 1, 'energy', 'Energy: ' || CAST(CAST(b.units AS NUMERIC(14, 2)) AS TEXT) || ' kWh' || CASE WHEN b.motor_units > 0 THEN ' + ' || CAST(CAST(b.motor_units AS NUMERIC(14, 2)) AS TEXT) || ' kWh shared motor' ELSE '' END, b.units + b.motor_units, 'kWh', b.rate_per_unit, round((b.units + b.motor_units) * b.rate_per_unit, 2)
    FROM bills b;
  INSERT INTO bill_lines (bill_id, seq, code, label, quantity, unit, rate, amount)
  SELECT b.id, 2, 'fixed', CASE WHEN b.pricing_rule = 'special_9' THEN 'Fixed charge (none at the special rate)' ELSE 'Fixed charge' END, 1, 'month', b.fixed_charge, b.fixed_charge
    FROM bills b;
  INSERT INTO bill_lines (bill_id, seq, code, label, quantity, unit, rate, amount)
  SELECT b.id, 3, 'arrears', 'Previous outstanding', NULL, NULL, NULL, b.previous_outstanding
    FROM bills b WHERE b.previous_outstanding > 0;
  INSERT INTO bill_readings (id, bill_id, reading_id, units, motor_units, superseded_by)
  SELECT id, bill_id, reading_id, units, motor_units, superseded_by
    FROM v2_bill_readings;
  INSERT INTO notifications (id, bill_id, contact_id, kind, channel, recipient, message, status, provider_message_id, error, attempts, resend_of, created_at, sent_at)
  SELECT id, bill_id, owner_id, kind, channel, recipient, message, status, provider_message_id, error, attempts, resend_of, created_at, sent_at
    FROM v2_notifications;
  INSERT INTO payment_events (id, bill_id, provider, event_type, stripe_event_id, payment_link_id, amount, currency, outcome, event_data, received_at)
  SELECT id, bill_id, provider, event_type, stripe_event_id, payment_link_id, amount, currency, outcome, event_data, received_at
    FROM v2_payment_events;
  INSERT INTO payments (id, bill_id, amount, paid_on, method, reference, external_id, credit_from_bill, recorded_by, recorded_by_name, created_at)
  SELECT id, bill_id, amount, paid_on, method, reference, external_id, credit_from_bill, recorded_by, recorded_by_name, created_at
    FROM v2_payments;
  -- Every row arrived, and every bill's lines add up to its total.
  IF (SELECT count(*) FROM v2_flats) <> (SELECT count(*) FROM accounts) THEN
    RAISE EXCEPTION 'UPGRADE_V3: accounts has % rows, v2_flats had %', (SELECT count(*) FROM accounts), (SELECT count(*) FROM v2_flats);
  END IF;
  IF (SELECT count(*) FROM v2_owners) <> (SELECT count(*) FROM contacts) THEN
    RAISE EXCEPTION 'UPGRADE_V3: contacts has % rows, v2_owners had %', (SELECT count(*) FROM contacts), (SELECT count(*) FROM v2_owners);
  END IF;
  IF (SELECT count(*) FROM v2_flat_owners) <> (SELECT count(*) FROM account_contacts) THEN
    RAISE EXCEPTION 'UPGRADE_V3: account_contacts has % rows, v2_flat_owners had %', (SELECT count(*) FROM account_contacts), (SELECT count(*) FROM v2_flat_owners);
  END IF;
  IF (SELECT count(*) FROM v2_flat_motors) <> (SELECT count(*) FROM account_motors) THEN
    RAISE EXCEPTION 'UPGRADE_V3: account_motors has % rows, v2_flat_motors had %', (SELECT count(*) FROM account_motors), (SELECT count(*) FROM v2_flat_motors);
  END IF;
  IF (SELECT count(*) FROM v2_flats) <> (SELECT count(*) FROM service_connections) THEN
    RAISE EXCEPTION 'UPGRADE_V3: service_connections has % rows, v2_flats had %', (SELECT count(*) FROM service_connections), (SELECT count(*) FROM v2_flats);
  END IF;
  IF (SELECT count(*) FROM v2_bill_runs) <> (SELECT count(*) FROM bill_runs) THEN
    RAISE EXCEPTION 'UPGRADE_V3: bill_runs has % rows, v2_bill_runs had %', (SELECT count(*) FROM bill_runs), (SELECT count(*) FROM v2_bill_runs);
  END IF;
  IF (SELECT count(*) FROM v2_job_runs) <> (SELECT count(*) FROM job_runs) THEN
    RAISE EXCEPTION 'UPGRADE_V3: job_runs has % rows, v2_job_runs had %', (SELECT count(*) FROM job_runs), (SELECT count(*) FROM v2_job_runs);
  END IF;
  IF (SELECT count(*) FROM v2_master_data_staging) <> (SELECT count(*) FROM master_data_staging) THEN
    RAISE EXCEPTION 'UPGRADE_V3: master_data_staging has % rows, v2_master_data_staging had %', (SELECT count(*) FROM master_data_staging), (SELECT count(*) FROM v2_master_data_staging);
  END IF;
  IF (SELECT count(*) FROM v2_motors) <> (SELECT count(*) FROM motors) THEN
    RAISE EXCEPTION 'UPGRADE_V3: motors has % rows, v2_motors had %', (SELECT count(*) FROM motors), (SELECT count(*) FROM v2_motors);
  END IF;
  IF (SELECT count(*) FROM v2_period_locks) <> (SELECT count(*) FROM period_locks) THEN
    RAISE EXCEPTION 'UPGRADE_V3: period_locks has % rows, v2_period_locks had %', (SELECT count(*) FROM period_locks), (SELECT count(*) FROM v2_period_locks);
  END IF;
  IF (SELECT count(*) FROM v2_users) <> (SELECT count(*) FROM users) THEN
    RAISE EXCEPTION 'UPGRADE_V3: users has % rows, v2_users had %', (SELECT count(*) FROM users), (SELECT count(*) FROM v2_users);
  END IF;
  IF (SELECT count(*) FROM v2_audit_log) <> (SELECT count(*) FROM audit_log) THEN
    RAISE EXCEPTION 'UPGRADE_V3: audit_log has % rows, v2_audit_log had %', (SELECT count(*) FROM audit_log), (SELECT count(*) FROM v2_audit_log);
  END IF;
  IF (SELECT count(*) FROM v2_user_sessions) <> (SELECT count(*) FROM user_sessions) THEN
    RAISE EXCEPTION 'UPGRADE_V3: user_sessions has % rows, v2_user_sessions had %', (SELECT count(*) FROM user_sessions), (SELECT count(*) FROM v2_user_sessions);
  END IF;
  IF (SELECT count(*) FROM v2_meters) <> (SELECT count(*) FROM meters) THEN
    RAISE EXCEPTION 'UPGRADE_V3: meters has % rows, v2_meters had %', (SELECT count(*) FROM meters), (SELECT count(*) FROM v2_meters);
  END IF;
  IF (SELECT count(*) FROM v2_readings) <> (SELECT count(*) FROM readings) THEN
    RAISE EXCEPTION 'UPGRADE_V3: readings has % rows, v2_readings had %', (SELECT count(*) FROM readings), (SELECT count(*) FROM v2_readings);
  END IF;
  IF (SELECT count(*) FROM v2_bills) <> (SELECT count(*) FROM bills) THEN
    RAISE EXCEPTION 'UPGRADE_V3: bills has % rows, v2_bills had %', (SELECT count(*) FROM bills), (SELECT count(*) FROM v2_bills);
  END IF;
  IF (SELECT count(*) FROM v2_meter_changes) <> (SELECT count(*) FROM meter_changes) THEN
    RAISE EXCEPTION 'UPGRADE_V3: meter_changes has % rows, v2_meter_changes had %', (SELECT count(*) FROM meter_changes), (SELECT count(*) FROM v2_meter_changes);
  END IF;
  IF (SELECT count(*) FROM v2_bill_readings) <> (SELECT count(*) FROM bill_readings) THEN
    RAISE EXCEPTION 'UPGRADE_V3: bill_readings has % rows, v2_bill_readings had %', (SELECT count(*) FROM bill_readings), (SELECT count(*) FROM v2_bill_readings);
  END IF;
  IF (SELECT count(*) FROM v2_notifications) <> (SELECT count(*) FROM notifications) THEN
    RAISE EXCEPTION 'UPGRADE_V3: notifications has % rows, v2_notifications had %', (SELECT count(*) FROM notifications), (SELECT count(*) FROM v2_notifications);
  END IF;
  IF (SELECT count(*) FROM v2_payment_events) <> (SELECT count(*) FROM payment_events) THEN
    RAISE EXCEPTION 'UPGRADE_V3: payment_events has % rows, v2_payment_events had %', (SELECT count(*) FROM payment_events), (SELECT count(*) FROM v2_payment_events);
  END IF;
  IF (SELECT count(*) FROM v2_payments) <> (SELECT count(*) FROM payments) THEN
    RAISE EXCEPTION 'UPGRADE_V3: payments has % rows, v2_payments had %', (SELECT count(*) FROM payments), (SELECT count(*) FROM v2_payments);
  END IF;
  SELECT count(*), min(b.id) FROM bills b WHERE b.total_amount <> COALESCE((SELECT sum(l.amount) FROM bill_lines l WHERE l.bill_id = b.id), -1) INTO bad, first_bad;
  IF bad > 0 THEN
    RAISE EXCEPTION 'UPGRADE_V3: the lines of % bills (the first: #%) do not add up to their totals', bad, first_bad;
  END IF;
  DROP TABLE v2_payments;
  DROP TABLE v2_payment_events;
  DROP TABLE v2_notifications;
  DROP TABLE v2_bill_readings;
  DROP TABLE v2_meter_changes;
  DROP TABLE v2_bills;
  DROP TABLE v2_readings;
  DROP TABLE v2_meters;
  DROP TABLE v2_flat_owners;
  DROP TABLE v2_flat_motors;
  DROP TABLE v2_user_sessions;
  DROP TABLE v2_flats;
  DROP TABLE v2_audit_log;
  DROP TABLE v2_users;
  DROP TABLE v2_period_locks;
  DROP TABLE v2_owners;
  DROP TABLE v2_motors;
  DROP TABLE v2_master_data_staging;
  DROP TABLE v2_job_runs;
  DROP TABLE v2_floors;
  DROP TABLE v2_flat_types;
  DROP TABLE v2_bill_runs;
  PERFORM setval(pg_get_serial_sequence('areas', 'id'), COALESCE((SELECT max(id) FROM areas), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('contacts', 'id'), COALESCE((SELECT max(id) FROM contacts), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('job_runs', 'id'), COALESCE((SELECT max(id) FROM job_runs), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('motors', 'id'), COALESCE((SELECT max(id) FROM motors), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('period_locks', 'id'), COALESCE((SELECT max(id) FROM period_locks), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('tariff_plans', 'id'), COALESCE((SELECT max(id) FROM tariff_plans), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('users', 'id'), COALESCE((SELECT max(id) FROM users), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('accounts', 'id'), COALESCE((SELECT max(id) FROM accounts), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('audit_log', 'id'), COALESCE((SELECT max(id) FROM audit_log), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('bank_files', 'id'), COALESCE((SELECT max(id) FROM bank_files), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('bill_runs', 'id'), COALESCE((SELECT max(id) FROM bill_runs), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('tariff_plan_versions', 'id'), COALESCE((SELECT max(id) FROM tariff_plan_versions), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('user_areas', 'id'), COALESCE((SELECT max(id) FROM user_areas), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('user_sessions', 'id'), COALESCE((SELECT max(id) FROM user_sessions), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('account_contacts', 'id'), COALESCE((SELECT max(id) FROM account_contacts), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('account_history', 'id'), COALESCE((SELECT max(id) FROM account_history), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('account_motors', 'id'), COALESCE((SELECT max(id) FROM account_motors), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('bank_payments', 'id'), COALESCE((SELECT max(id) FROM bank_payments), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('bill_run_manifests', 'id'), COALESCE((SELECT max(id) FROM bill_run_manifests), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('customer_accounts', 'id'), COALESCE((SELECT max(id) FROM customer_accounts), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('customer_alerts_sent', 'id'), COALESCE((SELECT max(id) FROM customer_alerts_sent), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('customer_codes', 'id'), COALESCE((SELECT max(id) FROM customer_codes), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('field_visits', 'id'), COALESCE((SELECT max(id) FROM field_visits), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('meters', 'id'), COALESCE((SELECT max(id) FROM meters), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('service_connections', 'id'), COALESCE((SELECT max(id) FROM service_connections), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('usage_anomalies', 'id'), COALESCE((SELECT max(id) FROM usage_anomalies), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('readings', 'id'), COALESCE((SELECT max(id) FROM readings), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('bills', 'id'), COALESCE((SELECT max(id) FROM bills), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('daily_usage', 'id'), COALESCE((SELECT max(id) FROM daily_usage), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('meter_changes', 'id'), COALESCE((SELECT max(id) FROM meter_changes), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('photo_hashes', 'id'), COALESCE((SELECT max(id) FROM photo_hashes), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('bill_lines', 'id'), COALESCE((SELECT max(id) FROM bill_lines), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('bill_readings', 'id'), COALESCE((SELECT max(id) FROM bill_readings), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('notifications', 'id'), COALESCE((SELECT max(id) FROM notifications), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('payment_events', 'id'), COALESCE((SELECT max(id) FROM payment_events), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('payments', 'id'), COALESCE((SELECT max(id) FROM payments), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('tickets', 'id'), COALESCE((SELECT max(id) FROM tickets), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('ticket_attachments', 'id'), COALESCE((SELECT max(id) FROM ticket_attachments), 0) + 1, false);
  PERFORM setval(pg_get_serial_sequence('ticket_comments', 'id'), COALESCE((SELECT max(id) FROM ticket_comments), 0) + 1, false);
  INSERT INTO audit_log (actor_name, action, entity_type, entity_id, details)
SELECT 'system', 'schema.upgrade', 'schema', '3', jsonb_build_object('from_version', CAST(value AS INTEGER), 'to_version', 3, 'accounts', (SELECT count(*) FROM accounts), 'areas', (SELECT count(*) FROM areas), 'bills', (SELECT count(*) FROM bills), 'bill_lines', (SELECT count(*) FROM bill_lines)) FROM schema_info WHERE key = 'version';
  -- Statistics now, not when autovacuum gets to the new tables: the first pages would be planned blind.
  ANALYZE archived_bill_lines, archived_bill_readings, archived_bill_seals, archived_bills, archived_notifications, archived_payment_events, archived_payments, areas, bill_archive_months, bill_month_totals, bill_number_series, contacts, job_runs, master_data_staging, motors, period_locks, schema_info, tariff_plans, usage_day_index, users, utility_settings, accounts, audit_log, bank_files, bill_runs, consumer_pattern_totals, customer_preferences, tariff_plan_versions, user_areas, user_sessions, account_contacts, account_history, account_motors, account_surveys, bank_payments, bill_run_manifests, customer_accounts, customer_alerts_sent, customer_codes, field_visits, meters, service_connections, usage_anomalies, usage_baselines, readings, bills, daily_usage, meter_changes, photo_hashes, bill_lines, bill_readings, bill_seals, notifications, payment_events, payments, tickets, ticket_attachments, ticket_comments;
END $$;

-- ---- rule triggers (from database/triggers.py): period locks, immutable bills, append-only tables ----

CREATE OR REPLACE FUNCTION meterline_bills_not_archived() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF EXISTS (SELECT 1 FROM bills_not_archived_new n JOIN archived_bills a
                          ON a.account_id = n.account_id AND a.service = n.service
                         AND a.billing_period_start = n.billing_period_start AND a.id <> n.id) THEN
               RAISE EXCEPTION 'BILL_ARCHIVED: the bill of this account and period is in the archive; restore its month before billing it again' USING ERRCODE = 'P0001';
             END IF;
             RETURN NULL;
           END $$;

DROP TRIGGER IF EXISTS trg_bills_not_archived ON bills;

CREATE TRIGGER trg_bills_not_archived AFTER INSERT ON bills REFERENCING NEW TABLE AS bills_not_archived_new
           FOR EACH STATEMENT EXECUTE FUNCTION meterline_bills_not_archived();

CREATE OR REPLACE FUNCTION meterline_archive_copy() RETURNS trigger
           LANGUAGE plpgsql AS $$
           DECLARE
             v_key bigint;
             v_live boolean;
           BEGIN
             IF TG_OP = 'UPDATE' THEN
               RAISE EXCEPTION 'ARCHIVE_COPY: an archived row is a copy of a live row: it is written only while the live row exists, removed only once it is back, and never changed' USING ERRCODE = 'P0001';
             ELSIF TG_OP = 'INSERT' THEN
               v_key := (to_jsonb(NEW) ->> TG_ARGV[1])::bigint;
             ELSE
               v_key := (to_jsonb(OLD) ->> TG_ARGV[1])::bigint;
             END IF;
             EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I = $1)', TG_ARGV[0], TG_ARGV[1])
               INTO v_live USING v_key;
             IF NOT v_live THEN
               RAISE EXCEPTION 'ARCHIVE_COPY: an archived row is a copy of a live row: it is written only while the live row exists, removed only once it is back, and never changed' USING ERRCODE = 'P0001';
             END IF;
             IF TG_OP = 'INSERT' THEN
               RETURN NEW;
             END IF;
             RETURN OLD;
           END $$;

CREATE OR REPLACE FUNCTION meterline_in_archive(p_table text, p_key bigint) RETURNS boolean
           LANGUAGE plpgsql STABLE AS $$
           DECLARE
             v boolean;
           BEGIN
             EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I = $1)', 'archived_' || p_table,
                            CASE WHEN p_table = 'bill_seals' THEN 'seq' ELSE 'id' END)
               INTO v USING p_key;
             RETURN v;
           END $$;

DROP TRIGGER IF EXISTS trg_archived_bills_copy ON archived_bills;

CREATE TRIGGER trg_archived_bills_copy BEFORE INSERT OR UPDATE OR DELETE ON archived_bills
                    FOR EACH ROW EXECUTE FUNCTION meterline_archive_copy('bills', 'id');

DROP TRIGGER IF EXISTS trg_archived_bill_lines_copy ON archived_bill_lines;

CREATE TRIGGER trg_archived_bill_lines_copy BEFORE INSERT OR UPDATE OR DELETE ON archived_bill_lines
                    FOR EACH ROW EXECUTE FUNCTION meterline_archive_copy('bill_lines', 'id');

DROP TRIGGER IF EXISTS trg_archived_bill_readings_copy ON archived_bill_readings;

CREATE TRIGGER trg_archived_bill_readings_copy BEFORE INSERT OR UPDATE OR DELETE ON archived_bill_readings
                    FOR EACH ROW EXECUTE FUNCTION meterline_archive_copy('bill_readings', 'id');

DROP TRIGGER IF EXISTS trg_archived_payments_copy ON archived_payments;

CREATE TRIGGER trg_archived_payments_copy BEFORE INSERT OR UPDATE OR DELETE ON archived_payments
                    FOR EACH ROW EXECUTE FUNCTION meterline_archive_copy('payments', 'id');

DROP TRIGGER IF EXISTS trg_archived_payment_events_copy ON archived_payment_events;

CREATE TRIGGER trg_archived_payment_events_copy BEFORE INSERT OR UPDATE OR DELETE ON archived_payment_events
                    FOR EACH ROW EXECUTE FUNCTION meterline_archive_copy('payment_events', 'id');

DROP TRIGGER IF EXISTS trg_archived_notifications_copy ON archived_notifications;

CREATE TRIGGER trg_archived_notifications_copy BEFORE INSERT OR UPDATE OR DELETE ON archived_notifications
                    FOR EACH ROW EXECUTE FUNCTION meterline_archive_copy('notifications', 'id');

DROP TRIGGER IF EXISTS trg_archived_bill_seals_copy ON archived_bill_seals;

CREATE TRIGGER trg_archived_bill_seals_copy BEFORE INSERT OR UPDATE OR DELETE ON archived_bill_seals
                    FOR EACH ROW EXECUTE FUNCTION meterline_archive_copy('bill_seals', 'seq');

CREATE OR REPLACE FUNCTION meterline_bills_period_lock() RETURNS trigger
           LANGUAGE plpgsql AS $$
           DECLARE
             v_month text;
           BEGIN
             IF EXISTS (SELECT 1 FROM archived_bills a WHERE a.id = NEW.id) THEN
               RETURN NEW;  -- a restore from the archive (issue 14): the bill that was issued
             END IF;
             SELECT month INTO v_month FROM period_locks
              WHERE month BETWEEN to_char(NEW.billing_period_start, 'YYYY-MM')
                              AND to_char(NEW.billing_period_end, 'YYYY-MM')
              ORDER BY month LIMIT 1;
             IF v_month IS NOT NULL THEN
               RAISE EXCEPTION 'PERIOD_LOCKED: billing period % is locked; no bill may end in it or cover any day of it',
                 v_month
                 USING ERRCODE = 'P0001',
                       HINT = 'Choose a billing period outside the locked month, or ask an administrator.';
             END IF;
             RETURN NEW;
           END $$;

DROP TRIGGER IF EXISTS trg_bills_period_lock ON bills;

CREATE TRIGGER trg_bills_period_lock BEFORE INSERT ON bills
           FOR EACH ROW EXECUTE FUNCTION meterline_bills_period_lock();

CREATE OR REPLACE FUNCTION meterline_bills_immutable() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF TG_OP = 'DELETE' THEN
               IF EXISTS (SELECT 1 FROM archived_bills a WHERE a.id = OLD.id) THEN
                 RETURN OLD;  -- its copy is in the archive (issue 14)
               END IF;
               RAISE EXCEPTION 'BILL_IMMUTABLE: an issued bill cannot be changed or deleted; only its payment status may be updated' USING ERRCODE = 'P0001';
             END IF;
             IF OLD.account_id IS DISTINCT FROM NEW.account_id OR OLD.service IS DISTINCT FROM NEW.service OR OLD.area_id IS DISTINCT FROM NEW.area_id OR OLD.billing_period_start IS DISTINCT FROM NEW.billing_period_start OR OLD.billing_period_end IS DISTINCT FROM NEW.billing_period_end OR OLD.due_date IS DISTINCT FROM NEW.due_date OR OLD.tariff_kind IS DISTINCT FROM NEW.tariff_kind OR OLD.pricing_rule IS DISTINCT FROM NEW.pricing_rule OR OLD.tariff_plan_version_id IS DISTINCT FROM NEW.tariff_plan_version_id OR OLD.category IS DISTINCT FROM NEW.category OR OLD.units IS DISTINCT FROM NEW.units OR OLD.motor_units IS DISTINCT FROM NEW.motor_units OR OLD.total_units IS DISTINCT FROM NEW.total_units OR OLD.rate_per_unit IS DISTINCT FROM NEW.rate_per_unit OR OLD.fixed_charge IS DISTINCT FROM NEW.fixed_charge OR OLD.previous_outstanding IS DISTINCT FROM NEW.previous_outstanding OR OLD.tariff_details IS DISTINCT FROM NEW.tariff_details OR OLD.total_amount IS DISTINCT FROM NEW.total_amount OR OLD.psid IS DISTINCT FROM NEW.psid OR OLD.last_reading_id IS DISTINCT FROM NEW.last_reading_id OR OLD.motor_reading_id IS DISTINCT FROM NEW.motor_reading_id OR OLD.first_reading_id IS DISTINCT FROM NEW.first_reading_id OR OLD.usage_from IS DISTINCT FROM NEW.usage_from OR OLD.usage_to IS DISTINCT FROM NEW.usage_to OR OLD.reissue_of IS DISTINCT FROM NEW.reissue_of OR OLD.bill_run_id IS DISTINCT FROM NEW.bill_run_id OR OLD.created_by IS DISTINCT FROM NEW.created_by OR OLD.created_by_name IS DISTINCT FROM NEW.created_by_name OR OLD.created_at IS DISTINCT FROM NEW.created_at THEN
               RAISE EXCEPTION 'BILL_IMMUTABLE: an issued bill cannot be changed or deleted; only its payment status may be updated' USING ERRCODE = 'P0001';
             END IF;
             RETURN NEW;
           END $$;

DROP TRIGGER IF EXISTS trg_bills_immutable ON bills;

CREATE TRIGGER trg_bills_immutable BEFORE UPDATE OR DELETE ON bills
           FOR EACH ROW EXECUTE FUNCTION meterline_bills_immutable();

CREATE OR REPLACE FUNCTION meterline_append_only() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             -- A bill's rows leave only for the archive (issue 14), where their copies already are.
             IF TG_OP = 'DELETE' AND TG_TABLE_NAME IN ('bills', 'bill_lines', 'bill_readings', 'payments', 'payment_events', 'notifications', 'bill_seals') THEN
               IF meterline_in_archive(TG_TABLE_NAME, (to_jsonb(OLD) ->> 'id')::bigint) THEN
                 RETURN OLD;
               END IF;
             END IF;
             RAISE EXCEPTION 'APPEND_ONLY: rows of this table are never changed or deleted' USING ERRCODE = 'P0001';
           END $$;

DROP TRIGGER IF EXISTS trg_audit_log_append_only ON audit_log;

CREATE TRIGGER trg_audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
                    FOR EACH ROW EXECUTE FUNCTION meterline_append_only();

DROP TRIGGER IF EXISTS trg_payments_append_only ON payments;

CREATE TRIGGER trg_payments_append_only BEFORE UPDATE OR DELETE ON payments
                    FOR EACH ROW EXECUTE FUNCTION meterline_append_only();

DROP TRIGGER IF EXISTS trg_payment_events_append_only ON payment_events;

CREATE TRIGGER trg_payment_events_append_only BEFORE UPDATE OR DELETE ON payment_events
                    FOR EACH ROW EXECUTE FUNCTION meterline_append_only();

DROP TRIGGER IF EXISTS trg_period_locks_append_only ON period_locks;

CREATE TRIGGER trg_period_locks_append_only BEFORE UPDATE OR DELETE ON period_locks
                    FOR EACH ROW EXECUTE FUNCTION meterline_append_only();

DROP TRIGGER IF EXISTS trg_bill_lines_append_only ON bill_lines;

CREATE TRIGGER trg_bill_lines_append_only BEFORE UPDATE OR DELETE ON bill_lines
                    FOR EACH ROW EXECUTE FUNCTION meterline_append_only();

DROP TRIGGER IF EXISTS trg_tariff_plan_versions_append_only ON tariff_plan_versions;

CREATE TRIGGER trg_tariff_plan_versions_append_only BEFORE UPDATE OR DELETE ON tariff_plan_versions
                    FOR EACH ROW EXECUTE FUNCTION meterline_append_only();

CREATE OR REPLACE FUNCTION meterline_no_truncate() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             RAISE EXCEPTION 'APPEND_ONLY: TRUNCATE % is refused; rows of this table are never removed', TG_TABLE_NAME
               USING ERRCODE = 'P0001';
           END $$;

DROP TRIGGER IF EXISTS trg_bills_no_truncate ON bills;

CREATE TRIGGER trg_bills_no_truncate BEFORE TRUNCATE ON bills
                    FOR EACH STATEMENT EXECUTE FUNCTION meterline_no_truncate();

DROP TRIGGER IF EXISTS trg_payments_no_truncate ON payments;

CREATE TRIGGER trg_payments_no_truncate BEFORE TRUNCATE ON payments
                    FOR EACH STATEMENT EXECUTE FUNCTION meterline_no_truncate();

DROP TRIGGER IF EXISTS trg_audit_log_no_truncate ON audit_log;

CREATE TRIGGER trg_audit_log_no_truncate BEFORE TRUNCATE ON audit_log
                    FOR EACH STATEMENT EXECUTE FUNCTION meterline_no_truncate();

DROP TRIGGER IF EXISTS trg_period_locks_no_truncate ON period_locks;

CREATE TRIGGER trg_period_locks_no_truncate BEFORE TRUNCATE ON period_locks
                    FOR EACH STATEMENT EXECUTE FUNCTION meterline_no_truncate();

DROP TRIGGER IF EXISTS trg_payment_events_no_truncate ON payment_events;

CREATE TRIGGER trg_payment_events_no_truncate BEFORE TRUNCATE ON payment_events
                    FOR EACH STATEMENT EXECUTE FUNCTION meterline_no_truncate();

DROP TRIGGER IF EXISTS trg_readings_no_truncate ON readings;

CREATE TRIGGER trg_readings_no_truncate BEFORE TRUNCATE ON readings
                    FOR EACH STATEMENT EXECUTE FUNCTION meterline_no_truncate();

DROP TRIGGER IF EXISTS trg_meter_changes_no_truncate ON meter_changes;

CREATE TRIGGER trg_meter_changes_no_truncate BEFORE TRUNCATE ON meter_changes
                    FOR EACH STATEMENT EXECUTE FUNCTION meterline_no_truncate();

DROP TRIGGER IF EXISTS trg_bill_lines_no_truncate ON bill_lines;

CREATE TRIGGER trg_bill_lines_no_truncate BEFORE TRUNCATE ON bill_lines
                    FOR EACH STATEMENT EXECUTE FUNCTION meterline_no_truncate();

DROP TRIGGER IF EXISTS trg_tariff_plan_versions_no_truncate ON tariff_plan_versions;

CREATE TRIGGER trg_tariff_plan_versions_no_truncate BEFORE TRUNCATE ON tariff_plan_versions
                    FOR EACH STATEMENT EXECUTE FUNCTION meterline_no_truncate();

CREATE OR REPLACE FUNCTION meterline_period_locks_month_format() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF NEW.month !~ '^[0-9]{4}-(0[1-9]|1[0-2])$' THEN
               RAISE EXCEPTION 'BAD_MONTH: period_locks.month must be a month written YYYY-MM' USING ERRCODE = 'P0001';
             END IF;
             RETURN NEW;
           END $$;

DROP TRIGGER IF EXISTS trg_period_locks_month_format ON period_locks;

CREATE TRIGGER trg_period_locks_month_format BEFORE INSERT ON period_locks
           FOR EACH ROW EXECUTE FUNCTION meterline_period_locks_month_format();

CREATE OR REPLACE FUNCTION meterline_reading_is_billed(p_id bigint) RETURNS boolean
           LANGUAGE sql STABLE AS $$ SELECT (EXISTS (SELECT 1 FROM bill_readings WHERE reading_id = p_id AND superseded_by IS NULL) OR EXISTS (SELECT 1 FROM bills WHERE motor_reading_id = p_id AND status <> 'superseded') OR EXISTS (SELECT 1 FROM archived_bill_readings WHERE reading_id = p_id AND superseded_by IS NULL) OR EXISTS (SELECT 1 FROM archived_bills WHERE motor_reading_id = p_id AND status <> 'superseded')) $$;

CREATE OR REPLACE FUNCTION meterline_readings_immutable() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF OLD.meter_id IS DISTINCT FROM NEW.meter_id OR OLD.reading_value IS DISTINCT FROM NEW.reading_value OR OLD.reading_date IS DISTINCT FROM NEW.reading_date OR OLD.motor_reading_value IS DISTINCT FROM NEW.motor_reading_value OR OLD.motor_share IS DISTINCT FROM NEW.motor_share OR OLD.motor_reading_id IS DISTINCT FROM NEW.motor_reading_id OR OLD.submitted_by IS DISTINCT FROM NEW.submitted_by OR OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.source IS DISTINCT FROM NEW.source THEN
               RAISE EXCEPTION 'READING_IMMUTABLE: the value, date and meter of a stored reading never change; reject it and submit a new one' USING ERRCODE = 'P0001';
             END IF;
             IF OLD.consumption IS DISTINCT FROM NEW.consumption OR OLD.previous_reading_id IS DISTINCT FROM NEW.previous_reading_id THEN
               IF meterline_reading_is_billed(OLD.id) THEN
                 RAISE EXCEPTION 'READING_BILLED: the consumption of a billed reading never changes' USING ERRCODE = 'P0001';
               END IF;
               IF NOT ((NEW.previous_reading_id IS NULL AND NEW.consumption IS NULL) OR EXISTS (
                SELECT 1 FROM readings p WHERE p.id = NEW.previous_reading_id AND p.meter_id = NEW.meter_id
                  AND p.status <> 'rejected' AND p.id <> NEW.id
                  AND (p.reading_date < NEW.reading_date OR (p.reading_date = NEW.reading_date AND p.id < NEW.id))
                  AND NEW.consumption IS NOT NULL AND NEW.consumption - (NEW.reading_value - p.reading_value) = 0)) THEN
                 RAISE EXCEPTION 'READING_RELINK: consumption must be this reading minus an earlier reading of the same meter (previous_reading_id), or both empty' USING ERRCODE = 'P0001';
               END IF;
             END IF;
             RETURN NEW;
           END $$;

DROP TRIGGER IF EXISTS trg_readings_immutable ON readings;

CREATE TRIGGER trg_readings_immutable BEFORE UPDATE ON readings
           FOR EACH ROW EXECUTE FUNCTION meterline_readings_immutable();

DROP TRIGGER IF EXISTS trg_meter_changes_append_only ON meter_changes;

CREATE TRIGGER trg_meter_changes_append_only BEFORE UPDATE OR DELETE ON meter_changes
           FOR EACH ROW EXECUTE FUNCTION meterline_append_only();

CREATE OR REPLACE FUNCTION meterline_bills_superseded() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF TG_OP = 'INSERT' AND EXISTS (SELECT 1 FROM archived_bills a WHERE a.id = NEW.id) THEN
               RETURN NEW;  -- restored from the archive as it was issued (issue 14)
             END IF;
             IF TG_OP = 'INSERT' OR (OLD.status = 'superseded' AND (NEW.status IS DISTINCT FROM OLD.status OR NEW.superseded_by IS DISTINCT FROM OLD.superseded_by OR NEW.amount_paid IS DISTINCT FROM OLD.amount_paid OR NEW.carried_forward_to IS DISTINCT FROM OLD.carried_forward_to)) OR (NEW.status = 'superseded' AND (NEW.superseded_by IS NULL OR NEW.superseded_by = NEW.id OR OLD.status = 'carried_forward')) OR (NEW.status <> 'superseded' AND NEW.superseded_by IS NOT NULL) THEN
               RAISE EXCEPTION 'BILL_SUPERSEDED: a superseded bill never changes again, and a bill becomes superseded only by a re-issue that names its replacement' USING ERRCODE = 'P0001';
             END IF;
             RETURN NEW;
           END $$;

DROP TRIGGER IF EXISTS trg_bills_insert_not_superseded ON bills;

CREATE TRIGGER trg_bills_insert_not_superseded BEFORE INSERT ON bills
           FOR EACH ROW WHEN (NEW.status = 'superseded' OR NEW.superseded_by IS NOT NULL)
           EXECUTE FUNCTION meterline_bills_superseded();

DROP TRIGGER IF EXISTS trg_bills_superseded_terminal ON bills;

CREATE TRIGGER trg_bills_superseded_terminal BEFORE UPDATE ON bills
           FOR EACH ROW WHEN (OLD.status = 'superseded' OR NEW.status = 'superseded' OR NEW.superseded_by IS NOT NULL)
           EXECUTE FUNCTION meterline_bills_superseded();

CREATE OR REPLACE FUNCTION meterline_bills_release_coverage() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             UPDATE bill_readings SET superseded_by = NEW.superseded_by
              WHERE bill_id = NEW.id AND superseded_by IS NULL;
             RETURN NULL;
           END $$;

DROP TRIGGER IF EXISTS trg_bills_release_coverage ON bills;

CREATE TRIGGER trg_bills_release_coverage AFTER UPDATE OF status ON bills
           FOR EACH ROW WHEN (NEW.status = 'superseded' AND OLD.status <> 'superseded')
           EXECUTE FUNCTION meterline_bills_release_coverage();

CREATE OR REPLACE FUNCTION meterline_bill_readings_guard() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM archived_bill_readings a WHERE a.id = OLD.id) THEN
               RETURN OLD;  -- its copy is in the archive (issue 14)
             END IF;
             IF TG_OP = 'DELETE' OR NOT (
                  OLD.superseded_by IS NULL AND NEW.superseded_by IS NOT NULL AND NEW.id = OLD.id
                  AND NEW.bill_id = OLD.bill_id AND NEW.reading_id = OLD.reading_id AND NEW.units = OLD.units
                  AND NEW.motor_units = OLD.motor_units
                  AND NEW.superseded_by IS NOT DISTINCT FROM (
                    SELECT b.superseded_by FROM bills b WHERE b.id = OLD.bill_id AND b.status = 'superseded')) THEN
               RAISE EXCEPTION 'APPEND_ONLY: rows of this table are never changed or deleted' USING ERRCODE = 'P0001';
             END IF;
             RETURN NEW;
           END $$;

DROP TRIGGER IF EXISTS trg_bill_readings_guard ON bill_readings;

CREATE TRIGGER trg_bill_readings_guard BEFORE UPDATE OR DELETE ON bill_readings
           FOR EACH ROW EXECUTE FUNCTION meterline_bill_readings_guard();

CREATE OR REPLACE FUNCTION meterline_bill_readings_inserted() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             -- Rows restored from the archive (issue 14) are checked by nothing: they are the rows stored.
             IF EXISTS (SELECT 1 FROM new_rows n JOIN bill_readings x
                          ON x.reading_id = n.reading_id AND x.superseded_by IS NULL AND x.id <> n.id
                         WHERE NOT EXISTS (SELECT 1 FROM archived_bill_readings a WHERE a.id = n.id))
                OR EXISTS (SELECT 1 FROM new_rows n JOIN archived_bill_readings x  -- covered by an archived bill
                             ON x.reading_id = n.reading_id AND x.superseded_by IS NULL AND x.id <> n.id) THEN
               RAISE EXCEPTION 'BILL_READING_TAKEN: the reading is already covered by a bill that is not superseded' USING ERRCODE = 'P0001';
             END IF;
             IF EXISTS (SELECT 1 FROM new_rows n
                         WHERE NOT EXISTS (SELECT 1 FROM archived_bill_readings a WHERE a.id = n.id)
                           AND (n.superseded_by IS NOT NULL OR NOT EXISTS (
                           SELECT 1 FROM bills b JOIN readings r ON r.id = n.reading_id JOIN meters m ON m.id = r.meter_id
                            WHERE b.id = n.bill_id AND b.status <> 'superseded' AND r.status = 'approved'
                              AND m.account_id = b.account_id))) THEN
               RAISE EXCEPTION 'BILL_READING_INVALID: a bill covers only approved readings of its own account, and a superseded bill covers nothing new' USING ERRCODE = 'P0001';
             END IF;
             RETURN NULL;
           END $$;

DROP TRIGGER IF EXISTS trg_bill_readings_inserted ON bill_readings;

CREATE TRIGGER trg_bill_readings_inserted AFTER INSERT ON bill_readings
           REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
           EXECUTE FUNCTION meterline_bill_readings_inserted();

CREATE OR REPLACE FUNCTION meterline_payments_credit() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF NEW.method IS DISTINCT FROM 'credit' OR NOT EXISTS (
                  SELECT 1 FROM bills o WHERE o.id = NEW.credit_from_bill AND o.status = 'superseded'
                     AND o.superseded_by = NEW.bill_id AND o.amount_paid = NEW.amount) THEN
               RAISE EXCEPTION 'CREDIT_INVALID: a credit moves exactly what was paid on a superseded bill to the bill that replaced it, once' USING ERRCODE = 'P0001';
             END IF;
             RETURN NEW;
           END $$;

DROP TRIGGER IF EXISTS trg_payments_credit ON payments;

CREATE TRIGGER trg_payments_credit BEFORE INSERT ON payments
           FOR EACH ROW WHEN (NEW.method = 'credit' OR NEW.credit_from_bill IS NOT NULL)
           EXECUTE FUNCTION meterline_payments_credit();

CREATE OR REPLACE FUNCTION meterline_bills_number_fixed() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF OLD.bill_number IS NOT NULL AND NEW.bill_number IS DISTINCT FROM OLD.bill_number THEN
               RAISE EXCEPTION 'BILL_NUMBER_FIXED: the number of a bill never changes once it has one' USING ERRCODE = 'P0001';
             END IF;
             RETURN NEW;
           END $$;

DROP TRIGGER IF EXISTS trg_bills_number_fixed ON bills;

CREATE TRIGGER trg_bills_number_fixed BEFORE UPDATE OF bill_number ON bills
           FOR EACH ROW EXECUTE FUNCTION meterline_bills_number_fixed();

CREATE OR REPLACE FUNCTION meterline_bill_number_series_up() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF TG_OP <> 'UPDATE' OR NEW.last_number < OLD.last_number OR NEW.series IS DISTINCT FROM OLD.series THEN
               RAISE EXCEPTION 'BILL_NUMBER_SERIES: a bill number series only counts up; its numbers are never handed out again' USING ERRCODE = 'P0001';
             END IF;
             RETURN NEW;
           END $$;

DROP TRIGGER IF EXISTS trg_bill_number_series_up ON bill_number_series;

CREATE TRIGGER trg_bill_number_series_up BEFORE UPDATE OR DELETE ON bill_number_series
           FOR EACH ROW EXECUTE FUNCTION meterline_bill_number_series_up();

DROP TRIGGER IF EXISTS trg_bill_number_series_no_truncate ON bill_number_series;

CREATE TRIGGER trg_bill_number_series_no_truncate BEFORE TRUNCATE ON bill_number_series
           FOR EACH STATEMENT EXECUTE FUNCTION meterline_no_truncate();

CREATE OR REPLACE FUNCTION bill_seals_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM archived_bill_seals a WHERE a.seq = OLD.seq) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'BILL_SEAL_APPEND_ONLY: the seal of a bill is never changed or deleted';
END $$;

DROP TRIGGER IF EXISTS bill_seals_append_only ON bill_seals;

CREATE TRIGGER bill_seals_append_only BEFORE UPDATE OR DELETE ON bill_seals FOR EACH ROW EXECUTE FUNCTION bill_seals_append_only();

CREATE OR REPLACE FUNCTION meterline_field_visits_review_only() RETURNS trigger
               LANGUAGE plpgsql AS $$
               BEGIN
                 IF TG_OP = 'DELETE' THEN
                   RAISE EXCEPTION 'FIELD_NO_DELETE: tickets and visits are never deleted' USING ERRCODE = 'P0001';
                 END IF;
                 IF OLD.status <> 'pending' THEN
                   RAISE EXCEPTION 'FIELD_DECIDED: an approved or rejected ticket or visit never changes' USING ERRCODE = 'P0001';
                 END IF;
                 IF OLD.id IS DISTINCT FROM NEW.id OR OLD.account_id IS DISTINCT FROM NEW.account_id OR OLD.area_id IS DISTINCT FROM NEW.area_id OR OLD.agent_id IS DISTINCT FROM NEW.agent_id OR OLD.agent_name IS DISTINCT FROM NEW.agent_name OR OLD.visited_at IS DISTINCT FROM NEW.visited_at OR OLD.visit_date IS DISTINCT FROM NEW.visit_date OR OLD.outcome IS DISTINCT FROM NEW.outcome OR OLD.notes IS DISTINCT FROM NEW.notes OR OLD.photo_ref IS DISTINCT FROM NEW.photo_ref OR OLD.photo_url IS DISTINCT FROM NEW.photo_url OR OLD.gps_lat IS DISTINCT FROM NEW.gps_lat OR OLD.gps_lon IS DISTINCT FROM NEW.gps_lon OR OLD.gps_accuracy_m IS DISTINCT FROM NEW.gps_accuracy_m OR OLD.distance_m IS DISTINCT FROM NEW.distance_m OR OLD.radius_m IS DISTINCT FROM NEW.radius_m OR OLD.flagged IS DISTINCT FROM NEW.flagged OR OLD.created_at IS DISTINCT FROM NEW.created_at THEN
                   RAISE EXCEPTION 'FIELD_FIXED: what a ticket or visit reported never changes; only its review (pending -> approved or rejected)' USING ERRCODE = 'P0001';
                 END IF;
                 RETURN NEW;
               END $$;

DROP TRIGGER IF EXISTS trg_field_visits_review_only ON field_visits;

CREATE TRIGGER trg_field_visits_review_only BEFORE UPDATE OR DELETE ON field_visits
               FOR EACH ROW EXECUTE FUNCTION meterline_field_visits_review_only();

DROP TRIGGER IF EXISTS trg_field_visits_no_truncate ON field_visits;

CREATE TRIGGER trg_field_visits_no_truncate BEFORE TRUNCATE ON field_visits
               FOR EACH STATEMENT EXECUTE FUNCTION meterline_no_truncate();

CREATE OR REPLACE FUNCTION meterline_tickets_review_only() RETURNS trigger
               LANGUAGE plpgsql AS $$
               BEGIN
                 IF TG_OP = 'DELETE' THEN
                   RAISE EXCEPTION 'FIELD_NO_DELETE: tickets and visits are never deleted' USING ERRCODE = 'P0001';
                 END IF;
                 IF OLD.status <> 'pending' THEN
                   RAISE EXCEPTION 'FIELD_DECIDED: an approved or rejected ticket or visit never changes' USING ERRCODE = 'P0001';
                 END IF;
                 IF OLD.id IS DISTINCT FROM NEW.id OR OLD.account_id IS DISTINCT FROM NEW.account_id OR OLD.area_id IS DISTINCT FROM NEW.area_id OR OLD.kind IS DISTINCT FROM NEW.kind OR OLD.description IS DISTINCT FROM NEW.description OR OLD.source IS DISTINCT FROM NEW.source OR OLD.bill_id IS DISTINCT FROM NEW.bill_id OR OLD.visit_id IS DISTINCT FROM NEW.visit_id OR OLD.proposed_change IS DISTINCT FROM NEW.proposed_change OR OLD.raised_by IS DISTINCT FROM NEW.raised_by OR OLD.raised_by_name IS DISTINCT FROM NEW.raised_by_name OR OLD.raised_at IS DISTINCT FROM NEW.raised_at THEN
                   RAISE EXCEPTION 'FIELD_FIXED: what a ticket or visit reported never changes; only its review (pending -> approved or rejected)' USING ERRCODE = 'P0001';
                 END IF;
                 RETURN NEW;
               END $$;

DROP TRIGGER IF EXISTS trg_tickets_review_only ON tickets;

CREATE TRIGGER trg_tickets_review_only BEFORE UPDATE OR DELETE ON tickets
               FOR EACH ROW EXECUTE FUNCTION meterline_tickets_review_only();

DROP TRIGGER IF EXISTS trg_tickets_no_truncate ON tickets;

CREATE TRIGGER trg_tickets_no_truncate BEFORE TRUNCATE ON tickets
               FOR EACH STATEMENT EXECUTE FUNCTION meterline_no_truncate();

DROP TRIGGER IF EXISTS trg_ticket_comments_append_only ON ticket_comments;

CREATE TRIGGER trg_ticket_comments_append_only BEFORE UPDATE OR DELETE ON ticket_comments
               FOR EACH ROW EXECUTE FUNCTION meterline_append_only();

DROP TRIGGER IF EXISTS trg_ticket_attachments_append_only ON ticket_attachments;

CREATE TRIGGER trg_ticket_attachments_append_only BEFORE UPDATE OR DELETE ON ticket_attachments
               FOR EACH ROW EXECUTE FUNCTION meterline_append_only();

CREATE OR REPLACE FUNCTION meterline_readings_undo_review() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF OLD.status IN ('approved', 'rejected') AND NEW.status = 'pending' AND ((EXISTS (SELECT 1 FROM bill_readings WHERE reading_id = OLD.id AND superseded_by IS NULL) OR EXISTS (SELECT 1 FROM bills WHERE motor_reading_id = OLD.id AND status <> 'superseded') OR EXISTS (SELECT 1 FROM archived_bill_readings WHERE reading_id = OLD.id AND superseded_by IS NULL) OR EXISTS (SELECT 1 FROM archived_bills WHERE motor_reading_id = OLD.id AND status <> 'superseded')) OR (OLD.status = 'rejected' AND (
        (NEW.previous_reading_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM (SELECT x.id, x.reading_value FROM readings x
                   WHERE x.meter_id = NEW.meter_id AND x.status <> 'rejected' AND x.id <> NEW.id AND (x.reading_date < NEW.reading_date OR (x.reading_date = NEW.reading_date AND x.id < NEW.id))
                   ORDER BY x.reading_date DESC, x.id DESC LIMIT 1) l WHERE l.id = NEW.previous_reading_id))
        OR (NEW.previous_reading_id IS NULL AND NEW.consumption IS NULL AND EXISTS (SELECT 1 FROM (SELECT x.id, x.reading_value FROM readings x
                   WHERE x.meter_id = NEW.meter_id AND x.status <> 'rejected' AND x.id <> NEW.id AND (x.reading_date < NEW.reading_date OR (x.reading_date = NEW.reading_date AND x.id < NEW.id))
                   ORDER BY x.reading_date DESC, x.id DESC LIMIT 1) l))
        OR (NEW.previous_reading_id IS NULL AND NEW.consumption IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM (SELECT x.id, x.reading_value FROM readings x
                   WHERE x.meter_id = NEW.meter_id AND x.status <> 'rejected' AND x.id <> NEW.id AND (x.reading_date < NEW.reading_date OR (x.reading_date = NEW.reading_date AND x.id < NEW.id))
                   ORDER BY x.reading_date DESC, x.id DESC LIMIT 1) l WHERE ABS(l.reading_value - (NEW.reading_value - NEW.consumption)) < 0.005))))) THEN
               RAISE EXCEPTION 'READING_UNDO: a reading goes back to pending only while no bill covers it and, after a rejection, while its place in the chain of its meter is unchanged' USING ERRCODE = 'P0001';
             END IF;
             RETURN NEW;
           END $$;

DROP TRIGGER IF EXISTS trg_readings_undo_review ON readings;

CREATE TRIGGER trg_readings_undo_review BEFORE UPDATE OF status ON readings
           FOR EACH ROW EXECUTE FUNCTION meterline_readings_undo_review();

CREATE OR REPLACE FUNCTION meterline_bill_totals() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF TG_OP = 'INSERT' THEN
               INSERT INTO bill_month_totals (bill_month, area_id, due_date, status, paid_any, arrears, bills, units, billed, due, paid) SELECT bill_month, area_id, due_date, status, paid_any, arrears, sum(bills), sum(units), sum(billed), sum(due), sum(paid) FROM (SELECT to_char(x.billing_period_start, 'YYYY-MM') AS bill_month, x.area_id AS area_id, x.due_date AS due_date, x.status AS status, (x.amount_paid > 0) AS paid_any, (x.previous_outstanding > 0) AS arrears, 1 AS bills, CAST(round((x.total_units) * 100) AS bigint) AS units, CAST(round((x.total_amount - x.previous_outstanding) * 100) AS bigint) AS billed, CAST(round((x.total_amount) * 100) AS bigint) AS due, CAST(round((x.amount_paid) * 100) AS bigint) AS paid FROM bill_totals_new x WHERE NOT EXISTS (SELECT 1 FROM archived_bills a WHERE a.id = x.id)) d GROUP BY bill_month, area_id, due_date, status, paid_any, arrears HAVING sum(bills) <> 0 OR sum(units) <> 0 OR sum(billed) <> 0 OR sum(due) <> 0 OR sum(paid) <> 0 ORDER BY bill_month, area_id, due_date, status, paid_any, arrears ON CONFLICT (bill_month, area_id, due_date, status, paid_any, arrears) DO UPDATE SET bills = bill_month_totals.bills + excluded.bills, units = bill_month_totals.units + excluded.units, billed = bill_month_totals.billed + excluded.billed, due = bill_month_totals.due + excluded.due, paid = bill_month_totals.paid + excluded.paid;
             ELSIF TG_OP = 'UPDATE' THEN
               INSERT INTO bill_month_totals (bill_month, area_id, due_date, status, paid_any, arrears, bills, units, billed, due, paid) SELECT bill_month, area_id, due_date, status, paid_any, arrears, sum(bills), sum(units), sum(billed), sum(due), sum(paid) FROM (SELECT to_char(x.billing_period_start, 'YYYY-MM') AS bill_month, x.area_id AS area_id, x.due_date AS due_date, x.status AS status, (x.amount_paid > 0) AS paid_any, (x.previous_outstanding > 0) AS arrears, -1 AS bills, -CAST(round((x.total_units) * 100) AS bigint) AS units, -CAST(round((x.total_amount - x.previous_outstanding) * 100) AS bigint) AS billed, -CAST(round((x.total_amount) * 100) AS bigint) AS due, -CAST(round((x.amount_paid) * 100) AS bigint) AS paid FROM bill_totals_old x UNION ALL SELECT to_char(x.billing_period_start, 'YYYY-MM') AS bill_month, x.area_id AS area_id, x.due_date AS due_date, x.status AS status, (x.amount_paid > 0) AS paid_any, (x.previous_outstanding > 0) AS arrears, 1 AS bills, CAST(round((x.total_units) * 100) AS bigint) AS units, CAST(round((x.total_amount - x.previous_outstanding) * 100) AS bigint) AS billed, CAST(round((x.total_amount) * 100) AS bigint) AS due, CAST(round((x.amount_paid) * 100) AS bigint) AS paid FROM bill_totals_new x) d GROUP BY bill_month, area_id, due_date, status, paid_any, arrears HAVING sum(bills) <> 0 OR sum(units) <> 0 OR sum(billed) <> 0 OR sum(due) <> 0 OR sum(paid) <> 0 ORDER BY bill_month, area_id, due_date, status, paid_any, arrears ON CONFLICT (bill_month, area_id, due_date, status, paid_any, arrears) DO UPDATE SET bills = bill_month_totals.bills + excluded.bills, units = bill_month_totals.units + excluded.units, billed = bill_month_totals.billed + excluded.billed, due = bill_month_totals.due + excluded.due, paid = bill_month_totals.paid + excluded.paid;
             ELSE
               INSERT INTO bill_month_totals (bill_month, area_id, due_date, status, paid_any, arrears, bills, units, billed, due, paid) SELECT bill_month, area_id, due_date, status, paid_any, arrears, sum(bills), sum(units), sum(billed), sum(due), sum(paid) FROM (SELECT to_char(x.billing_period_start, 'YYYY-MM') AS bill_month, x.area_id AS area_id, x.due_date AS due_date, x.status AS status, (x.amount_paid > 0) AS paid_any, (x.previous_outstanding > 0) AS arrears, -1 AS bills, -CAST(round((x.total_units) * 100) AS bigint) AS units, -CAST(round((x.total_amount - x.previous_outstanding) * 100) AS bigint) AS billed, -CAST(round((x.total_amount) * 100) AS bigint) AS due, -CAST(round((x.amount_paid) * 100) AS bigint) AS paid FROM bill_totals_old x WHERE NOT EXISTS (SELECT 1 FROM archived_bills a WHERE a.id = x.id)) d GROUP BY bill_month, area_id, due_date, status, paid_any, arrears HAVING sum(bills) <> 0 OR sum(units) <> 0 OR sum(billed) <> 0 OR sum(due) <> 0 OR sum(paid) <> 0 ORDER BY bill_month, area_id, due_date, status, paid_any, arrears ON CONFLICT (bill_month, area_id, due_date, status, paid_any, arrears) DO UPDATE SET bills = bill_month_totals.bills + excluded.bills, units = bill_month_totals.units + excluded.units, billed = bill_month_totals.billed + excluded.billed, due = bill_month_totals.due + excluded.due, paid = bill_month_totals.paid + excluded.paid;
             END IF;
             RETURN NULL;
           END $$;

DROP TRIGGER IF EXISTS trg_bill_totals_insert ON bills;

CREATE TRIGGER trg_bill_totals_insert AFTER INSERT ON bills REFERENCING NEW TABLE AS bill_totals_new
                    FOR EACH STATEMENT EXECUTE FUNCTION meterline_bill_totals();

DROP TRIGGER IF EXISTS trg_bill_totals_update ON bills;

CREATE TRIGGER trg_bill_totals_update AFTER UPDATE ON bills REFERENCING OLD TABLE AS bill_totals_old NEW TABLE AS bill_totals_new
                    FOR EACH STATEMENT EXECUTE FUNCTION meterline_bill_totals();

DROP TRIGGER IF EXISTS trg_bill_totals_delete ON bills;

CREATE TRIGGER trg_bill_totals_delete AFTER DELETE ON bills REFERENCING OLD TABLE AS bill_totals_old
                    FOR EACH STATEMENT EXECUTE FUNCTION meterline_bill_totals();

-- ---- reference rows every database needs (as database/migrations.py seeds them) ----

INSERT INTO period_locks (month, reason, locked_by, bill_count_at_lock)
SELECT '2025-11', 'November 2025 is locked to protect historical data', 'system', (SELECT count(*) FROM bills WHERE billing_period_end BETWEEN '2025-11-01' AND '2025-11-30')
ON CONFLICT (month) DO NOTHING;

INSERT INTO schema_info (key, value) VALUES ('version', '3')
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value WHERE schema_info.value::int < EXCLUDED.value::int;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM schema_info WHERE key = 'bill_totals') THEN
    DELETE FROM bill_month_totals;
    INSERT INTO bill_month_totals (bill_month, area_id, due_date, status, paid_any, arrears, bills, units, billed, due, paid) SELECT bill_totals_recomputed.bill_month, bill_totals_recomputed.area_id, bill_totals_recomputed.due_date, bill_totals_recomputed.status, bill_totals_recomputed.paid_any, bill_totals_recomputed.arrears, bill_totals_recomputed.bills, bill_totals_recomputed.units, bill_totals_recomputed.billed, bill_totals_recomputed.due, bill_totals_recomputed.paid 
FROM (SELECT to_char(bills_live_and_archived.billing_period_start, 'YYYY-MM') AS bill_month, bills_live_and_archived.area_id AS area_id, bills_live_and_archived.due_date AS due_date, bills_live_and_archived.status AS status, bills_live_and_archived.amount_paid > 0 AS paid_any, bills_live_and_archived.previous_outstanding > 0 AS arrears, count(*) AS bills, sum(CAST(round(bills_live_and_archived.total_units * 100) AS BIGINT)) AS units, sum(CAST(round((bills_live_and_archived.total_amount - bills_live_and_archived.previous_outstanding) * 100) AS BIGINT)) AS billed, sum(CAST(round(bills_live_and_archived.total_amount * 100) AS BIGINT)) AS due, sum(CAST(round(bills_live_and_archived.amount_paid * 100) AS BIGINT)) AS paid 
FROM (SELECT bills.id AS id, bills.account_id AS account_id, bills.service AS service, bills.area_id AS area_id, bills.billing_period_start AS billing_period_start, bills.billing_period_end AS billing_period_end, bills.due_date AS due_date, bills.tariff_kind AS tariff_kind, bills.pricing_rule AS pricing_rule, bills.tariff_plan_version_id AS tariff_plan_version_id, bills.category AS category, bills.units AS units, bills.motor_units AS motor_units, bills.total_units AS total_units, bills.rate_per_unit AS rate_per_unit, bills.fixed_charge AS fixed_charge, bills.previous_outstanding AS previous_outstanding, bills.tariff_details AS tariff_details, bills.total_amount AS total_amount, bills.status AS status, bills.amount_paid AS amount_paid, bills.paid_at AS paid_at, bills.carried_forward_to AS carried_forward_to, bills.overdue_notified_at AS overdue_notified_at, bills.payment_link_id AS payment_link_id, bills.payment_link_url AS payment_link_url, bills.psid AS psid, bills.last_reading_id AS last_reading_id, bills.motor_reading_id AS motor_reading_id, bills.first_reading_id AS first_reading_id, bills.usage_from AS usage_from, bills.usage_to AS usage_to, bills.reissue_of AS reissue_of, bills.superseded_by AS superseded_by, bills.bill_run_id AS bill_run_id, bills.created_by AS created_by, bills.created_by_name AS created_by_name, bills.created_at AS created_at, bills.updated_at AS updated_at, bills.bill_number AS bill_number 
FROM bills UNION ALL SELECT archived_bills.id AS id, archived_bills.account_id AS account_id, archived_bills.service AS service, archived_bills.area_id AS area_id, archived_bills.billing_period_start AS billing_period_start, archived_bills.billing_period_end AS billing_period_end, archived_bills.due_date AS due_date, archived_bills.tariff_kind AS tariff_kind, archived_bills.pricing_rule AS pricing_rule, archived_bills.tariff_plan_version_id AS tariff_plan_version_id, archived_bills.category AS category, archived_bills.units AS units, archived_bills.motor_units AS motor_units, archived_bills.total_units AS total_units, archived_bills.rate_per_unit AS rate_per_unit, archived_bills.fixed_charge AS fixed_charge, archived_bills.previous_outstanding AS previous_outstanding, archived_bills.tariff_details AS tariff_details, archived_bills.total_amount AS total_amount, archived_bills.status AS status, archived_bills.amount_paid AS amount_paid, archived_bills.paid_at AS paid_at, archived_bills.carried_forward_to AS carried_forward_to, archived_bills.overdue_notified_at AS overdue_notified_at, archived_bills.payment_link_id AS payment_link_id, archived_bills.payment_link_url AS payment_link_url, archived_bills.psid AS psid, archived_bills.last_reading_id AS last_reading_id, archived_bills.motor_reading_id AS motor_reading_id, archived_bills.first_reading_id AS first_reading_id, archived_bills.usage_from AS usage_from, archived_bills.usage_to AS usage_to, archived_bills.reissue_of AS reissue_of, archived_bills.superseded_by AS superseded_by, archived_bills.bill_run_id AS bill_run_id, archived_bills.created_by AS created_by, archived_bills.created_by_name AS created_by_name, archived_bills.created_at AS created_at, archived_bills.updated_at AS updated_at, archived_bills.bill_number AS bill_number 
FROM archived_bills) AS bills_live_and_archived GROUP BY to_char(bills_live_and_archived.billing_period_start, 'YYYY-MM'), bills_live_and_archived.area_id, bills_live_and_archived.due_date, bills_live_and_archived.status, bills_live_and_archived.amount_paid > 0, bills_live_and_archived.previous_outstanding > 0) AS bill_totals_recomputed;
    INSERT INTO schema_info (key, value) VALUES ('bill_totals', 'filled');
  END IF;
END $$;

-- ---- database/supabase/10_views.sql ----

-- Read-only views the REST backend selects from, so a list with its joins (account, area, primary
-- contact, the bill that references a reading, a bill's plan) is one filtered, paginated request.
-- They mirror the joins of services/storage/sql_readings.py, sql_reference.py and sql_bills.py.
-- security_invoker: the caller's row level security applies, as if it read the tables. Dropped and
-- recreated on every run because a view's columns are fixed when it is created (no data lives in a
-- view). Each view has `area_path`, the path of the area its rows belong to ("B/FF"), so "everything
-- under area X" is one filter: area_path = X or area_path LIKE X/%.

CREATE OR REPLACE FUNCTION meterline_view_names() RETURNS text[]
LANGUAGE sql IMMUTABLE SET search_path = public, pg_temp AS $$
  SELECT ARRAY['account_details', 'meter_choices', 'reading_details', 'bill_details', 'connection_details',
               'anomaly_details', 'visit_details', 'ticket_details', 'ticket_notes']  -- the last three: 90_field.sql
$$;

-- flat_details and flat_blocks are the views of schema version 2 (flats, floors, flat types).
DROP VIEW IF EXISTS flat_details, flat_blocks, account_details, meter_choices, reading_details, bill_details,
                    connection_details, anomaly_details;

-- An account with its leaf area and primary contact (at most one, by a partial unique index).
CREATE VIEW account_details WITH (security_invoker = true) AS
SELECT a.*, ar.path AS area_path, ar.name AS area_name, o.name AS contact_name, o.phone AS contact_phone,
       o.email AS contact_email, o.id AS contact_id
FROM accounts a
JOIN areas ar ON ar.id = a.area_id
LEFT JOIN account_contacts ac ON ac.account_id = a.id AND ac.is_primary
LEFT JOIN contacts o ON o.id = ac.contact_id;

-- Active meters of active accounts, as the field engineer picks them, with the shared motor's meter.
CREATE VIEW meter_choices WITH (security_invoker = true) AS
SELECT m.id AS meter_id, m.meter_number, m.unit, a.id AS account_id, a.code AS account_code, ar.path AS area_path,
       ar.name AS area_name, a.category, o.name AS contact_name, o.phone AS contact_phone, mo.code AS motor_code,
       mm.id AS motor_meter_id, mm.meter_number AS motor_meter_number
FROM meters m
JOIN accounts a ON a.id = m.account_id
JOIN areas ar ON ar.id = a.area_id
LEFT JOIN account_contacts ac ON ac.account_id = a.id AND ac.is_primary
LEFT JOIN contacts o ON o.id = ac.contact_id
LEFT JOIN account_motors am ON am.account_id = a.id
LEFT JOIN motors mo ON mo.id = am.motor_id
LEFT JOIN meters mm ON mm.motor_id = mo.id AND mm.account_id IS NULL AND mm.status = 'active'
WHERE m.status = 'active' AND a.is_active;

-- A reading with its meter, account, area, primary contact, submitter and the bill that covers it (not
-- superseded: bill_readings for an account's reading, bills.motor_reading_id for a shared motor's).
CREATE VIEW reading_details WITH (security_invoker = true) AS
SELECT r.*, m.meter_number, m.unit, a.id AS account_id, a.code AS account_code, ar.path AS area_path,
       o.name AS contact_name, u.username AS submitted_by_name,
       -- "+ 0": min() over the reading's index, never a walk of the bills primary key (which the
       -- planner picks on stale statistics, e.g. right after a bulk load: seconds per row).
       COALESCE((SELECT min(x.bill_id + 0) FROM bill_readings x WHERE x.reading_id = r.id AND x.superseded_by IS NULL),
                (SELECT min(b.id + 0) FROM bills b WHERE b.motor_reading_id = r.id AND b.status <> 'superseded'))
         AS bill_id
FROM readings r
JOIN meters m ON m.id = r.meter_id
LEFT JOIN accounts a ON a.id = m.account_id
LEFT JOIN areas ar ON ar.id = a.area_id
LEFT JOIN account_contacts ac ON ac.account_id = a.id AND ac.is_primary
LEFT JOIN contacts o ON o.id = ac.contact_id
LEFT JOIN users u ON u.id = r.submitted_by;

-- A bill with its account, the area it was issued in, the account's primary contact and the plan
-- version that priced it.
CREATE VIEW bill_details WITH (security_invoker = true) AS
SELECT b.*, a.code AS account_code, ar.path AS area_path, o.name AS contact_name, o.phone AS contact_phone,
       o.id AS contact_id, tp.code AS plan_code, tpv.version AS plan_version, o.email AS contact_email
FROM bills b
JOIN accounts a ON a.id = b.account_id
JOIN areas ar ON ar.id = b.area_id
LEFT JOIN account_contacts ac ON ac.account_id = a.id AND ac.is_primary
LEFT JOIN contacts o ON o.id = ac.contact_id
LEFT JOIN tariff_plan_versions tpv ON tpv.id = b.tariff_plan_version_id
LEFT JOIN tariff_plans tp ON tp.id = tpv.plan_id;

-- An account's connection to a service, with its tariff plan's code and kind.
CREATE VIEW connection_details WITH (security_invoker = true) AS
SELECT sc.*, tp.code AS plan_code, tp.kind AS plan_kind
FROM service_connections sc
JOIN tariff_plans tp ON tp.id = sc.tariff_plan_id;

-- A usage anomaly with its account's code, name and type and the path of the area it was found in.
CREATE VIEW anomaly_details WITH (security_invoker = true) AS
SELECT x.*, a.code AS account_code, a.name AS account_name, a.account_type, ar.path AS area_path
FROM usage_anomalies x
JOIN accounts a ON a.id = x.account_id
JOIN areas ar ON ar.id = x.area_id;

-- ---- database/supabase/12_name_search.sql ----

-- Contact and account names are searched for any part of them (ilike '%kapoor%' on
-- account_details and bill_details), which no btree serves; pg_trgm's trigram index does. Optional,
-- as in database/migrations.py (NAME_SEARCH_INDEXES, the same statements): where the extension
-- cannot be created the searches scan the names.
DO $$
BEGIN
  CREATE EXTENSION IF NOT EXISTS pg_trgm;
  CREATE INDEX IF NOT EXISTS ix_contacts_name_trgm ON contacts USING gin (name gin_trgm_ops);
  CREATE INDEX IF NOT EXISTS ix_accounts_name_trgm ON accounts USING gin (name gin_trgm_ops);
EXCEPTION WHEN others THEN
  RAISE NOTICE 'contact names are searched without an index: %', SQLERRM;
END $$;

-- ---- database/supabase/20_functions_common.sql ----

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

-- ---- database/supabase/22_functions_psid.sql ----

-- PSIDs: the 17-digit payment id a bank collects a bill by (services/billing/psid.py, the same
-- format: biller code 14, the year and month the period ends in, the bill id in ten digits, a
-- Verhoeff check digit). meterline_insert_bill and meterline_insert_bill_batch give every bill its
-- PSID as they store it; a test checks these functions give what Python gives.

CREATE OR REPLACE FUNCTION meterline_verhoeff(p_digits text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = public, pg_temp AS $$
DECLARE
  d int[] := '{{0,1,2,3,4,5,6,7,8,9},{1,2,3,4,0,6,7,8,9,5},{2,3,4,0,1,7,8,9,5,6},{3,4,0,1,2,8,9,5,6,7},'
             '{4,0,1,2,3,9,5,6,7,8},{5,9,8,7,6,0,4,3,2,1},{6,5,9,8,7,1,0,4,3,2},{7,6,5,9,8,2,1,0,4,3},'
             '{8,7,6,5,9,3,2,1,0,4},{9,8,7,6,5,4,3,2,1,0}}';
  p int[] := '{{0,1,2,3,4,5,6,7,8,9},{1,5,7,6,2,8,3,0,9,4},{5,8,0,3,7,9,6,1,4,2},{8,9,1,6,0,4,3,5,2,7},'
             '{9,4,5,3,1,2,6,8,7,0},{4,2,8,6,5,7,3,9,0,1},{2,7,9,3,8,0,6,4,1,5},{7,0,4,6,9,1,3,2,5,8}}';
  inv int[] := '{0,4,3,2,1,5,6,7,8,9}';
  c int := 0;
  n int := length(p_digits);
BEGIN
  FOR i IN 1..n LOOP  -- the i-th digit from the right
    c := d[c + 1][p[(i % 8) + 1][substr(p_digits, n - i + 1, 1)::int + 1] + 1];
  END LOOP;
  RETURN inv[c + 1]::text;
END $$;

CREATE OR REPLACE FUNCTION meterline_psid(p_id bigint, p_period_end date) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = public, pg_temp AS $$
DECLARE
  v_body text := '14' || to_char(p_period_end, 'YYMM') || lpad(p_id::text, 10, '0');
BEGIN
  IF p_id <= 0 OR p_id > 9999999999 THEN
    RAISE EXCEPTION 'bill id % does not fit a PSID''s ten digits', p_id;
  END IF;
  RETURN v_body || meterline_verhoeff(v_body);
END $$;

-- ---- database/supabase/25_functions_reference.sql ----

-- The utility's settings, its areas, tariff plans and daily usage (services/storage/sql_reference.py
-- does the same on the SQL backends). Each write is one call, one transaction, with its audit row.

-- Insert or update the one settings row (id 1) from p_row (a utility_settings row as
-- services/accounts/utility.py builds it; keys that are not columns are ignored, updated_by is the
-- actor). Audited as utility.settings with the columns that changed. Returns those columns.
CREATE OR REPLACE FUNCTION meterline_save_utility_settings(p_row jsonb, p_actor jsonb)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_old utility_settings;
  v_found boolean;
  v_columns jsonb := to_jsonb(jsonb_populate_record(NULL::utility_settings, '{}'::jsonb));
  v_given jsonb;
  v_row utility_settings;
  v_changed jsonb;
  v_set text;
BEGIN
  SELECT * INTO v_old FROM utility_settings WHERE id = 1 FOR UPDATE;
  v_found := FOUND;
  SELECT COALESCE(jsonb_object_agg(key, value), '{}'::jsonb) INTO v_given FROM jsonb_each(COALESCE(p_row, '{}'::jsonb))
   WHERE v_columns ? key AND key NOT IN ('id', 'updated_at', 'updated_by');
  v_given := v_given || jsonb_build_object('updated_by', COALESCE(p_actor->>'username', 'system'));
  v_row := jsonb_populate_record(v_old, v_given || jsonb_build_object('id', 1, 'updated_at', now()));
  -- Every column but the key, so a column added to the table later is saved too.
  SELECT string_agg(format('%I', key), ', ') INTO v_set FROM jsonb_object_keys(v_columns) AS key WHERE key <> 'id';
  EXECUTE format('INSERT INTO utility_settings SELECT ($1).* ON CONFLICT (id) DO UPDATE SET (%s) = ROW(%s)', v_set,
                 (SELECT string_agg(format('EXCLUDED.%I', key), ', ') FROM jsonb_object_keys(v_columns) AS key
                   WHERE key <> 'id'))
    USING v_row;
  SELECT COALESCE(jsonb_object_agg(key, to_jsonb(v_row)->key), '{}'::jsonb) INTO v_changed
    FROM jsonb_object_keys(v_given) AS key
   WHERE NOT v_found OR to_jsonb(v_old)->key IS DISTINCT FROM to_jsonb(v_row)->key;
  PERFORM meterline_audit(p_actor, 'utility.settings', 'utility', '1', v_changed);
  RETURN v_changed;
END $$;

-- The areas p_areas names ({path, name, kind?, sort_order?}) and the parents their paths imply, one
-- row per path with its level (the number of codes in the path); a given area wins over a parent
-- another path implies, and the last of a path given twice wins.
CREATE OR REPLACE FUNCTION meterline_wanted_areas(p_areas jsonb)
RETURNS TABLE (path text, name text, kind text, sort_order integer, level integer)
LANGUAGE sql IMMUTABLE SET search_path = public, pg_temp AS $$
  WITH given AS (
    SELECT e.v->>'path' AS path, e.v->>'name' AS name, e.v->>'kind' AS kind, (e.v->>'sort_order')::integer AS sort_order,
           e.ord
      FROM jsonb_array_elements(COALESCE(p_areas, '[]'::jsonb)) WITH ORDINALITY AS e(v, ord)
  ), implied AS (
    SELECT array_to_string((string_to_array(g.path, '/'))[1:i], '/') AS path, (string_to_array(g.path, '/'))[i] AS name
      FROM given g, generate_series(1, cardinality(string_to_array(g.path, '/')) - 1) AS i
  )
  SELECT DISTINCT ON (w.path) w.path, w.name, w.kind, w.sort_order, cardinality(string_to_array(w.path, '/'))
    FROM (SELECT g.path, g.name, g.kind, g.sort_order, 1 AS rank, -g.ord AS ord FROM given g
          UNION ALL
          SELECT i.path, i.name, NULL, NULL, 2, 0 FROM implied i) w
   ORDER BY w.path, w.rank, w.ord
$$;

-- Create the areas of p_areas that do not exist yet (parents implied by the paths, created first),
-- in one transaction; an area another writer created meanwhile is taken as it is. Audited as
-- area.create with how many were created (nothing when none was). Returns {path: id} for every path
-- given and its parents.
CREATE OR REPLACE FUNCTION meterline_ensure_areas(p_areas jsonb, p_actor jsonb)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_level integer;
  v_made integer := 0;
  n integer;
BEGIN
  FOR v_level IN SELECT DISTINCT w.level FROM meterline_wanted_areas(p_areas) w ORDER BY 1 LOOP
    WITH ins AS (
      INSERT INTO areas (parent_id, level, code, name, path, kind, sort_order)
      SELECT p.id, w.level, (string_to_array(w.path, '/'))[w.level],
             COALESCE(NULLIF(w.name, ''), (string_to_array(w.path, '/'))[w.level]), w.path, w.kind,
             COALESCE(w.sort_order, 0)
        FROM meterline_wanted_areas(p_areas) w
        LEFT JOIN areas p ON p.path = array_to_string((string_to_array(w.path, '/'))[1:w.level - 1], '/')
       WHERE w.level = v_level AND NOT EXISTS (SELECT 1 FROM areas x WHERE x.path = w.path)
       ORDER BY w.path
      ON CONFLICT (path) DO NOTHING
      RETURNING 1
    )
    SELECT count(*) INTO n FROM ins;
    v_made := v_made + n;
  END LOOP;
  IF v_made > 0 THEN
    PERFORM meterline_audit(p_actor, 'area.create', 'area', NULL, jsonb_build_object('created', v_made));
  END IF;
  RETURN (SELECT COALESCE(jsonb_object_agg(a.path, a.id), '{}'::jsonb) FROM areas a
           WHERE a.path IN (SELECT w.path FROM meterline_wanted_areas(p_areas) w));
END $$;

-- Store a tariff plan (services/tariffs/plan.py TariffPlan.to_dict()) and the versions of it not
-- stored yet. Versions are append-only: a stored version with other terms (params or effective
-- date) is refused (PT422 naming `version`), and nothing of the call is kept. The plan's own row is
-- written once. Audited: tariff_plan.create, tariff_plan.version. Returns the plan's id.
CREATE OR REPLACE FUNCTION meterline_save_tariff_plan(p_plan jsonb, p_actor jsonb)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_plan bigint;
  x record;
  v_old tariff_plan_versions;
  v_vid bigint;
BEGIN
  INSERT INTO tariff_plans (code, name, kind, service, unit, currency, notes)
  VALUES (p_plan->>'code', p_plan->>'name', p_plan->>'kind', p_plan->>'service', p_plan->>'unit',
          p_plan->>'currency', p_plan->>'notes')
  ON CONFLICT (code) DO NOTHING
  RETURNING id INTO v_plan;
  IF v_plan IS NOT NULL THEN
    PERFORM meterline_audit(p_actor, 'tariff_plan.create', 'tariff_plan', v_plan::text,
                            jsonb_build_object('code', p_plan->>'code', 'kind', p_plan->>'kind'));
  ELSE
    SELECT id INTO v_plan FROM tariff_plans WHERE code = p_plan->>'code' FOR UPDATE;  -- one writer of its versions
  END IF;
  FOR x IN SELECT e.v FROM jsonb_array_elements(COALESCE(p_plan->'versions', '[]'::jsonb)) WITH ORDINALITY AS e(v, ord)
            ORDER BY e.ord LOOP
    SELECT * INTO v_old FROM tariff_plan_versions WHERE plan_id = v_plan AND version = (x.v->>'version')::integer;
    IF FOUND THEN
      IF v_old.params IS DISTINCT FROM x.v->'params' OR v_old.effective_from <> (x.v->>'effective_from')::date THEN
        PERFORM meterline_invalid('version', format('version %s of plan %s is stored with other terms.',
                                                    x.v->>'version', p_plan->>'code'),
                                  'Add a new version instead of changing a stored one.');
      END IF;
      CONTINUE;
    END IF;
    INSERT INTO tariff_plan_versions (plan_id, version, effective_from, params, notes, created_by_name)
    VALUES (v_plan, (x.v->>'version')::integer, (x.v->>'effective_from')::date, x.v->'params', x.v->>'notes',
            COALESCE(p_actor->>'username', 'system'))
    RETURNING id INTO v_vid;
    PERFORM meterline_audit(p_actor, 'tariff_plan.version', 'tariff_plan', v_plan::text, jsonb_build_object(
      'version', (x.v->>'version')::integer, 'effective_from', x.v->>'effective_from', 'version_id', v_vid));
  END LOOP;
  RETURN v_plan;
END $$;

-- Each account's daily usage summed over [p_start, p_end] (accounts with none are absent):
-- [{"account_id", "first_date", "last_date", "days", "quantity"}], quantities as text (exact).
CREATE OR REPLACE FUNCTION meterline_usage_totals(p_account_ids bigint[], p_start date, p_end date)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT COALESCE(jsonb_agg(jsonb_build_object('account_id', t.account_id, 'first_date', t.first_date,
                                                'last_date', t.last_date, 'days', t.days, 'quantity', t.quantity::text)
                            ORDER BY t.account_id), '[]'::jsonb)
    FROM (SELECT u.account_id, min(u.usage_date) AS first_date, max(u.usage_date) AS last_date, count(*) AS days,
                 sum(u.quantity)::numeric(14, 2) AS quantity
            FROM daily_usage u
           WHERE u.account_id = ANY (p_account_ids) AND u.usage_date BETWEEN p_start AND p_end
           GROUP BY u.account_id) t
$$;

-- The ids of an area and of every area under it (areas is small: hundreds to a few thousand rows).
-- An exact prefix test: a path's codes may hold LIKE's wildcards.
CREATE OR REPLACE FUNCTION meterline_area_subtree(p_area bigint)
RETURNS SETOF bigint LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT x.id FROM areas x, areas t
   WHERE t.id = p_area AND (x.path = t.path OR left(x.path, length(t.path) + 1) = t.path || '/')
$$;

-- ---- database/supabase/30_functions_readings.sql ----

-- Readings: submit (a double tap returns the first row), review, bulk approve, photo and AI advice.

-- A meter's non-rejected readings form a chain ordered by (reading_date, id): a reading of a day
-- comes after that day's readings stored before it (services/readings/rules.py). Every write to a
-- chain locks the meter row first (FOR UPDATE, to the end of the call's transaction), so the
-- neighbours read below are the ones the write lands between.

-- Re-measure a stored reading (the readings trigger checks it is unbilled and consistent); audited
-- as reading.relink with the same details the SQL backend writes.
CREATE OR REPLACE FUNCTION meterline_relink_reading(p_id bigint, p_previous_id bigint, p_consumption numeric,
                                                    p_actor jsonb, p_because text, p_cause_id bigint)
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_old readings;
BEGIN
  SELECT * INTO v_old FROM readings WHERE id = p_id;
  UPDATE readings SET previous_reading_id = p_previous_id, consumption = p_consumption, updated_at = now()
   WHERE id = p_id;
  PERFORM meterline_audit(p_actor, 'reading.relink', 'reading', p_id::text, jsonb_build_object(
    'because', p_because, 'cause_reading_id', p_cause_id,
    'old_previous_reading_id', v_old.previous_reading_id, 'new_previous_reading_id', p_previous_id,
    'old_consumption', v_old.consumption::text, 'new_consumption', p_consumption::text));
END $$;

-- The value rules of services/readings/rules.assess_reading against the neighbours read inside the
-- lock: not below the previous reading, not above the next, no implausible jump (either side), and
-- the next reading re-measurable (not billed, no admin-confirmed units). PT422 naming the field.
CREATE OR REPLACE FUNCTION meterline_check_reading_value(p_value numeric, p_date date, p_prev readings,
                                                         p_next readings, p_max_kwh_per_day numeric,
                                                         p_field text DEFAULT 'reading_value')
RETURNS numeric LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_days integer;
  v_cons numeric;
BEGIN
  IF p_prev.id IS NOT NULL THEN
    IF p_value < p_prev.reading_value THEN
      PERFORM meterline_invalid(p_field, format('%s kWh is below the previous reading %s kWh of %s%s.', p_value,
        p_prev.reading_value, p_prev.reading_date,
        CASE WHEN p_prev.reading_date = p_date THEN ' (stored earlier the same day)' ELSE '' END),
        'Check the digits. If the meter rolled over or was replaced, an admin records the meter change on the '
        'Meters page (Admin > Meters) and the reading is then taken on it; nothing was stored.');
    END IF;
    v_cons := p_value - p_prev.reading_value;
    v_days := GREATEST(p_date - p_prev.reading_date, 1);
    IF v_cons > p_max_kwh_per_day * v_days THEN
      PERFORM meterline_invalid(p_field, format('%s kWh implies %s kWh in %s day(s) since %s, more than %s kWh a day.',
        p_value, v_cons, v_days, p_prev.reading_date, p_max_kwh_per_day), 'Check the digits for an extra one.');
    END IF;
  END IF;
  IF p_next.id IS NOT NULL THEN
    IF p_value > p_next.reading_value THEN
      PERFORM meterline_invalid(p_field, format('%s kWh is above the later reading %s kWh of %s.', p_value,
        p_next.reading_value, p_next.reading_date), 'Check the date and the digits.');
    END IF;
    IF meterline_reading_is_billed(p_next.id) OR p_next.approved_units IS NOT NULL THEN
      PERFORM meterline_invalid('reading_date', format('%s is before reading #%s of %s (%s kWh), which %s.', p_date,
        p_next.id, p_next.reading_date, p_next.reading_value,
        CASE WHEN meterline_reading_is_billed(p_next.id) THEN 'is already billed (a billed consumption never changes)'
             ELSE format('has monthly units (%s kWh) an admin confirmed for the interval it covers now',
                         p_next.approved_units) END),
        'Check the date. That later reading already counts the use up to it; nothing was stored.');
    END IF;
    v_days := GREATEST(p_next.reading_date - p_date, 1);
    IF p_next.reading_value - p_value > p_max_kwh_per_day * v_days THEN
      PERFORM meterline_invalid(p_field, format('%s kWh on %s would leave the later reading %s kWh of %s implying '
        '%s kWh in %s day(s) since %s, more than %s kWh a day.', p_value, p_date, p_next.reading_value,
        p_next.reading_date, p_next.reading_value - p_value, v_days, p_date, p_max_kwh_per_day),
        'Check the digits for an extra one.');
    END IF;
  END IF;
  RETURN v_cons;
END $$;

-- Store one reading: lock the meter, return the stored row when the same (meter, date, value) is
-- there (created=false, nothing written), else read the neighbours, apply the value rules, insert
-- with consumption and previous_reading_id computed here, re-measure the next reading from it, and
-- audit. p_reading: the NewReading fields (consumption and previous_reading_id are recomputed).
-- p_expect: {"previous_id", "following_id"} as Python saw them when it computed the flags; when the
-- chain changed since, PT409 'stale' and Python reads it again. Returns {"id", "created"}.
DROP FUNCTION IF EXISTS meterline_insert_reading(jsonb, jsonb, jsonb);
CREATE OR REPLACE FUNCTION meterline_insert_reading(p_reading jsonb, p_actor jsonb, p_details jsonb,
                                                    p_expect jsonb DEFAULT NULL,
                                                    p_max_kwh_per_day numeric DEFAULT 2000)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  r readings := jsonb_populate_record(NULL::readings, p_reading);
  v_meter meters;
  v_prev readings;
  v_next readings;
  v_cons numeric;
  v_id bigint;
BEGIN
  SELECT * INTO v_meter FROM meters WHERE id = r.meter_id FOR UPDATE;
  IF v_meter.id IS NULL THEN
    PERFORM meterline_invalid('meter', format('unknown meter %s.', r.meter_id),
                              'Pick a meter from the list, or ask an admin to register it.');
  END IF;
  SELECT id INTO v_id FROM readings
   WHERE meter_id = r.meter_id AND reading_date = r.reading_date AND reading_value = r.reading_value;
  IF v_id IS NOT NULL THEN
    RETURN jsonb_build_object('id', v_id, 'created', false);
  END IF;
  IF v_meter.status <> 'active' THEN
    PERFORM meterline_invalid('meter', format('meter %s is %s, not active.', v_meter.meter_number, v_meter.status),
                              'Readings are taken only on active meters; ask an admin if it was replaced.');
  END IF;
  SELECT * INTO v_prev FROM readings WHERE meter_id = r.meter_id AND status <> 'rejected'
     AND reading_date <= r.reading_date ORDER BY reading_date DESC, id DESC LIMIT 1;
  SELECT * INTO v_next FROM readings WHERE meter_id = r.meter_id AND status <> 'rejected'
     AND reading_date > r.reading_date ORDER BY reading_date, id LIMIT 1 FOR UPDATE;
  IF p_expect IS NOT NULL AND (v_prev.id IS DISTINCT FROM (p_expect->>'previous_id')::bigint
                               OR v_next.id IS DISTINCT FROM (p_expect->>'following_id')::bigint) THEN
    PERFORM meterline_conflict('The meter''s readings changed while this one was being checked.', 'stale');
  END IF;
  v_cons := meterline_check_reading_value(r.reading_value, r.reading_date, v_prev, v_next, p_max_kwh_per_day);
  INSERT INTO readings (meter_id, reading_value, reading_date, consumption, previous_reading_id,
                        motor_reading_value, motor_share, motor_reading_id, photo_ref, photo_url, source,
                        status, flags, ai_opinion, submitted_by, reviewed_by, reviewed_at)
  VALUES (r.meter_id, r.reading_value, r.reading_date, v_cons, v_prev.id,
          r.motor_reading_value, r.motor_share, r.motor_reading_id, r.photo_ref, r.photo_url,
          COALESCE(r.source, 'ui'), COALESCE(r.status, 'pending'), r.flags, r.ai_opinion,
          (p_actor->>'user_id')::bigint,
          CASE WHEN r.status = 'approved' THEN (p_actor->>'user_id')::bigint END,
          CASE WHEN r.status = 'approved' THEN now() END)
  RETURNING id INTO v_id;
  PERFORM meterline_audit(p_actor, 'reading.submit', 'reading', v_id::text, p_details);
  IF v_next.id IS NOT NULL THEN
    PERFORM meterline_relink_reading(v_next.id, v_id, v_next.reading_value - r.reading_value, p_actor,
                                     format('reading #%s of %s was stored before it', v_id, r.reading_date), v_id);
  END IF;
  RETURN jsonb_build_object('id', v_id, 'created', true);
END $$;

-- pending -> approved/rejected. PT404 for an unknown reading, PT409 when it is not pending.
-- Rejecting locks the meter and takes the reading out of its chain: the reading measured from it is
-- re-measured from the one before it; PT409 (nothing changed) when that reading is billed or has
-- admin-confirmed units (services/readings/rules.relink_after_rejection).
CREATE OR REPLACE FUNCTION meterline_review_reading(p_id bigint, p_approve boolean, p_actor jsonb, p_reason text,
                                                    p_approved_units numeric, p_details jsonb)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_status text;
  v_meter_id bigint;
  v_before readings;
  v_follower readings;
  v_problem text;
BEGIN
  IF NOT p_approve AND COALESCE(btrim(p_reason), '') = '' THEN
    PERFORM meterline_invalid('reason', 'is required to reject a reading.',
                              'Say what is wrong so the engineer can fix it.');
  END IF;
  SELECT meter_id INTO v_meter_id FROM readings WHERE id = p_id;
  IF v_meter_id IS NULL THEN
    PERFORM meterline_not_found(format('Reading %s does not exist.', p_id));
  END IF;
  IF NOT p_approve THEN
    PERFORM 1 FROM meters WHERE id = v_meter_id FOR UPDATE;
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
    PERFORM meterline_conflict(format('Reading %s is already %s; only pending readings can be reviewed.', p_id, v_status));
  END IF;
  PERFORM meterline_audit(p_actor, CASE WHEN p_approve THEN 'reading.approve' ELSE 'reading.reject' END,
                          'reading', p_id::text, p_details);
  IF NOT p_approve THEN
    SELECT * INTO v_follower FROM readings WHERE previous_reading_id = p_id AND status <> 'rejected'
     ORDER BY id LIMIT 1 FOR UPDATE;
    IF v_follower.id IS NOT NULL THEN
      IF meterline_reading_is_billed(v_follower.id) THEN
        v_problem := 'is already billed (a billed consumption never changes)';
      ELSIF v_follower.approved_units IS NOT NULL THEN
        v_problem := format('has monthly units (%s kWh) an admin confirmed for the interval it covers now',
                            v_follower.approved_units);
      END IF;
      IF v_problem IS NOT NULL THEN
        PERFORM meterline_conflict(format('Reading #%s cannot be rejected: reading #%s of %s (%s kWh) is measured '
          'from it and %s. Nothing was changed; approve it instead, or leave it pending.', p_id, v_follower.id,
          v_follower.reading_date, v_follower.reading_value, v_problem));
      END IF;
      SELECT b.* INTO v_before FROM readings r JOIN readings b ON b.id = r.previous_reading_id WHERE r.id = p_id;
      PERFORM meterline_relink_reading(v_follower.id, v_before.id, v_follower.reading_value - v_before.reading_value,
                                       p_actor, format('reading #%s it was measured from was rejected', p_id), p_id);
    END IF;
  END IF;
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

-- ---- database/supabase/31_functions_review_undo.sql ----

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

-- ---- database/supabase/35_functions_meter_changes.sql ----

-- Meter replacements and rollovers (services/readings/meter_changes.py), recorded by an admin: one call,
-- one transaction, under the old meter's lock.

-- p_change: {"kind", "meter_id", "change_date", "final_value", "start_value", "new_meter_number",
-- "reason"}; p_details: the audit details Python built (the ids are added here). Returns the
-- meter_changes id. PT422 naming the field for what a person can fix.
CREATE OR REPLACE FUNCTION meterline_record_meter_change(p_change jsonb, p_actor jsonb, p_max_kwh_per_day numeric,
                                                         p_details jsonb)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_kind text := p_change->>'kind';
  v_date date := (p_change->>'change_date')::date;
  v_final_value numeric := (p_change->>'final_value')::numeric;
  v_start_value numeric := (p_change->>'start_value')::numeric;
  v_new_number text := p_change->>'new_meter_number';
  v_meter meters;
  v_prev readings;
  v_next readings;
  v_final_id bigint;
  v_final_status text;
  v_cons numeric;
  v_new_meter bigint;
  v_start_id bigint;
  v_change_id bigint;
  v_user bigint := (p_actor->>'user_id')::bigint;
BEGIN
  SELECT * INTO v_meter FROM meters WHERE id = (p_change->>'meter_id')::bigint FOR UPDATE;
  IF v_meter.id IS NULL THEN
    PERFORM meterline_invalid('meter', format('unknown meter %s.', p_change->>'meter_id'),
                              'Pick a meter from the list, or ask an admin to register it.');
  END IF;
  IF v_meter.status <> 'active' THEN
    PERFORM meterline_invalid('meter', format('meter %s is %s, not active.', v_meter.meter_number, v_meter.status),
                              'Readings are taken only on active meters; ask an admin if it was replaced.');
  END IF;
  -- The final reading: the one stored with that value on that day, else a new one checked like any reading.
  SELECT id, status INTO v_final_id, v_final_status FROM readings
   WHERE meter_id = v_meter.id AND reading_date = v_date AND reading_value = v_final_value;
  IF v_final_status = 'rejected' THEN
    PERFORM meterline_invalid('final_reading', format('reading #%s of %s with that value was rejected.',
                              v_final_id, v_date), 'Check the final reading.');
  END IF;
  SELECT * INTO v_next FROM readings WHERE meter_id = v_meter.id AND status <> 'rejected'
     AND (reading_date > v_date OR (reading_date = v_date AND v_final_id IS NOT NULL AND id > v_final_id))
   ORDER BY reading_date, id LIMIT 1;
  IF v_next.id IS NOT NULL THEN
    PERFORM meterline_invalid('change_date', format('meter %s has a reading after %s (#%s of %s, %s kWh).',
      v_meter.meter_number, v_date, v_next.id, v_next.reading_date, v_next.reading_value),
      'Date the change on or after the meter''s last reading, or reject the later readings first.');
  END IF;
  IF v_final_id IS NULL THEN
    SELECT * INTO v_prev FROM readings WHERE meter_id = v_meter.id AND status <> 'rejected'
       AND reading_date <= v_date ORDER BY reading_date DESC, id DESC LIMIT 1;
    v_cons := meterline_check_reading_value(v_final_value, v_date, v_prev, NULL::readings, p_max_kwh_per_day, 'final_reading');
    INSERT INTO readings (meter_id, reading_value, reading_date, consumption, previous_reading_id, source, status,
                          submitted_by, reviewed_by, reviewed_at)
    VALUES (v_meter.id, v_final_value, v_date, v_cons, v_prev.id, 'meter_change', 'approved', v_user, v_user, now())
    RETURNING id INTO v_final_id;
    PERFORM meterline_audit(p_actor, 'reading.submit', 'reading', v_final_id::text, jsonb_build_object(
      'meter_id', v_meter.id, 'reading_value', v_final_value::text, 'reading_date', v_date::text,
      'consumption', v_cons::text, 'source', 'meter_change', 'flags', '[]'::jsonb));
  ELSIF v_final_status = 'pending' THEN
    UPDATE readings SET status = 'approved', reviewed_by = v_user, reviewed_at = now(), updated_at = now()
     WHERE id = v_final_id;
    PERFORM meterline_audit(p_actor, 'reading.approve', 'reading', v_final_id::text,
                            jsonb_build_object('because', 'final reading of a meter change'));
  END IF;
  v_new_meter := v_meter.id;
  IF v_kind = 'replacement' THEN
    BEGIN
      INSERT INTO meters (meter_number, account_id, motor_id, service, unit, status, is_smart)
      VALUES (v_new_number, v_meter.account_id, v_meter.motor_id, v_meter.service, v_meter.unit, 'active',
              v_meter.is_smart)
      RETURNING id INTO v_new_meter;
    EXCEPTION WHEN unique_violation THEN
      PERFORM meterline_invalid('new_meter_number', format('meter %s already exists.', v_new_number),
                                'Check the number on the new meter.');
    END;
    UPDATE meters SET status = 'replaced' WHERE id = v_meter.id;
  END IF;
  BEGIN
    INSERT INTO readings (meter_id, reading_value, reading_date, consumption, previous_reading_id, source, status,
                          submitted_by, reviewed_by, reviewed_at)
    VALUES (v_new_meter, v_start_value, v_date, NULL, NULL, 'meter_change', 'approved', v_user, v_user, now())
    RETURNING id INTO v_start_id;
  EXCEPTION WHEN unique_violation THEN
    PERFORM meterline_invalid('start_reading', format('meter %s already has a reading of %s kWh on %s.',
                              v_meter.meter_number, v_start_value, v_date), 'Check the start reading.');
  END;
  INSERT INTO meter_changes (kind, old_meter_id, new_meter_id, change_date, final_reading_id, start_reading_id,
                             reason, recorded_by, recorded_by_name)
  VALUES (v_kind, v_meter.id, v_new_meter, v_date, v_final_id, v_start_id, p_change->>'reason', v_user,
          COALESCE(p_actor->>'username', 'system'))
  RETURNING id INTO v_change_id;
  PERFORM meterline_audit(p_actor, 'meter.change', 'meter', v_meter.id::text, COALESCE(p_details, '{}'::jsonb)
    || jsonb_build_object('final_reading_id', v_final_id, 'start_reading_id', v_start_id, 'meter_change_id', v_change_id));
  RETURN v_change_id;
END $$;

-- Meter changes newest first (with p_meter_id: those that ended or started that meter's chains;
-- with p_change_id: that one), with the meters' numbers, the account and the two readings' values.
-- Returns {"total", "items"}; numbers as text (exact decimals).
CREATE OR REPLACE FUNCTION meterline_list_meter_changes(p_meter_id bigint, p_offset integer, p_limit integer,
                                                        p_change_id bigint DEFAULT NULL)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  WITH picked AS (
    SELECT * FROM meter_changes c
     WHERE (p_meter_id IS NULL OR c.old_meter_id = p_meter_id OR c.new_meter_id = p_meter_id)
       AND (p_change_id IS NULL OR c.id = p_change_id)
  )
  SELECT jsonb_build_object(
    'total', (SELECT count(*) FROM picked),
    'items', COALESCE((SELECT jsonb_agg(row_to_json(x) ORDER BY x.change_date DESC, x.id DESC) FROM (
      SELECT c.id, c.kind, c.old_meter_id, c.new_meter_id, c.change_date, c.final_reading_id, c.start_reading_id,
             c.reason, c.recorded_by, c.recorded_by_name, c.created_at, om.meter_number AS old_meter_number,
             nm.meter_number AS new_meter_number, f.code AS account_code, fr.reading_value::text AS final_value,
             sr.reading_value::text AS start_value
        FROM picked c
        JOIN meters om ON om.id = c.old_meter_id
        JOIN meters nm ON nm.id = c.new_meter_id
        JOIN readings fr ON fr.id = c.final_reading_id
        JOIN readings sr ON sr.id = c.start_reading_id
        LEFT JOIN accounts f ON f.id = om.account_id
       ORDER BY c.change_date DESC, c.id DESC
       OFFSET p_offset LIMIT p_limit) x), '[]'::jsonb))
$$;

-- ---- database/supabase/40_functions_bills.sql ----

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

-- ---- database/supabase/42_functions_bill_numbers.sql ----

-- Gapless bill numbers (database/bill_numbers.py): BC-2026-000123, one counter row per series
-- ("BC-2026": the utility's short code and the year of issue) in bill_number_series. A bill takes
-- its number in the transaction that stores it (meterline_insert_bill, meterline_insert_bill_batch);
-- the upsert holds the counter row's lock until commit, and a rolled-back call gives its numbers back.

-- Reserve the next p_n numbers of a series; returns the last one (the first is last - p_n + 1).
CREATE OR REPLACE FUNCTION meterline_take_bill_numbers(p_series text, p_n bigint)
RETURNS bigint LANGUAGE sql SET search_path = public, pg_temp AS $$
  INSERT INTO bill_number_series (series, last_number) VALUES (p_series, p_n)
  ON CONFLICT (series) DO UPDATE SET last_number = bill_number_series.last_number + excluded.last_number
  RETURNING last_number
$$;

-- SERIES-000123: at least six digits, never cut (a series past 999,999 goes on with seven).
CREATE OR REPLACE FUNCTION meterline_format_bill_number(p_series text, p_n bigint)
RETURNS text LANGUAGE sql IMMUTABLE SET search_path = public, pg_temp AS $$
  SELECT p_series || '-' || CASE WHEN length(p_n::text) >= 6 THEN p_n::text ELSE lpad(p_n::text, 6, '0') END
$$;

-- The series of a bill stored without one: the utility's short code and this year (UTC).
CREATE OR REPLACE FUNCTION meterline_default_bill_series()
RETURNS text LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT COALESCE((SELECT short_code FROM utility_settings WHERE id = 1), 'BC') || '-'
         || to_char(now() AT TIME ZONE 'UTC', 'YYYY')
$$;

-- Bills stored before numbers existed (an upgraded project): numbered per year of creation (UTC),
-- in id order, continuing each series. A no-op when every bill has a number.
DO $numbers$
DECLARE
  v_code text := COALESCE((SELECT short_code FROM utility_settings WHERE id = 1), 'BC');
  v record;
  v_last bigint;
BEGIN
  FOR v IN SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY') AS y, count(*) AS n
             FROM bills WHERE bill_number IS NULL GROUP BY 1 ORDER BY 1 LOOP
    v_last := meterline_take_bill_numbers(v_code || '-' || v.y, v.n);
    UPDATE bills SET bill_number = meterline_format_bill_number(v_code || '-' || v.y, x.n)
      FROM (SELECT id, v_last - v.n + row_number() OVER (ORDER BY id) AS n FROM bills
             WHERE bill_number IS NULL AND to_char(created_at AT TIME ZONE 'UTC', 'YYYY') = v.y) AS x
     WHERE bills.id = x.id;
  END LOOP;
END $numbers$;

-- ---- database/supabase/45_functions_coverage.sql ----

-- Bill coverage (which readings a bill covers, services/billing/coverage.py), bill run records counted from
-- the bills they stored, and the read-only billing checks of scripts/verify_billing.py. The same
-- queries as services/storage/sql_coverage.py.

-- The account's readings that are not rejected, after each meter's last reading covered (by a bill
-- that is not superseded, other than p_replacing) before p_reading, up to and including it, oldest
-- first; each with the bill (not superseded) covering it, if any.
DROP FUNCTION IF EXISTS meterline_coverage_chain(bigint, bigint, bigint);  -- schema version 2 named it p_flat
CREATE OR REPLACE FUNCTION meterline_coverage_chain(p_account bigint, p_reading bigint, p_replacing bigint)
RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
  v_date date;
BEGIN
  SELECT reading_date INTO v_date FROM readings WHERE id = p_reading;
  IF v_date IS NULL THEN
    PERFORM meterline_not_found(format('Reading %s does not exist.', p_reading));
  END IF;
  RETURN COALESCE((
    WITH lm AS (
      SELECT m.id AS meter_id,
             (SELECT r2.id FROM readings r2
               WHERE r2.meter_id = m.id AND (r2.reading_date, r2.id) < (v_date, p_reading)
                 AND EXISTS (SELECT 1 FROM bill_readings x WHERE x.reading_id = r2.id AND x.superseded_by IS NULL
                                                        AND x.bill_id IS DISTINCT FROM p_replacing)
               ORDER BY r2.reading_date DESC, r2.id DESC LIMIT 1) AS last_id
        FROM meters m WHERE m.account_id = p_account
    )
    SELECT jsonb_agg(jsonb_build_object(
             'reading_id', r.id, 'meter_id', r.meter_id, 'reading_date', r.reading_date, 'status', r.status,
             'approved_units', r.approved_units::text, 'consumption', r.consumption::text,
             'motor_share', r.motor_share::text, 'motor_reading_id', r.motor_reading_id,
             'covered_by', (SELECT x.bill_id FROM bill_readings x WHERE x.reading_id = r.id AND x.superseded_by IS NULL
                             LIMIT 1))
             ORDER BY r.reading_date, r.id)
      FROM lm JOIN readings r ON r.meter_id = lm.meter_id
      LEFT JOIN readings lr ON lr.id = lm.last_id
     WHERE r.status <> 'rejected' AND (r.reading_date, r.id) <= (v_date, p_reading)
       AND (lr.id IS NULL OR (r.reading_date, r.id) > (lr.reading_date, lr.id))), '[]'::jsonb);
END $$;

-- (bills a run stored, their total), counted from bills.bill_run_id.
CREATE OR REPLACE FUNCTION meterline_bill_run_totals(p_run bigint)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT jsonb_build_object('created', count(*), 'total_amount', COALESCE(sum(total_amount), 0)::numeric(14, 2)::text)
    FROM bills WHERE bill_run_id = p_run
$$;

-- Close a run record; its created count and total are counted from the bills it stored, so a run
-- that died half-way is recorded as what it really did.
CREATE OR REPLACE FUNCTION meterline_finish_bill_run(p_run bigint, p_status text, p_skipped integer,
                                                     p_refused integer, p_error text)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  UPDATE bill_runs r
     SET status = p_status, skipped_count = p_skipped, refused_count = p_refused, error = p_error,
         finished_at = now(),
         created_count = (SELECT count(*) FROM bills b WHERE b.bill_run_id = p_run),
         total_amount = (SELECT COALESCE(sum(b.total_amount), 0) FROM bills b WHERE b.bill_run_id = p_run)
   WHERE r.id = p_run;
  IF NOT FOUND THEN
    PERFORM meterline_not_found(format('Bill run %s does not exist.', p_run));
  END IF;
  RETURN p_run;
END $$;

-- Read-only checks of the billing invariants: {check: {"count": n, "first": [...]}} for
-- uncovered_readings, double_covered, units_mismatch, balance_mismatch and lines_mismatch (see
-- scripts/verify_billing.py).
CREATE OR REPLACE FUNCTION meterline_billing_checks(p_limit integer)
RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
  v_out jsonb := '{}'::jsonb;
BEGIN
  WITH q AS (
    SELECT r.id AS reading_id, r.meter_id, r.reading_date FROM readings r
     WHERE r.status = 'approved'
       AND NOT EXISTS (SELECT 1 FROM bill_readings x WHERE x.reading_id = r.id AND x.superseded_by IS NULL)
       AND EXISTS (SELECT 1 FROM readings r2
                    WHERE r2.meter_id = r.meter_id AND (r2.reading_date, r2.id) > (r.reading_date, r.id)
                      AND EXISTS (SELECT 1 FROM bill_readings y WHERE y.reading_id = r2.id AND y.superseded_by IS NULL))
  )
  SELECT v_out || jsonb_build_object('uncovered_readings', jsonb_build_object(
           'count', (SELECT count(*) FROM q),
           'first', COALESCE((SELECT jsonb_agg(to_jsonb(z)) FROM (SELECT * FROM q ORDER BY reading_id LIMIT p_limit) z),
                             '[]'::jsonb)))
    INTO v_out;
  WITH q AS (
    SELECT x.reading_id, count(*) AS bills FROM bill_readings x JOIN bills b ON b.id = x.bill_id
     WHERE b.status <> 'superseded' GROUP BY x.reading_id HAVING count(*) > 1
  )
  SELECT v_out || jsonb_build_object('double_covered', jsonb_build_object(
           'count', (SELECT count(*) FROM q),
           'first', COALESCE((SELECT jsonb_agg(to_jsonb(z)) FROM (SELECT * FROM q ORDER BY reading_id LIMIT p_limit) z),
                             '[]'::jsonb)))
    INTO v_out;
  WITH sums AS (
    SELECT bill_id, sum(units) AS units, sum(motor_units) AS motor FROM bill_readings GROUP BY bill_id
  ), q AS (
    SELECT b.id AS bill_id, b.account_id, b.units::text AS units, b.motor_units::text AS motor_units
      FROM bills b JOIN sums s ON s.bill_id = b.id
     -- a bill that trued up an estimate charges its readings' units less what it deducted (estimates.py)
     WHERE b.units + COALESCE((b.tariff_details #>> '{estimate,deducted_units}')::numeric, 0) <> s.units
        OR b.motor_units <> s.motor
        OR (b.status <> 'superseded' AND b.first_reading_id IS NOT NULL AND EXISTS (
              SELECT 1 FROM bill_readings y JOIN readings r ON r.id = y.reading_id
               WHERE y.bill_id = b.id AND y.units <> COALESCE(r.approved_units, r.consumption, 0)))
  )
  SELECT v_out || jsonb_build_object('units_mismatch', jsonb_build_object(
           'count', (SELECT count(*) FROM q),
           'first', COALESCE((SELECT jsonb_agg(to_jsonb(z)) FROM (SELECT * FROM q ORDER BY bill_id LIMIT p_limit) z),
                             '[]'::jsonb)))
    INTO v_out;
  WITH per_account AS (
    SELECT account_id,
           sum(CASE WHEN status IN ('pending', 'partially_paid', 'overdue') THEN total_amount - amount_paid ELSE 0 END)
             AS owed,
           sum(CASE WHEN status NOT IN ('cancelled', 'superseded') THEN total_amount - previous_outstanding ELSE 0 END)
             AS charges
      FROM bills GROUP BY account_id
  ), paid AS (
    SELECT b.account_id, sum(p.amount) AS paid FROM payments p JOIN bills b ON b.id = p.bill_id
     WHERE b.status NOT IN ('cancelled', 'superseded') GROUP BY b.account_id
  ), q AS (
    SELECT f.account_id, f.owed::text AS owed, f.charges::text AS charges, COALESCE(p.paid, 0)::text AS paid
      FROM per_account f LEFT JOIN paid p ON p.account_id = f.account_id
     WHERE f.owed <> f.charges - COALESCE(p.paid, 0)
  )
  SELECT v_out || jsonb_build_object('balance_mismatch', jsonb_build_object(
           'count', (SELECT count(*) FROM q),
           'first', COALESCE((SELECT jsonb_agg(to_jsonb(z)) FROM (SELECT * FROM q ORDER BY account_id LIMIT p_limit) z),
                             '[]'::jsonb)))
    INTO v_out;
  WITH sums AS (
    SELECT bill_id, sum(amount) AS lines FROM bill_lines GROUP BY bill_id
  ), q AS (
    SELECT b.id AS bill_id, b.account_id, b.total_amount::text AS total_amount,
           COALESCE(s.lines, 0)::text AS lines_sum
      FROM bills b LEFT JOIN sums s ON s.bill_id = b.id
     WHERE COALESCE(s.lines, 0) <> b.total_amount
  )
  SELECT v_out || jsonb_build_object('lines_mismatch', jsonb_build_object(
           'count', (SELECT count(*) FROM q),
           'first', COALESCE((SELECT jsonb_agg(to_jsonb(z)) FROM (SELECT * FROM q ORDER BY bill_id LIMIT p_limit) z),
                             '[]'::jsonb)))
    INTO v_out;
  -- The per-month, per-area summary rows (database/bill_totals.py) against a recomputation from the bills.
  WITH fresh AS (
    SELECT to_char(billing_period_start, 'YYYY-MM') AS bill_month, area_id, due_date, status,
           amount_paid > 0 AS paid_any, previous_outstanding > 0 AS arrears, count(*) AS bills,
           sum(round(total_units * 100)::bigint) AS units, sum(round((total_amount - previous_outstanding) * 100)::bigint) AS billed,
           sum(round(total_amount * 100)::bigint) AS due, sum(round(amount_paid * 100)::bigint) AS paid
      FROM bills GROUP BY 1, 2, 3, 4, 5, 6
  ), stored AS (
    SELECT * FROM bill_month_totals WHERE bills <> 0 OR units <> 0 OR billed <> 0 OR due <> 0 OR paid <> 0
  ), q AS (
    SELECT COALESCE(s.bill_month, f.bill_month) AS bill_month, COALESCE(s.area_id, f.area_id) AS area_id,
           COALESCE(s.due_date, f.due_date) AS due_date, COALESCE(s.status, f.status) AS status,
           COALESCE(s.paid_any, f.paid_any) AS paid_any, COALESCE(s.arrears, f.arrears) AS arrears,
           s.bills AS stored_bills, f.bills AS recomputed_bills, s.due AS stored_due, f.due AS recomputed_due,
           s.paid AS stored_paid, f.paid AS recomputed_paid
      FROM stored s FULL JOIN fresh f USING (bill_month, area_id, due_date, status, paid_any, arrears)
     WHERE (COALESCE(s.bills, 0), COALESCE(s.units, 0), COALESCE(s.billed, 0), COALESCE(s.due, 0), COALESCE(s.paid, 0))
           IS DISTINCT FROM (COALESCE(f.bills, 0), COALESCE(f.units, 0), COALESCE(f.billed, 0), COALESCE(f.due, 0),
                             COALESCE(f.paid, 0))
  )
  SELECT v_out || jsonb_build_object('totals_mismatch', jsonb_build_object(
           'count', (SELECT count(*) FROM q),
           'first', COALESCE((SELECT jsonb_agg(to_jsonb(z)) FROM (SELECT * FROM q ORDER BY bill_month, area_id,
                                                                   due_date, status LIMIT p_limit) z), '[]'::jsonb)))
    INTO v_out;
  RETURN v_out;
END $$;

-- ---- database/supabase/50_functions_runs_reports.sql ----

-- Month-end bill runs (read side and run records) and dashboard figures. Amounts come back as
-- text so they reach Python as exact Decimals (PostgREST sends numerics as JSON numbers).

-- A run record (bill_runs) of one service, optionally limited to one area. Audited. Returns its id.
DROP FUNCTION IF EXISTS meterline_start_bill_run(date, date, date, jsonb);  -- schema version 2: no service, area
CREATE OR REPLACE FUNCTION meterline_start_bill_run(p_start date, p_end date, p_due date, p_actor jsonb,
                                                    p_service text DEFAULT 'electricity', p_area bigint DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_id bigint;
BEGIN
  INSERT INTO bill_runs (billing_period_start, billing_period_end, due_date, service, area_id, status, started_by,
                         started_at)
  VALUES (p_start, p_end, p_due, p_service, p_area, 'running', COALESCE(p_actor->>'username', 'system'), now())
  RETURNING id INTO v_id;
  PERFORM meterline_audit(p_actor, 'bill_run.start', 'bill_run', v_id::text, jsonb_build_object(
    'start', p_start::text, 'end', p_end::text, 'due', p_due::text, 'service', p_service, 'area_id', p_area));
  RETURN v_id;
END $$;

-- Accounts the run would bill (active, with an active connection to the service started by p_end, under p_area when
-- given, and by the plan's quantity source: an approved reading dated in the period, daily usage in
-- it, or none needed for a fixed fee) that already have a bill of the service starting in the period.
DROP FUNCTION IF EXISTS meterline_count_run_skips(date, date);  -- schema version 2: readings of flats only
CREATE OR REPLACE FUNCTION meterline_count_run_skips(p_start date, p_end date, p_service text DEFAULT 'electricity',
                                                     p_source text DEFAULT 'readings', p_area bigint DEFAULT NULL)
RETURNS bigint LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT count(*)
    FROM accounts a JOIN service_connections sc ON sc.account_id = a.id AND sc.service = p_service
   WHERE a.is_active AND sc.is_active AND (sc.started_on IS NULL OR sc.started_on <= p_end)
     AND EXISTS (SELECT 1 FROM bills b WHERE b.account_id = a.id AND b.service = p_service
                                         AND b.billing_period_start BETWEEN p_start AND p_end)
     AND (p_source <> 'readings' OR EXISTS (
           SELECT 1 FROM meters m JOIN readings r ON r.meter_id = m.id
            WHERE m.account_id = a.id AND r.status = 'approved' AND r.reading_date BETWEEN p_start AND p_end))
     AND (p_source <> 'usage' OR EXISTS (
           SELECT 1 FROM daily_usage u WHERE u.account_id = a.id AND u.usage_date BETWEEN p_start AND p_end))
     AND (p_area IS NULL OR a.area_id IN (SELECT meterline_area_subtree(p_area)))
$$;

-- The next p_limit accounts by id after p_after (under p_area when given): each active one with an
-- active connection to p_service and no bill of it starting in the period is a candidate, by the
-- plan's quantity source p_source (services/billing/pricing.py):
--   'readings': it has an approved reading dated in the period that no bill covers; "tail" holds its
--               readings (approved or pending, not covered) after each meter's last billed reading,
--               dated up to the period end (Python decides what the bill covers: coverage.run_chain);
--   'usage':    it has unbilled daily usage up to the period end (from the day after its last billed day:
--               usage that came after its month's run is billed by the next); "usage" holds the sum
--               {first_date, last_date, days, quantity, since: the first day its bill charges};
--   'none':     a fixed fee: every such account.
-- Plus those accounts' open bills of the service. Returns {"upper": the last account id looked at or
-- null when none are left, "candidates": [...], "open_bills": [...]}; amounts and quantities as text.
DROP FUNCTION IF EXISTS meterline_bill_run_candidates(date, date, bigint, integer);  -- schema version 2
CREATE OR REPLACE FUNCTION meterline_bill_run_candidates(p_start date, p_end date, p_service text, p_source text,
                                                         p_area bigint, p_after bigint, p_limit integer)
RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
  v_upper bigint;
  v_candidates jsonb;
BEGIN
  IF p_source NOT IN ('readings', 'usage', 'none') THEN
    PERFORM meterline_invalid('source', format('%s is not a quantity source.', p_source),
                              'Use readings, usage or none (services/billing/pricing.py).');
  END IF;
  SELECT max(w.id) INTO v_upper
    FROM (SELECT a.id FROM accounts a
           WHERE a.id > p_after AND (p_area IS NULL OR a.area_id IN (SELECT meterline_area_subtree(p_area)))
           ORDER BY a.id LIMIT p_limit) w;
  IF v_upper IS NULL THEN
    RETURN jsonb_build_object('upper', NULL, 'candidates', '[]'::jsonb, 'open_bills', '[]'::jsonb);
  END IF;
  WITH win AS MATERIALIZED (  -- the window's billable accounts
    SELECT a.id AS account_id, a.code, a.category, a.account_type, a.area_id, sc.tariff_plan_id
      FROM accounts a JOIN service_connections sc ON sc.account_id = a.id AND sc.service = p_service
     WHERE a.id > p_after AND a.id <= v_upper AND a.is_active AND sc.is_active
       AND (sc.started_on IS NULL OR sc.started_on <= p_end)  -- billed from the month it starts, never before
       AND (p_area IS NULL OR a.area_id IN (SELECT meterline_area_subtree(p_area)))
       -- The window is repeated on bills so the (account_id, status) index bounds the look.
       AND NOT EXISTS (SELECT 1 FROM bills b WHERE b.account_id = a.id AND b.account_id > p_after
                          AND b.account_id <= v_upper AND b.service = p_service
                          AND b.billing_period_start BETWEEN p_start AND p_end)
  ), lm AS (  -- 'readings': their meters, each with its last billed reading
    SELECT m.id AS meter_id, m.account_id,
           (SELECT r2.id FROM readings r2
             WHERE r2.meter_id = m.id
               AND EXISTS (SELECT 1 FROM bill_readings x WHERE x.reading_id = r2.id AND x.superseded_by IS NULL)
             ORDER BY r2.reading_date DESC, r2.id DESC LIMIT 1) AS last_id
      FROM meters m JOIN win w ON w.account_id = m.account_id
     WHERE p_source = 'readings'
  ), tail AS (
    SELECT lm.account_id, r.id, r.meter_id, r.reading_date, r.status, r.approved_units, r.consumption,
           r.motor_share, r.motor_reading_id
      FROM lm JOIN readings r ON r.meter_id = lm.meter_id
      LEFT JOIN readings lr ON lr.id = lm.last_id
     WHERE r.status IN ('approved', 'pending') AND r.reading_date <= p_end
       AND (lr.id IS NULL OR (r.reading_date, r.id) > (lr.reading_date, lr.id))
       AND NOT EXISTS (SELECT 1 FROM bill_readings x WHERE x.reading_id = r.id AND x.superseded_by IS NULL)
  ), billed AS (  -- 'usage': the first day each bill charges: the day after the account's last billed usage day
    -- (bills that stand), else the period start or its first estimated bill's, whichever is earlier
    -- (services/billing/estimates.first_unbilled_day)
    SELECT w.account_id, COALESCE(
             (SELECT max(b.usage_to) + 1 FROM bills b
               WHERE b.account_id = w.account_id AND b.service = p_service AND b.status <> 'superseded'),
             (SELECT LEAST(min(b.billing_period_start), p_start) FROM bills b
               WHERE b.account_id = w.account_id AND b.service = p_service
                 AND b.status NOT IN ('superseded', 'cancelled') AND (b.tariff_details -> 'estimate') IS NOT NULL
                 AND (b.tariff_details #>> '{estimate,estimated}') = 'true'),
             p_start) AS since
      FROM win w WHERE p_source = 'usage'
  ), used AS (  -- 'usage': their unbilled daily usage up to the period end, summed
    SELECT d.account_id, bl.since, min(d.usage_date) AS first_date, max(d.usage_date) AS last_date, count(*) AS days,
           sum(d.quantity)::numeric(14, 2) AS quantity
      FROM daily_usage d JOIN billed bl ON bl.account_id = d.account_id
     WHERE d.usage_date BETWEEN bl.since AND p_end
     GROUP BY d.account_id, bl.since
  ), picked AS (
    SELECT w.* FROM win w
     WHERE CASE p_source
             -- only accounts with an approved reading in the period (billed, waiting or without units)
             WHEN 'readings' THEN EXISTS (SELECT 1 FROM tail t WHERE t.account_id = w.account_id
                                             AND t.status = 'approved' AND t.reading_date BETWEEN p_start AND p_end)
             WHEN 'usage' THEN EXISTS (SELECT 1 FROM used u WHERE u.account_id = w.account_id)
             ELSE true END
  )
  SELECT COALESCE(jsonb_agg(jsonb_build_object(
           'account_id', p.account_id, 'account_code', p.code, 'category', p.category,
           'account_type', p.account_type, 'area_id', p.area_id, 'tariff_plan_id', p.tariff_plan_id,
           'tail', COALESCE((SELECT jsonb_agg(jsonb_build_object(
                      'reading_id', t.id, 'meter_id', t.meter_id, 'reading_date', t.reading_date, 'status', t.status,
                      'approved_units', t.approved_units::text, 'consumption', t.consumption::text,
                      'motor_share', t.motor_share::text, 'motor_reading_id', t.motor_reading_id)
                      ORDER BY t.reading_date, t.id) FROM tail t WHERE t.account_id = p.account_id), '[]'::jsonb),
           'usage', (SELECT jsonb_build_object('first_date', u.first_date, 'last_date', u.last_date, 'days', u.days,
                                               'quantity', u.quantity::text, 'since', u.since)
                       FROM used u WHERE u.account_id = p.account_id)) ORDER BY p.account_id), '[]'::jsonb)
    INTO v_candidates
    FROM picked p;
  RETURN jsonb_build_object(
    'upper', v_upper,
    'candidates', v_candidates,
    'open_bills', COALESCE((
      SELECT jsonb_agg(jsonb_build_object('account_id', b.account_id, 'id', b.id, 'total_amount', b.total_amount::text,
                                          'amount_paid', b.amount_paid::text) ORDER BY b.id)
        FROM bills b
       WHERE b.account_id IN (SELECT (c->>'account_id')::bigint FROM jsonb_array_elements(v_candidates) AS c)
         AND b.service = p_service AND b.status IN ('pending', 'partially_paid', 'overdue')), '[]'::jsonb));
END $$;

-- meterline_dashboard and meterline_monthly_series: database/supabase/85_functions_bill_totals.sql

-- ---- database/supabase/60_functions_accounts.sql ----

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

-- ---- database/supabase/70_functions_master_data.sql ----

-- Master data import (services/master_data/importer.py decides what changed; these store it).

-- What the database holds for one chunk of an import (services/master_data/importer.MasterDataState):
-- each account with its area path, category and primary contact, the accounts' active meters and
-- motor links, each meter with its account or motor, the motors' active meters. Read-only.
DROP FUNCTION IF EXISTS meterline_master_data_state(text[], text[], text[]);  -- schema version 2 named p_flat_codes
CREATE OR REPLACE FUNCTION meterline_master_data_state(p_account_codes text[], p_meter_numbers text[],
                                                       p_motor_codes text[])
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT jsonb_build_object(
    'accounts', COALESCE((SELECT jsonb_agg(jsonb_build_object(
                 'id', d.id, 'code', d.code, 'area_path', d.area_path, 'category', d.category,
                 'contact_id', d.contact_id, 'contact_name', d.contact_name, 'contact_phone', d.contact_phone))
               FROM account_details d WHERE d.code = ANY (p_account_codes)), '[]'::jsonb),
    'flat_meters', COALESCE((SELECT jsonb_agg(jsonb_build_array(a.code, m.id, m.meter_number) ORDER BY m.id)
               FROM meters m JOIN accounts a ON a.id = m.account_id
              WHERE a.code = ANY (p_account_codes) AND m.status = 'active'), '[]'::jsonb),
    'account_motors', COALESCE((SELECT jsonb_agg(jsonb_build_array(a.code, mo.code) ORDER BY am.id)
               FROM account_motors am JOIN accounts a ON a.id = am.account_id JOIN motors mo ON mo.id = am.motor_id
              WHERE a.code = ANY (p_account_codes)), '[]'::jsonb),
    'meters', COALESCE((SELECT jsonb_agg(jsonb_build_object('id', m.id, 'meter_number', m.meter_number,
                                                            'status', m.status, 'account_code', a.code,
                                                            'motor_code', mo.code))
               FROM meters m LEFT JOIN accounts a ON a.id = m.account_id LEFT JOIN motors mo ON mo.id = m.motor_id
              WHERE m.meter_number = ANY (p_meter_numbers)), '[]'::jsonb),
    'motor_meters', COALESCE((SELECT jsonb_agg(jsonb_build_array(mo.code, m.id, m.meter_number) ORDER BY m.id)
               FROM meters m JOIN motors mo ON mo.id = m.motor_id
              WHERE mo.code = ANY (p_motor_codes) AND m.account_id IS NULL AND m.status = 'active'), '[]'::jsonb))
$$;

-- One chunk of an import (services/master_data/importer.MasterDataChanges); codes and area paths are
-- resolved to ids here, as services/storage/sql_master.py does: the areas (blocks, floors) first, then
-- motors; each new flat is an account (type flat) in its leaf area, connected to the stored
-- electricity plan (PT409 when there is none: nothing of the import is kept). Returns the chunk's
-- counts. Runs inside the caller's transaction (meterline_apply_master_data,
-- meterline_apply_staged_master_data).
CREATE OR REPLACE FUNCTION meterline_apply_master_changes(p_changes jsonb)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  x record;
  v_contact bigint;
  v_plan bigint;
  v_counts jsonb := '{}'::jsonb;
  k text;
BEGIN
  IF jsonb_array_length(COALESCE(p_changes->'areas', '[]'::jsonb)) > 0 THEN
    PERFORM meterline_ensure_areas(p_changes->'areas', jsonb_build_object('user_id', NULL, 'username', 'system',
                                                                          'client', NULL));
  END IF;
  INSERT INTO motors (code, name)
  SELECT code, COALESCE(name, '') FROM jsonb_to_recordset(COALESCE(p_changes->'motors', '[]')) AS t(code text, name text);
  IF jsonb_array_length(COALESCE(p_changes->'flats_new', '[]'::jsonb)) > 0 THEN
    SELECT id INTO v_plan FROM tariff_plans WHERE service = 'electricity' ORDER BY id LIMIT 1;
    IF v_plan IS NULL THEN
      PERFORM meterline_conflict('No electricity tariff plan is stored, so new flats cannot be connected; set the '
                                 'utility up first (python -m scripts.seed_demo on an empty database, or the Tariff '
                                 'plans page). Nothing was written.');
    END IF;
    -- An unknown area path leaves area_id NULL, which the table refuses: nothing is stored.
    INSERT INTO accounts (code, name, area_id, category, account_type)
    SELECT e.v->>'code', COALESCE(e.v->>'name', ''), ar.id, e.v->>'category', 'flat'
      FROM jsonb_array_elements(p_changes->'flats_new') WITH ORDINALITY AS e(v, ord)
      LEFT JOIN areas ar ON ar.path = e.v->>'area_path'
     ORDER BY e.ord;
    INSERT INTO service_connections (account_id, service, tariff_plan_id)
    SELECT a.id, 'electricity', v_plan
      FROM jsonb_array_elements(p_changes->'flats_new') WITH ORDINALITY AS e(v, ord)
      JOIN accounts a ON a.code = e.v->>'code'
     ORDER BY e.ord;
  END IF;
  UPDATE accounts SET area_id = c.area_id, category = c.category, updated_at = now()
    FROM (SELECT t.id, t.category, ar.id AS area_id
            FROM jsonb_to_recordset(COALESCE(p_changes->'flats_changed', '[]')) AS t(id bigint, area_path text, category text)
            LEFT JOIN areas ar ON ar.path = t.area_path) c
   WHERE accounts.id = c.id;
  FOR x IN SELECT e.v->>'name' AS name, e.v->>'phone' AS phone, a.id AS account_id
             FROM jsonb_array_elements(COALESCE(p_changes->'owners_new', '[]')) WITH ORDINALITY AS e(v, ord)
             JOIN accounts a ON a.code = e.v->>'account_code'
            ORDER BY e.ord LOOP
    INSERT INTO contacts (name, phone) VALUES (x.name, x.phone) RETURNING id INTO v_contact;
    INSERT INTO account_contacts (account_id, contact_id, is_primary) VALUES (x.account_id, v_contact, true);
  END LOOP;
  UPDATE contacts SET name = t.name, phone = t.phone
    FROM jsonb_to_recordset(COALESCE(p_changes->'owners_changed', '[]')) AS t(id bigint, name text, phone text)
   WHERE contacts.id = t.id;
  UPDATE meters SET status = 'replaced'
   WHERE id IN (SELECT value::bigint FROM jsonb_array_elements_text(COALESCE(p_changes->'meters_retired', '[]')));
  INSERT INTO meters (meter_number, account_id, motor_id, status)
  SELECT e.v->>'meter_number', a.id, mo.id, 'active'
    FROM jsonb_array_elements(COALESCE(p_changes->'meters_new', '[]')) WITH ORDINALITY AS e(v, ord)
    LEFT JOIN accounts a ON a.code = e.v->>'account_code' LEFT JOIN motors mo ON mo.code = e.v->>'motor_code'
   ORDER BY e.ord;
  DELETE FROM account_motors USING jsonb_to_recordset(COALESCE(p_changes->'links_removed', '[]'))
         AS t(account_code text, motor_code text), accounts a, motors mo
   WHERE a.code = t.account_code AND mo.code = t.motor_code AND account_motors.account_id = a.id
     AND account_motors.motor_id = mo.id;
  INSERT INTO account_motors (account_id, motor_id)
  SELECT a.id, mo.id
    FROM jsonb_to_recordset(COALESCE(p_changes->'links_new', '[]')) AS t(account_code text, motor_code text)
    JOIN accounts a ON a.code = t.account_code JOIN motors mo ON mo.code = t.motor_code;
  FOR k IN SELECT key FROM jsonb_each(p_changes) WHERE jsonb_typeof(value) = 'array' LOOP
    IF jsonb_array_length(p_changes->k) > 0 THEN
      v_counts := v_counts || jsonb_build_object(k, jsonb_array_length(p_changes->k));
    END IF;
  END LOOP;
  RETURN v_counts;
END $$;

-- A whole import given as one chunk, in one transaction. Audited.
CREATE OR REPLACE FUNCTION meterline_apply_master_data(p_changes jsonb, p_actor jsonb)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_counts jsonb := meterline_apply_master_changes(p_changes);
BEGIN
  PERFORM meterline_audit(p_actor, 'master_data.import', 'master_data', NULL, v_counts);
  RETURN v_counts;
END $$;

-- A big import is sent in parts (one request each, into master_data_staging, a table of
-- database/schema.py) and applied by one call, all or nothing. Staged parts change nothing until
-- meterline_apply_staged_master_data; parts of an import that never completed are removed after a day.
CREATE OR REPLACE FUNCTION meterline_stage_master_data(p_import text, p_part integer, p_changes jsonb)
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  DELETE FROM master_data_staging WHERE staged_at < now() - interval '1 day';
  INSERT INTO master_data_staging (import_id, part, changes) VALUES (p_import, p_part, p_changes);
END $$;

-- Every staged part of the import, in order, in one transaction; then the parts are removed.
-- PT409 when a part is missing (nothing applied). Audited once with the summed counts.
CREATE OR REPLACE FUNCTION meterline_apply_staged_master_data(p_import text, p_parts integer, p_actor jsonb)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  x record;
  v_part jsonb;
  v_counts jsonb := '{}'::jsonb;
  k text;
  v_found integer;
BEGIN
  SELECT count(*) INTO v_found FROM master_data_staging WHERE import_id = p_import AND part BETWEEN 1 AND p_parts;
  IF v_found <> p_parts THEN
    PERFORM meterline_conflict(format('Only %s of the %s parts of this master data import arrived; nothing was '
                                      'stored. Run the import again.', v_found, p_parts));
  END IF;
  FOR x IN SELECT changes FROM master_data_staging WHERE import_id = p_import ORDER BY part LOOP
    v_part := meterline_apply_master_changes(x.changes);
    FOR k IN SELECT jsonb_object_keys(v_part) LOOP
      v_counts := v_counts || jsonb_build_object(k, COALESCE((v_counts->>k)::integer, 0) + (v_part->>k)::integer);
    END LOOP;
  END LOOP;
  DELETE FROM master_data_staging WHERE import_id = p_import;
  PERFORM meterline_audit(p_actor, 'master_data.import', 'master_data', NULL, v_counts);
  RETURN v_counts;
END $$;

-- ---- database/supabase/80_functions_water.sql ----

-- Water (issue 13): daily usage stored all or nothing with the register readings it comes from,
-- usage history per account, usage anomaly detection (set-based), the anomaly review, and contact
-- edits. The SQL backend's twins are services/storage/sql_usage.py and sql_anomalies.py; the same
-- contract tests run on both (tests/contract/test_water_usage.py, test_anomalies.py).

-- Store a batch of daily usage (Storage.store_usage): approve a pending reading with it, store the
-- batch's register readings chained per meter, then the rows; refuse a locked month, a billed day or
-- a day that has usage already, writing nothing. p_batch: {"approve_reading_id", "approve_consumption",
-- "readings": [BatchReading], "rows": [NewUsage]}; p_details: the usage.store audit details Python
-- built; p_reading_details: the reading.submit details per batch reading. Returns the rows stored.
CREATE OR REPLACE FUNCTION meterline_store_usage(p_batch jsonb, p_actor jsonb, p_details jsonb,
                                                 p_reading_details jsonb, p_now timestamptz)
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_rid bigint := (p_batch->>'approve_reading_id')::bigint;
  v_meter bigint;
  v_status text;
  v_n integer;
  v_ids bigint[] := '{}';
  v_last jsonb := '{}'::jsonb;
  v_prev bigint;
  v_latest readings;
  x record;
  v_id bigint;
  v_month text;
  v_code text;
  v_day date;
  v_billed date;
  v_first date;
  v_lastday date;
BEGIN
  IF v_rid IS NOT NULL THEN
    SELECT meter_id INTO v_meter FROM readings WHERE id = v_rid;
    IF v_meter IS NULL THEN
      PERFORM meterline_not_found(format('Reading %s does not exist.', v_rid));
    END IF;
    PERFORM 1 FROM meters WHERE id = v_meter FOR UPDATE;
    UPDATE readings SET status = 'approved', reviewed_by = (p_actor->>'user_id')::bigint, reviewed_at = p_now,
                        updated_at = p_now
     WHERE id = v_rid AND status = 'pending'
       AND consumption IS NOT DISTINCT FROM (p_batch->>'approve_consumption')::numeric;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    IF v_n = 0 THEN
      SELECT status INTO v_status FROM readings WHERE id = v_rid;
      PERFORM meterline_conflict(format('Reading %s is %s and ', v_rid, v_status) || CASE WHEN v_status = 'pending'
        THEN 'was re-measured meanwhile; open it again.' ELSE 'only pending readings can be reviewed.' END);
    END IF;
    PERFORM meterline_audit(p_actor, 'reading.approve', 'reading', v_rid::text,
                            jsonb_build_object('usage_rows', jsonb_array_length(p_batch->'rows')));
  END IF;

  FOR x IN SELECT e.value AS v, e.ordinality AS i
             FROM jsonb_array_elements(COALESCE(p_batch->'readings', '[]'::jsonb)) WITH ORDINALITY e LOOP
    IF NOT v_last ? (x.v->>'meter_id') THEN
      PERFORM 1 FROM meters WHERE id = (x.v->>'meter_id')::bigint FOR UPDATE;
      SELECT * INTO v_latest FROM readings WHERE meter_id = (x.v->>'meter_id')::bigint AND status <> 'rejected'
       ORDER BY reading_date DESC, id DESC LIMIT 1;
      IF v_latest.id IS DISTINCT FROM (x.v->>'previous_reading_id')::bigint THEN
        PERFORM meterline_conflict(format('Meter #%s has a reading stored meanwhile (#%s of %s); check the file '
          'against it and import it again.', x.v->>'meter_id', v_latest.id, v_latest.reading_date));
      END IF;
      v_prev := (x.v->>'previous_reading_id')::bigint;
    ELSE
      v_prev := (v_last->>(x.v->>'meter_id'))::bigint;
    END IF;
    INSERT INTO readings (meter_id, reading_value, reading_date, consumption, previous_reading_id, source, status,
                          submitted_by, reviewed_by, reviewed_at, created_at, updated_at)
    VALUES ((x.v->>'meter_id')::bigint, (x.v->>'reading_value')::numeric, (x.v->>'reading_date')::date,
            (x.v->>'consumption')::numeric, v_prev, 'import', 'approved', (p_actor->>'user_id')::bigint,
            (p_actor->>'user_id')::bigint, p_now, p_now, p_now)
    RETURNING id INTO v_id;
    PERFORM meterline_audit(p_actor, 'reading.submit', 'reading', v_id::text, p_reading_details->(x.i::integer - 1));
    v_ids := v_ids || v_id;
    v_last := v_last || jsonb_build_object(x.v->>'meter_id', v_id);
  END LOOP;

  IF jsonb_array_length(COALESCE(p_batch->'rows', '[]'::jsonb)) = 0 THEN
    RETURN 0;
  END IF;
  CREATE TEMP TABLE IF NOT EXISTS meterline_usage_batch (
    n integer, account_id bigint, meter_id bigint, usage_date date, quantity numeric, source text, reading_id bigint
  ) ON COMMIT DROP;
  DELETE FROM meterline_usage_batch;
  INSERT INTO meterline_usage_batch
  SELECT e.ordinality, (e.value->>'account_id')::bigint, (e.value->>'meter_id')::bigint,
         (e.value->>'usage_date')::date, (e.value->>'quantity')::numeric, COALESCE(e.value->>'source', 'import'),
         COALESCE(v_ids[(e.value->>'reading_ref')::integer + 1], (e.value->>'reading_id')::bigint)
    FROM jsonb_array_elements(p_batch->'rows') WITH ORDINALITY e;

  SELECT l.month INTO v_month FROM period_locks l
   WHERE l.month IN (SELECT to_char(usage_date, 'YYYY-MM') FROM meterline_usage_batch) ORDER BY l.month LIMIT 1;
  IF v_month IS NOT NULL THEN
    RAISE EXCEPTION 'PERIOD_LOCKED: billing period % is locked; its usage cannot change. Nothing was stored.', v_month
      USING ERRCODE = 'P0001';
  END IF;
  SELECT a.code, t.usage_date, bl.billed INTO v_code, v_day, v_billed
    FROM meterline_usage_batch t
    JOIN (SELECT b.account_id, max(b.usage_to) AS billed FROM bills b
           WHERE b.account_id IN (SELECT account_id FROM meterline_usage_batch) AND b.usage_to IS NOT NULL
             AND b.status <> 'superseded' GROUP BY b.account_id) bl ON bl.account_id = t.account_id
    JOIN accounts a ON a.id = t.account_id
   WHERE t.usage_date <= bl.billed ORDER BY t.n LIMIT 1;
  IF v_code IS NOT NULL THEN
    PERFORM meterline_conflict(format('%s is billed for its usage up to %s, so usage of %s cannot be added (the '
      'bill would not count it). Nothing was stored.', v_code, v_billed, v_day));
  END IF;
  SELECT a.code, t.usage_date INTO v_code, v_day
    FROM meterline_usage_batch t JOIN accounts a ON a.id = t.account_id
   WHERE EXISTS (SELECT 1 FROM daily_usage u WHERE u.account_id = t.account_id AND u.usage_date = t.usage_date)
      OR EXISTS (SELECT 1 FROM meterline_usage_batch o
                  WHERE o.account_id = t.account_id AND o.usage_date = t.usage_date AND o.n < t.n)
   ORDER BY t.n LIMIT 1;
  IF v_code IS NOT NULL THEN
    PERFORM meterline_conflict(format('%s already has usage for %s: the same water would be counted twice. '
      'Nothing was stored.', v_code, v_day));
  END IF;
  BEGIN
    INSERT INTO daily_usage (account_id, meter_id, usage_date, quantity, source, created_by, created_at, reading_id)
    SELECT account_id, meter_id, usage_date, quantity, source, (p_actor->>'user_id')::bigint, p_now, reading_id
      FROM meterline_usage_batch ORDER BY n;
  EXCEPTION WHEN unique_violation THEN  -- a concurrent import stored one of the days meanwhile
    PERFORM meterline_conflict('Another import stored usage for some of these days meanwhile: the same water '
      'would be counted twice. Nothing was stored.');
  END;
  GET DIAGNOSTICS v_n = ROW_COUNT;
  SELECT min(usage_date), max(usage_date), count(*) INTO v_first, v_lastday, v_n FROM meterline_usage_batch;
  -- Derived rows those days fed are rebuilt by the next detection.
  DELETE FROM usage_day_index WHERE usage_date BETWEEN v_first AND v_lastday;
  DELETE FROM usage_baselines WHERE as_of > v_first;
  PERFORM meterline_audit(p_actor, 'usage.store', 'daily_usage', NULL, p_details);
  RETURN v_n;
END $$;

-- Each account's last billed usage day ([{"account_id", "billed_to"}]; accounts never billed for usage are absent).
CREATE OR REPLACE FUNCTION meterline_usage_billed_to(p_account_ids bigint[])
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT COALESCE(jsonb_agg(jsonb_build_object('account_id', t.account_id, 'billed_to', t.billed_to)), '[]'::jsonb)
    FROM (SELECT b.account_id, max(b.usage_to) AS billed_to FROM bills b
           WHERE b.account_id = ANY (p_account_ids) AND b.usage_to IS NOT NULL AND b.status <> 'superseded'
           GROUP BY b.account_id) t
$$;

-- An account's usage per calendar month over [p_start, p_end], oldest first, quantities as text.
CREATE OR REPLACE FUNCTION meterline_usage_months(p_account_id bigint, p_start date, p_end date)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT COALESCE(jsonb_agg(jsonb_build_object('month', t.month, 'days', t.days, 'quantity', t.quantity::text,
                                                'peak', t.peak::text, 'zero_days', t.zero_days) ORDER BY t.month),
                  '[]'::jsonb)
    FROM (SELECT to_char(u.usage_date, 'YYYY-MM') AS month, count(*) AS days, sum(u.quantity) AS quantity,
                 max(u.quantity) AS peak, sum(CASE WHEN u.quantity = 0 THEN 1 ELSE 0 END) AS zero_days
            FROM daily_usage u WHERE u.account_id = p_account_id AND u.usage_date BETWEEN p_start AND p_end
           GROUP BY 1) t
$$;

-- Accounts flagged per period start and method ([{"period_start", "method", "accounts", "reviewed"}]).
CREATE OR REPLACE FUNCTION meterline_anomaly_counts(p_start date, p_end date)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT COALESCE(jsonb_agg(jsonb_build_object('period_start', t.period_start, 'method', t.method,
                                                'accounts', t.n, 'reviewed', t.reviewed)
                            ORDER BY t.period_start, t.method), '[]'::jsonb)
    FROM (SELECT period_start, method, count(*) AS n, sum(CASE WHEN status = 'reviewed' THEN 1 ELSE 0 END) AS reviewed
            FROM usage_anomalies WHERE period_start BETWEEN p_start AND p_end GROUP BY period_start, method) t
$$;

-- Record the review of an open anomaly (open -> reviewed); PT409 when reviewed already, PT404 when none.
CREATE OR REPLACE FUNCTION meterline_review_anomaly(p_id bigint, p_outcome text, p_note text, p_actor jsonb,
                                                    p_now timestamptz)
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v usage_anomalies;
BEGIN
  UPDATE usage_anomalies SET status = 'reviewed', outcome = p_outcome, review_note = p_note,
         reviewed_by = (p_actor->>'user_id')::bigint, reviewed_by_name = p_actor->>'username', reviewed_at = p_now
   WHERE id = p_id AND status = 'open';
  IF NOT FOUND THEN
    SELECT * INTO v FROM usage_anomalies WHERE id = p_id;
    IF v.id IS NULL THEN
      PERFORM meterline_not_found(format('Anomaly %s does not exist.', p_id));
    END IF;
    PERFORM meterline_conflict(format('Anomaly %s was reviewed already by %s (%s).', p_id, v.reviewed_by_name,
                                      replace(COALESCE(v.outcome, ''), '_', ' ')));
  END IF;
  PERFORM meterline_audit(p_actor, 'anomaly.review', 'usage_anomaly', p_id::text,
                          jsonb_build_object('outcome', p_outcome, 'note', p_note));
END $$;

-- Change a contact's name, phone, email or address; audited with the old and new value of each
-- field that changed. PT404 when there is none.
CREATE OR REPLACE FUNCTION meterline_update_contact(p_id bigint, p_values jsonb, p_actor jsonb)
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_old jsonb;
  v_changed jsonb := '{}'::jsonb;
  f text;
BEGIN
  SELECT to_jsonb(o) INTO v_old FROM contacts o WHERE id = p_id FOR UPDATE;
  IF v_old IS NULL THEN
    PERFORM meterline_not_found(format('Contact %s does not exist.', p_id));
  END IF;
  FOREACH f IN ARRAY ARRAY['name', 'phone', 'email', 'address'] LOOP
    IF p_values ? f AND (v_old->f) IS DISTINCT FROM (p_values->f) THEN
      v_changed := v_changed || jsonb_build_object(f, jsonb_build_object('old', v_old->f, 'new', p_values->f));
    END IF;
  END LOOP;
  IF v_changed <> '{}'::jsonb THEN
    UPDATE contacts SET name = CASE WHEN v_changed ? 'name' THEN p_values->>'name' ELSE name END,
                        phone = CASE WHEN v_changed ? 'phone' THEN p_values->>'phone' ELSE phone END,
                        email = CASE WHEN v_changed ? 'email' THEN p_values->>'email' ELSE email END,
                        address = CASE WHEN v_changed ? 'address' THEN p_values->>'address' ELSE address END
     WHERE id = p_id;
    PERFORM meterline_audit(p_actor, 'contact.update', 'contact', p_id::text, v_changed);
  END IF;
END $$;

-- Usage anomaly detection over [p_start, p_end], the PL/pgSQL twin of
-- services/storage/sql_anomalies.py (the same statements, generated from its SQL; keep them in step):
-- the day index for missing days, the baselines, the period's rows once (meterline_detect_period), then
-- one INSERT ... SELECT per method.
-- p_accounts limits the work to those accounts (NULL: every account), as the SQL backend's accounts=.
-- p_binds: the DetectionParams values ({"baseline_days", "min_history_days", "k", ...}); p_params:
-- what is stored with each anomaly. Returns {method: anomalies added}.
DROP FUNCTION IF EXISTS meterline_detect_usage_anomalies(date, date, jsonb, jsonb, jsonb, timestamptz);  -- no p_accounts
CREATE OR REPLACE FUNCTION meterline_detect_usage_anomalies(p_start date, p_end date, p_binds jsonb, p_params jsonb,
                                                            p_actor jsonb, p_now timestamptz,
                                                            p_accounts bigint[] DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_start date := p_start;
  v_end date := p_end;
  v_window integer := (p_binds->>'baseline_days')::integer;
  v_h0 date := p_start - (p_binds->>'baseline_days')::integer;
  v_h1 date := p_start - 1;
  v_min_days integer := (p_binds->>'min_history_days')::integer;
  v_k numeric := (p_binds->>'k')::numeric;
  v_robust numeric := (p_binds->>'robust_threshold')::numeric;
  v_high_factor numeric := (p_binds->>'high_factor')::numeric;
  v_high_floor numeric := (p_binds->>'high_floor')::numeric;
  v_flow_days integer := (p_binds->>'flow_days')::integer;
  v_flow_factor numeric := (p_binds->>'flow_factor')::numeric;
  v_flow_floor numeric := (p_binds->>'flow_floor')::numeric;
  v_zero_min_mean numeric := (p_binds->>'zero_min_mean')::numeric;
  v_zero_min_days integer := (p_binds->>'zero_min_days')::integer;
  v_params text := p_params::text;
  v_now timestamptz := p_now;
  v_actor text := COALESCE(p_actor->>'username', 'system');
  v_methods text[] := ARRAY(SELECT jsonb_array_elements_text(p_binds->'methods'));
  v_method text;
  v_n integer;
  v_counts jsonb := '{}'::jsonb;
BEGIN
  INSERT INTO usage_day_index (account_type, usage_date, accounts, mean)
  SELECT COALESCE(a.account_type, ''), u.usage_date, count(*), round(avg(u.quantity), 6)
    FROM daily_usage u JOIN accounts a ON a.id = u.account_id
   WHERE a.is_active
     AND u.usage_date IN (SELECT g::date FROM generate_series(v_h0, v_end, interval '1 day') g  -- days without
                           WHERE NOT EXISTS (SELECT 1 FROM usage_day_index x WHERE x.usage_date = g::date))
   GROUP BY COALESCE(a.account_type, ''), u.usage_date;
  EXECUTE $q$
    INSERT INTO usage_baselines (account_id, as_of, window_days, days, mean, sd, median, mad, adj_median, adj_mad)
    WITH targets AS (
      SELECT DISTINCT u.account_id FROM daily_usage u
       WHERE u.usage_date BETWEEN $1 AND $2 AND ($6::bigint[] IS NULL OR u.account_id = ANY ($6))
         AND NOT EXISTS (SELECT 1 FROM usage_baselines x
                          WHERE x.account_id = u.account_id AND x.as_of = $1 AND x.window_days = $3)
    ), h AS (
      SELECT u.account_id, u.quantity AS q,
             CASE WHEN ix.mean > 0 THEN u.quantity / ix.mean END AS r
        FROM daily_usage u
        JOIN targets t ON t.account_id = u.account_id
        JOIN accounts ac ON ac.id = u.account_id
        LEFT JOIN usage_day_index ix ON ix.account_type = COALESCE(ac.account_type, '') AND ix.usage_date = u.usage_date
       WHERE u.usage_date BETWEEN $4 AND $5
    ), st AS (
      SELECT account_id, COUNT(*) AS n, AVG(q) AS mean, SUM(q * q) AS ss, (percentile_disc(0.5) WITHIN GROUP (ORDER BY q) + percentile_disc(0.5000000001) WITHIN GROUP (ORDER BY q)) / 2 AS med,
             COUNT(r) AS rn, (percentile_disc(0.5) WITHIN GROUP (ORDER BY r) + percentile_disc(0.5000000001) WITHIN GROUP (ORDER BY r)) / 2 AS amed
        FROM h GROUP BY account_id HAVING COUNT(*) >= 2
    ), dev AS (
      SELECT h.account_id, (percentile_disc(0.5) WITHIN GROUP (ORDER BY ABS(h.q - st.med)) + percentile_disc(0.5000000001) WITHIN GROUP (ORDER BY ABS(h.q - st.med))) / 2 AS mad, (percentile_disc(0.5) WITHIN GROUP (ORDER BY ABS(h.r - st.amed)) + percentile_disc(0.5000000001) WITHIN GROUP (ORDER BY ABS(h.r - st.amed))) / 2 AS amad
        FROM h JOIN st ON st.account_id = h.account_id GROUP BY h.account_id
    )
    SELECT st.account_id, $1, $3, st.n, ROUND(st.mean, 4),
           ROUND(CASE WHEN (st.ss - st.n * st.mean * st.mean) > 0
                      THEN SQRT((st.ss - st.n * st.mean * st.mean) / (st.n - 1)) ELSE 0 END, 4),
           ROUND(st.med, 4), ROUND(dev.mad, 4),
           CASE WHEN st.rn >= 2 THEN ROUND(st.amed, 4) END, CASE WHEN st.rn >= 2 THEN ROUND(dev.amad, 4) END
      FROM st JOIN dev ON dev.account_id = st.account_id
  $q$ USING v_start, v_end, v_window, v_h0, v_h1, p_accounts;
  -- The period's rows joined once to their baseline and day index; every method reads them.
  DROP TABLE IF EXISTS pg_temp.meterline_detect_period;
  CREATE TEMP TABLE meterline_detect_period (account_id bigint, usage_date date, q numeric, is_active boolean,
    area_id bigint, days integer, mean numeric, sd numeric, median numeric, mad numeric, adj_median numeric,
    adj_mad numeric, ix numeric) ON COMMIT DROP;
  INSERT INTO meterline_detect_period
  SELECT u.account_id, u.usage_date, u.quantity, ac.is_active, ac.area_id,
         bl.days, bl.mean, bl.sd, bl.median, bl.mad, bl.adj_median, bl.adj_mad, ix.mean
    FROM daily_usage u
    JOIN accounts ac ON ac.id = u.account_id
    LEFT JOIN usage_baselines bl ON bl.account_id = u.account_id AND bl.as_of = v_start AND bl.window_days = v_window
    LEFT JOIN usage_day_index ix ON ix.account_type = COALESCE(ac.account_type, '') AND ix.usage_date = u.usage_date
   WHERE u.usage_date BETWEEN v_start AND v_end AND (p_accounts IS NULL OR u.account_id = ANY (p_accounts));
  ANALYZE meterline_detect_period;
  -- zscore
  IF 'zscore' = ANY (v_methods) THEN
    v_method := 'zscore';
    EXECUTE $q$
      INSERT INTO usage_anomalies (account_id, area_id, method, period_start, period_end, usage_date, usage, baseline,
                                   spread, score, history_days, params, detected_at, detected_by, status)
      WITH p AS (SELECT * FROM meterline_detect_period), c AS (
            SELECT account_id, usage_date, q AS usage, mean AS baseline, sd AS spread, (q - mean) / sd AS score,
                   (q - mean) / sd AS rank_score, days, area_id
              FROM p WHERE p.is_active = $4 AND p.days >= $5 AND sd > 0 AND q > mean + $6 * sd), w AS (
        SELECT c.*, ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY rank_score DESC, usage_date) AS pick FROM c
      )
      SELECT account_id, area_id, CAST($7 AS VARCHAR(32)), $1, $3, usage_date, ROUND(usage, 2), ROUND(baseline, 4), ROUND(spread, 4),
             ROUND(score, 4), days, CAST($8 AS JSONB), $9, $10, 'open'
        FROM w
       WHERE pick = 1
         AND NOT EXISTS (SELECT 1 FROM usage_anomalies x
                          WHERE x.account_id = w.account_id AND x.method = CAST($7 AS VARCHAR(32)) AND x.period_start = $1)
       ON CONFLICT DO NOTHING
    $q$ USING v_start, v_window, v_end, true, v_min_days, v_k, v_method, v_params, v_now, v_actor;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('zscore', v_n);
  END IF;
  -- robust
  IF 'robust' = ANY (v_methods) THEN
    v_method := 'robust';
    EXECUTE $q$
      INSERT INTO usage_anomalies (account_id, area_id, method, period_start, period_end, usage_date, usage, baseline,
                                   spread, score, history_days, params, detected_at, detected_by, status)
      WITH p AS (SELECT * FROM meterline_detect_period), c AS (
            SELECT account_id, usage_date, q AS usage, adj_median * ix AS baseline, adj_mad * ix AS spread,
                   0.6745 * (q / ix - adj_median) / adj_mad AS score, 0.6745 * (q / ix - adj_median) / adj_mad AS rank_score,
                   days, area_id
              FROM p WHERE p.is_active = $4 AND p.days >= $5 AND adj_mad > 0 AND ix > 0
               AND 0.6745 * (q / ix - adj_median) / adj_mad > $6), w AS (
        SELECT c.*, ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY rank_score DESC, usage_date) AS pick FROM c
      )
      SELECT account_id, area_id, CAST($7 AS VARCHAR(32)), $1, $3, usage_date, ROUND(usage, 2), ROUND(baseline, 4), ROUND(spread, 4),
             ROUND(score, 4), days, CAST($8 AS JSONB), $9, $10, 'open'
        FROM w
       WHERE pick = 1
         AND NOT EXISTS (SELECT 1 FROM usage_anomalies x
                          WHERE x.account_id = w.account_id AND x.method = CAST($7 AS VARCHAR(32)) AND x.period_start = $1)
       ON CONFLICT DO NOTHING
    $q$ USING v_start, v_window, v_end, true, v_min_days, v_robust, v_method, v_params, v_now, v_actor;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('robust', v_n);
  END IF;
  -- high_read
  IF 'high_read' = ANY (v_methods) THEN
    v_method := 'high_read';
    EXECUTE $q$
      INSERT INTO usage_anomalies (account_id, area_id, method, period_start, period_end, usage_date, usage, baseline,
                                   spread, score, history_days, params, detected_at, detected_by, status)
      WITH p AS (SELECT * FROM meterline_detect_period), c AS (
            SELECT account_id, usage_date, q AS usage, mean AS baseline, sd AS spread, q / mean AS score,
                   q / mean AS rank_score, days, area_id
              FROM p WHERE p.is_active = $4 AND p.days >= $5 AND mean > 0 AND q > $6 * mean AND q - mean >= $7), w AS (
        SELECT c.*, ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY rank_score DESC, usage_date) AS pick FROM c
      )
      SELECT account_id, area_id, CAST($8 AS VARCHAR(32)), $1, $3, usage_date, ROUND(usage, 2), ROUND(baseline, 4), ROUND(spread, 4),
             ROUND(score, 4), days, CAST($9 AS JSONB), $10, $11, 'open'
        FROM w
       WHERE pick = 1
         AND NOT EXISTS (SELECT 1 FROM usage_anomalies x
                          WHERE x.account_id = w.account_id AND x.method = CAST($8 AS VARCHAR(32)) AND x.period_start = $1)
       ON CONFLICT DO NOTHING
    $q$ USING v_start, v_window, v_end, true, v_min_days, v_high_factor, v_high_floor, v_method, v_params, v_now, v_actor;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('high_read', v_n);
  END IF;
  -- continuous_flow
  IF 'continuous_flow' = ANY (v_methods) THEN
    v_method := 'continuous_flow';
    EXECUTE format($q$
      INSERT INTO usage_anomalies (account_id, area_id, method, period_start, period_end, usage_date, usage, baseline,
                                   spread, score, history_days, params, detected_at, detected_by, status)
      WITH p AS (SELECT * FROM meterline_detect_period), c AS (
            SELECT account_id, usage_date, low AS usage, median AS baseline, mad AS spread, low / median AS score,
                   low / median AS rank_score, days, area_id
              FROM (SELECT p.*, MIN(q) OVER w AS low, COUNT(*) OVER w AS cnt, MIN(usage_date) OVER w AS first_day
                      FROM p WHERE p.is_active = $4 AND p.days >= $5 AND median > 0
                       AND q >= CASE WHEN $7 * median > $8 THEN $7 * median ELSE $8 END
                    WINDOW w AS (PARTITION BY account_id ORDER BY usage_date
                                 ROWS BETWEEN %s PRECEDING AND CURRENT ROW)) f
             WHERE cnt = $6 AND (usage_date - first_day) = $6 - 1), w AS (
        SELECT c.*, ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY rank_score DESC, usage_date) AS pick FROM c
      )
      SELECT account_id, area_id, CAST($9 AS VARCHAR(32)), $1, $3, usage_date, ROUND(usage, 2), ROUND(baseline, 4), ROUND(spread, 4),
             ROUND(score, 4), days, CAST($10 AS JSONB), $11, $12, 'open'
        FROM w
       WHERE pick = 1
         AND NOT EXISTS (SELECT 1 FROM usage_anomalies x
                          WHERE x.account_id = w.account_id AND x.method = CAST($9 AS VARCHAR(32)) AND x.period_start = $1)
       ON CONFLICT DO NOTHING
    $q$, v_flow_days - 1) USING v_start, v_window, v_end, true, v_min_days, v_flow_days, v_flow_factor, v_flow_floor, v_method, v_params, v_now, v_actor;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('continuous_flow', v_n);
  END IF;
  -- zero_usage
  IF 'zero_usage' = ANY (v_methods) THEN
    v_method := 'zero_usage';
    EXECUTE $q$
      INSERT INTO usage_anomalies (account_id, area_id, method, period_start, period_end, usage_date, usage, baseline,
                                   spread, score, history_days, params, detected_at, detected_by, status)
      WITH p AS (SELECT * FROM meterline_detect_period), c AS (
            SELECT account_id, MIN(usage_date) AS usage_date, 0 AS usage, MAX(mean) AS baseline, MAX(sd) AS spread,
                   COUNT(*) AS score, COUNT(*) AS rank_score, MAX(days) AS days, MAX(area_id) AS area_id
              FROM p WHERE p.is_active = $4 AND p.days >= $5 AND q = 0 AND mean >= $6
             GROUP BY account_id HAVING COUNT(*) >= $7), w AS (
        SELECT c.*, ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY rank_score DESC, usage_date) AS pick FROM c
      )
      SELECT account_id, area_id, CAST($8 AS VARCHAR(32)), $1, $3, usage_date, ROUND(usage, 2), ROUND(baseline, 4), ROUND(spread, 4),
             ROUND(score, 4), days, CAST($9 AS JSONB), $10, $11, 'open'
        FROM w
       WHERE pick = 1
         AND NOT EXISTS (SELECT 1 FROM usage_anomalies x
                          WHERE x.account_id = w.account_id AND x.method = CAST($8 AS VARCHAR(32)) AND x.period_start = $1)
       ON CONFLICT DO NOTHING
    $q$ USING v_start, v_window, v_end, true, v_min_days, v_zero_min_mean, v_zero_min_days, v_method, v_params, v_now, v_actor;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('zero_usage', v_n);
  END IF;
  -- inactive_usage
  IF 'inactive_usage' = ANY (v_methods) THEN
    v_method := 'inactive_usage';
    EXECUTE $q$
      INSERT INTO usage_anomalies (account_id, area_id, method, period_start, period_end, usage_date, usage, baseline,
                                   spread, score, history_days, params, detected_at, detected_by, status)
      WITH p AS (SELECT * FROM meterline_detect_period), c AS (
            SELECT account_id, usage_date, q AS usage, mean AS baseline, sd AS spread,
                   SUM(q) OVER (PARTITION BY account_id) AS score, q AS rank_score, COALESCE(days, 0) AS days, area_id
              FROM p WHERE p.is_active = $4 AND q > 0), w AS (
        SELECT c.*, ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY rank_score DESC, usage_date) AS pick FROM c
      )
      SELECT account_id, area_id, CAST($5 AS VARCHAR(32)), $1, $3, usage_date, ROUND(usage, 2), ROUND(baseline, 4), ROUND(spread, 4),
             ROUND(score, 4), days, CAST($6 AS JSONB), $7, $8, 'open'
        FROM w
       WHERE pick = 1
         AND NOT EXISTS (SELECT 1 FROM usage_anomalies x
                          WHERE x.account_id = w.account_id AND x.method = CAST($5 AS VARCHAR(32)) AND x.period_start = $1)
       ON CONFLICT DO NOTHING
    $q$ USING v_start, v_window, v_end, false, v_method, v_params, v_now, v_actor;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_counts := v_counts || jsonb_build_object('inactive_usage', v_n);
  END IF;

  PERFORM meterline_audit(p_actor, 'usage.detect', 'usage_anomalies', NULL, jsonb_build_object(
    'period_start', p_start, 'period_end', p_end, 'found', v_counts, 'params', p_params)
    || CASE WHEN p_accounts IS NULL THEN '{}'::jsonb
            ELSE jsonb_build_object('accounts', (SELECT count(DISTINCT x) FROM unnest(p_accounts) x)) END);
  RETURN v_counts;
END $$;

-- ---- database/supabase/80_scopes.sql ----

-- Staff scoped to their areas (services/accounts/scopes.py) on Supabase, enforced by the database.
--
-- The app server reads for an area-limited user with the header x-meterline-scope: a JSON list of
-- area paths (["KSR/KSR-UC03"]). PostgREST calls meterline_pre_request() before every request (the
-- schema file sets pgrst.db_pre_request on the authenticator role, below); when the header is there
-- on a service-role request it switches the request to the role meterline_staff, which has no
-- BYPASSRLS: row level security (policies generated by scripts/export_supabase_schema.py from
-- database/supabase_scopes.py) then shows it only the rows of those areas, in every table, view
-- and function the request reads. The anon and authenticated keys can never use the header.

CREATE OR REPLACE FUNCTION meterline_scope_paths() RETURNS text[]
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT CASE WHEN h IS NULL THEN NULL ELSE ARRAY(SELECT json_array_elements_text(h::json)) END
    FROM (SELECT NULLIF(current_setting('request.headers', true), '')::json ->> 'x-meterline-scope' AS h) x
$$;

-- A customer's scope (issue 16) also carries x-meterline-accounts: a JSON list of their linked account
-- ids. NULL when absent (staff): accounts, bills and what hangs off them are then limited by area only.
CREATE OR REPLACE FUNCTION meterline_scope_account_ids() RETURNS bigint[]
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT CASE WHEN h IS NULL THEN NULL
              ELSE ARRAY(SELECT (json_array_elements_text(h::json))::bigint) END
    FROM (SELECT NULLIF(current_setting('request.headers', true), '')::json ->> 'x-meterline-accounts' AS h) x
$$;

-- The ids of the areas in scope: each path's area and everything under it ("KSR" takes "KSR/...",
-- never "KSRX"). Security definer: it reads areas whole, whatever the caller may see.
CREATE OR REPLACE FUNCTION meterline_scope_area_ids() RETURNS bigint[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT COALESCE(array_agg(DISTINCT a.id), '{}')
    FROM areas a, unnest(COALESCE(meterline_scope_paths(), '{}')) AS p
   WHERE a.path = p
      OR a.path LIKE replace(replace(replace(p, '\', '\\'), '%', '\%'), '_', '\_') || '/%'
$$;

-- The areas shown to navigate: those in scope and those above them (a city whose union council is
-- in scope).
CREATE OR REPLACE FUNCTION meterline_scope_shown_area_ids() RETURNS bigint[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT COALESCE(array_agg(a.id), '{}')
    FROM areas a
   WHERE a.id = ANY (meterline_scope_area_ids())
      OR EXISTS (SELECT 1 FROM unnest(COALESCE(meterline_scope_paths(), '{}')) AS p
                  WHERE p LIKE replace(replace(replace(a.path, '\', '\\'), '%', '\%'), '_', '\_') || '/%')
$$;

-- PostgREST's pre-request function: a service-role request with the scope header reads as
-- meterline_staff. Any other role sending the header is refused (anon and authenticated may not even
-- run it: their requests fail, as they do anyway).
CREATE OR REPLACE FUNCTION meterline_pre_request() RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  IF meterline_scope_paths() IS NULL AND meterline_scope_account_ids() IS NULL THEN
    RETURN;
  END IF;
  IF current_user <> 'service_role' THEN
    RAISE EXCEPTION 'the scope header is for the app server''s service role only' USING ERRCODE = '42501';
  END IF;
  PERFORM set_config('role', 'meterline_staff', true);
END $$;

-- What a scoped read runs as (the app checks it before its first scoped read and fails closed).
CREATE OR REPLACE FUNCTION meterline_scope_probe() RETURNS jsonb
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT jsonb_build_object('role', current_user, 'paths', to_jsonb(meterline_scope_paths()))
$$;

-- PostgREST reads its pre-request function from the authenticator role's settings (Supabase
-- projects have that role; a plain PostgreSQL used by the tests' fake PostgREST gets it from the
-- roles section). Only a role allowed to alter authenticator may set it: otherwise this says so and
-- the app refuses scoped reads until it is set (services/storage/rest_scope.py).
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticator') THEN
    BEGIN
      EXECUTE 'GRANT meterline_staff TO authenticator';
      EXECUTE 'ALTER ROLE authenticator SET pgrst.db_pre_request = ''public.meterline_pre_request''';
      NOTIFY pgrst, 'reload config';
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE WARNING 'Could not set PostgREST''s pre-request function (%). As the project owner run: GRANT '
                    'meterline_staff TO authenticator; ALTER ROLE authenticator SET pgrst.db_pre_request = '
                    '''public.meterline_pre_request''; NOTIFY pgrst, ''reload config'';', SQLERRM;
    END;
  END IF;
END $$;

-- ---- database/supabase/82_functions_staff.sql ----

-- The areas each staff member works in (services/storage/sql_staff.py; table user_areas).

CREATE OR REPLACE FUNCTION meterline_user_areas(p_user_id bigint) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT COALESCE(jsonb_agg(to_jsonb(a) ORDER BY a.sort_order, a.path), '[]'::jsonb)
    FROM user_areas ua JOIN areas a ON a.id = ua.area_id
   WHERE ua.user_id = p_user_id
$$;

-- Replace a user's whole assignment, with its audit entry, in one transaction.
CREATE OR REPLACE FUNCTION meterline_set_user_areas(p_user_id bigint, p_area_ids bigint[], p_actor jsonb)
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_missing bigint;
  v_before jsonb;
  v_after jsonb;
BEGIN
  PERFORM 1 FROM users WHERE id = p_user_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM meterline_not_found(format('User %s does not exist.', p_user_id));
  END IF;
  SELECT x INTO v_missing FROM unnest(COALESCE(p_area_ids, '{}')) AS x WHERE NOT EXISTS (SELECT 1 FROM areas WHERE id = x) LIMIT 1;
  IF v_missing IS NOT NULL THEN
    PERFORM meterline_invalid('areas', format('Area %s does not exist.', v_missing), 'Pick the areas from the list.');
  END IF;
  SELECT COALESCE(jsonb_agg(a.path ORDER BY a.path), '[]'::jsonb) INTO v_before
    FROM user_areas ua JOIN areas a ON a.id = ua.area_id WHERE ua.user_id = p_user_id;
  DELETE FROM user_areas WHERE user_id = p_user_id;
  INSERT INTO user_areas (user_id, area_id, assigned_by_name, created_at)
  SELECT p_user_id, x, left(COALESCE(p_actor->>'username', 'system'), 64), now()
    FROM (SELECT DISTINCT x FROM unnest(COALESCE(p_area_ids, '{}')) AS x) d;
  SELECT COALESCE(jsonb_agg(a.path ORDER BY a.path), '[]'::jsonb) INTO v_after
    FROM user_areas ua JOIN areas a ON a.id = ua.area_id WHERE ua.user_id = p_user_id;
  PERFORM meterline_audit(p_actor, 'user.areas', 'user', p_user_id::text,
                          jsonb_build_object('before', v_before, 'after', v_after));
END $$;

-- ---- database/supabase/84_functions_bank_files.sql ----

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

-- ---- database/supabase/85_functions_bill_totals.sql ----

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

-- ---- database/supabase/86_functions_reports.sql ----

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

-- ---- database/supabase/87_functions_analytics.sql ----

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

-- ---- database/supabase/88_functions_bulk.sql ----

-- Bulk activation/deactivation of accounts with one audit entry (services/storage/sql_bulk.py).
CREATE OR REPLACE FUNCTION meterline_set_accounts_active(p_ids bigint[], p_active boolean, p_reason text, p_actor jsonb)
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_changed integer;
  v_ids bigint[] := ARRAY(SELECT DISTINCT x FROM unnest(COALESCE(p_ids, '{}')) AS x);
BEGIN
  UPDATE accounts SET is_active = p_active, updated_at = now()
   WHERE id = ANY (v_ids) AND is_active IS DISTINCT FROM p_active;
  GET DIAGNOSTICS v_changed = ROW_COUNT;
  PERFORM meterline_audit(p_actor, 'bulk.accounts_active', 'account', NULL, jsonb_build_object(
    'active', p_active, 'requested', cardinality(v_ids), 'changed', v_changed, 'reason', p_reason,
    'ids', to_jsonb(v_ids[1:100])));
  RETURN v_changed;
END $$;

-- ---- database/supabase/90_field.sql ----

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

-- ---- database/supabase/90_functions_survey.sql ----

-- The municipal survey import (services/municipal/survey.py decides; services/storage/sql_survey.py
-- is the SQL backends' twin of these functions).

-- What is stored for these survey ids: account, primary contact and survey values.
CREATE OR REPLACE FUNCTION meterline_survey_state(p_codes text[])
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT COALESCE(jsonb_agg(jsonb_build_object(
           'account_id', a.id, 'code', a.code, 'area_id', a.area_id, 'category', a.category,
           'account_type', a.account_type, 'is_active', a.is_active, 'billing_name', a.name,
           'billing_address', a.address, 'gps_lat', a.gps_lat::text, 'gps_lon', a.gps_lon::text,
           'contact_id', o.id, 'billing_mobile', o.phone,
           'surveyor_name', v.surveyor_name, 'surveyed_at', v.surveyed_at, 'survey_name', v.survey_name,
           'survey_mobile', v.survey_mobile, 'survey_address', v.survey_address, 'house_type', v.house_type,
           'water_connection', v.water_connection, 'size_marla', v.size_marla::text, 'photo_ref', v.photo_ref,
           'gps_text', v.gps_text, 'unit_type', v.unit_type, 'size_category', v.size_category)), '[]'::jsonb)
    FROM accounts a
    LEFT JOIN account_contacts ac ON ac.account_id = a.id AND ac.is_primary
    LEFT JOIN contacts o ON o.id = ac.contact_id
    LEFT JOIN account_surveys v ON v.account_id = a.id
   WHERE a.code = ANY (p_codes)
$$;

-- Store an import's plan in one transaction (the function is one): inserts, updates, history, audit.
CREATE OR REPLACE FUNCTION meterline_apply_survey(p_plan jsonb, p_source text, p_actor jsonb)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  u jsonb;
  v_account bigint;
  v_contact bigint;
  v_now timestamptz := now();
BEGIN
  FOR u IN SELECT * FROM jsonb_array_elements(COALESCE(p_plan -> 'inserts', '[]'::jsonb)) LOOP
    INSERT INTO accounts (code, area_id, name, category, account_type, is_active, address, gps_lat, gps_lon,
                          created_at, updated_at)
    VALUES (u ->> 'code', (u ->> 'area_id')::bigint, u ->> 'billing_name', u ->> 'category', u ->> 'account_type',
            (u ->> 'is_active')::boolean, u ->> 'billing_address', (u ->> 'gps_lat')::numeric,
            (u ->> 'gps_lon')::numeric, v_now, v_now)
    RETURNING id INTO v_account;
    INSERT INTO contacts (name, phone, address) VALUES (u ->> 'billing_name', u ->> 'billing_mobile',
                                                        u ->> 'billing_address')
    RETURNING id INTO v_contact;
    INSERT INTO account_contacts (account_id, contact_id, role, is_primary) VALUES (v_account, v_contact, 'owner', true);
    INSERT INTO account_surveys (account_id, survey_id, surveyor_name, surveyed_at, survey_name, survey_mobile,
                                 survey_address, house_type, water_connection, size_marla, photo_ref, gps_text,
                                 unit_type, size_category)
    VALUES (v_account, u ->> 'code', u ->> 'surveyor_name', (u ->> 'surveyed_at')::timestamptz, u ->> 'survey_name',
            u ->> 'survey_mobile', u ->> 'survey_address', u ->> 'house_type', u ->> 'water_connection',
            (u ->> 'size_marla')::numeric, u ->> 'photo_ref', u ->> 'gps_text', u ->> 'unit_type',
            u ->> 'size_category');
    IF u ->> 'connect_plan_id' IS NOT NULL THEN
      INSERT INTO service_connections (account_id, service, tariff_plan_id, is_active, started_on)
      VALUES (v_account, u ->> 'service', (u ->> 'connect_plan_id')::bigint, (u ->> 'is_active')::boolean,
              (u ->> 'connect_from')::date);
    END IF;
  END LOOP;
  FOR u IN SELECT * FROM jsonb_array_elements(COALESCE(p_plan -> 'updates', '[]'::jsonb)) LOOP
    v_account := (u ->> 'account_id')::bigint;
    UPDATE accounts SET area_id = (u ->> 'area_id')::bigint, name = u ->> 'billing_name', category = u ->> 'category',
           account_type = u ->> 'account_type', is_active = (u ->> 'is_active')::boolean,
           address = u ->> 'billing_address', gps_lat = (u ->> 'gps_lat')::numeric,
           gps_lon = (u ->> 'gps_lon')::numeric, updated_at = v_now
     WHERE id = v_account;
    IF u ->> 'contact_id' IS NOT NULL THEN
      UPDATE contacts SET name = u ->> 'billing_name', phone = u ->> 'billing_mobile', address = u ->> 'billing_address'
       WHERE id = (u ->> 'contact_id')::bigint;
    ELSE
      INSERT INTO contacts (name, phone, address) VALUES (u ->> 'billing_name', u ->> 'billing_mobile',
                                                          u ->> 'billing_address')
      RETURNING id INTO v_contact;
      INSERT INTO account_contacts (account_id, contact_id, role, is_primary) VALUES (v_account, v_contact, 'owner', true);
    END IF;
    UPDATE account_surveys SET surveyor_name = u ->> 'surveyor_name', surveyed_at = (u ->> 'surveyed_at')::timestamptz,
           survey_name = u ->> 'survey_name', survey_mobile = u ->> 'survey_mobile',
           survey_address = u ->> 'survey_address', house_type = u ->> 'house_type',
           water_connection = u ->> 'water_connection', size_marla = (u ->> 'size_marla')::numeric,
           photo_ref = u ->> 'photo_ref', gps_text = u ->> 'gps_text', unit_type = u ->> 'unit_type',
           size_category = u ->> 'size_category'
     WHERE account_id = v_account;
    IF NOT FOUND THEN
      INSERT INTO account_surveys (account_id, survey_id, surveyor_name, surveyed_at, survey_name, survey_mobile,
                                   survey_address, house_type, water_connection, size_marla, photo_ref, gps_text,
                                   unit_type, size_category)
      VALUES (v_account, u ->> 'code', u ->> 'surveyor_name', (u ->> 'surveyed_at')::timestamptz, u ->> 'survey_name',
              u ->> 'survey_mobile', u ->> 'survey_address', u ->> 'house_type', u ->> 'water_connection',
              (u ->> 'size_marla')::numeric, u ->> 'photo_ref', u ->> 'gps_text', u ->> 'unit_type',
              u ->> 'size_category');
    END IF;
  END LOOP;
  INSERT INTO account_history (account_id, field, old_value, new_value, source, changed_by_name, created_at)
  SELECT (x ->> 'account_id')::bigint, x ->> 'field', left(x ->> 'old_value', 255), left(x ->> 'new_value', 255),
         left(p_source, 64), COALESCE(p_actor ->> 'username', 'system'), v_now
    FROM jsonb_array_elements(COALESCE(p_plan -> 'history', '[]'::jsonb)) AS x;
  PERFORM meterline_audit(p_actor, 'survey.import', 'account', NULL,
                          jsonb_build_object('source', p_source) || (p_plan -> 'counts'));
  RETURN p_plan -> 'counts';
END $$;

-- ---- database/supabase/92_functions_photos.sql ----

-- Meter photos' perceptual hashes (issue 20, docs/trust.md): the PL/pgSQL twins of
-- services/storage/sql_photo_hashes.py. The table and its four band indexes come from database/schema.py.
--
-- photo_hashes has no staff policy (database/supabase_scopes.py): staff never read it directly. The
-- lookup is a security definer function that applies the reader's scope itself, from the same request
-- headers row level security reads (80_scopes.sql): the checked photo's meter must be in scope (a
-- customer gets nothing), and a match on a meter outside the scope comes back hidden: its date and hash
-- only, never its meter, account, reading or photo.

-- The print of a reading's photo; the bands are cut from the hash here (the first 4 hex digits are band 0).
-- A repeat for the same reading keeps the first print.
CREATE OR REPLACE FUNCTION meterline_record_photo_print(p_reading_id bigint, p_meter_id bigint, p_reading_date date,
    p_phash text, p_taken_at timestamp, p_photo_ref text) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  IF p_phash IS NULL OR p_phash !~ '^[0-9a-f]{16}$' THEN
    PERFORM meterline_invalid('phash', 'must be 16 lowercase hex digits (a 64-bit perceptual hash)',
                              'store the hash services/photo_checks.py computes');
  END IF;
  INSERT INTO photo_hashes (reading_id, meter_id, reading_date, phash, band0, band1, band2, band3, taken_at, photo_ref)
  VALUES (p_reading_id, p_meter_id, p_reading_date, p_phash,
          ('x' || substr(p_phash, 1, 4))::bit(16)::int, ('x' || substr(p_phash, 5, 4))::bit(16)::int,
          ('x' || substr(p_phash, 9, 4))::bit(16)::int, ('x' || substr(p_phash, 13, 4))::bit(16)::int,
          p_taken_at, p_photo_ref)
  ON CONFLICT (reading_id) DO NOTHING;
END $$;

-- The checked photo and the stored photos within p_max_distance bits of it: four band index probes
-- (UNION ALL, at most p_per_band rows each), then the exact distance. NULL when the reading has no
-- print or is not the reader's to check. The reuse rule, order and wording are services/photo_checks.py's.
CREATE OR REPLACE FUNCTION meterline_photo_candidates(p_reading_id bigint, p_max_distance integer DEFAULT 3,
    p_per_band integer DEFAULT 2000) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_scoped boolean := meterline_scope_paths() IS NOT NULL;
  v_areas bigint[] := meterline_scope_area_ids();
  mine photo_hashes%ROWTYPE;
BEGIN
  IF meterline_scope_account_ids() IS NOT NULL THEN
    RETURN NULL;  -- a customer: photo findings are a reviewer's tool
  END IF;
  SELECT * INTO mine FROM photo_hashes WHERE reading_id = p_reading_id;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF v_scoped AND NOT EXISTS (SELECT 1 FROM meters m JOIN accounts a ON a.id = m.account_id
                               WHERE m.id = mine.meter_id AND a.area_id = ANY (v_areas)) THEN
    RETURN NULL;
  END IF;
  RETURN jsonb_build_object(
    'meter_id', mine.meter_id, 'reading_date', mine.reading_date, 'phash', mine.phash, 'taken_at', mine.taken_at,
    'candidates', COALESCE((
      SELECT jsonb_agg(CASE WHEN s.shown
                            THEN jsonb_build_object('reading_id', c.reading_id, 'meter_id', c.meter_id,
                                                    'reading_date', c.reading_date, 'phash', c.phash,
                                                    'photo_ref', c.photo_ref, 'meter_number', s.meter_number,
                                                    'account_code', s.code)
                            ELSE jsonb_build_object('reading_date', c.reading_date, 'phash', c.phash) END)
        FROM (SELECT DISTINCT ON (u.reading_id) u.*
                FROM ((SELECT * FROM photo_hashes WHERE band0 = mine.band0 AND reading_id <> p_reading_id LIMIT p_per_band)
                      UNION ALL
                      (SELECT * FROM photo_hashes WHERE band1 = mine.band1 AND reading_id <> p_reading_id LIMIT p_per_band)
                      UNION ALL
                      (SELECT * FROM photo_hashes WHERE band2 = mine.band2 AND reading_id <> p_reading_id LIMIT p_per_band)
                      UNION ALL
                      (SELECT * FROM photo_hashes WHERE band3 = mine.band3 AND reading_id <> p_reading_id LIMIT p_per_band)) u
               WHERE bit_count(('x' || u.phash)::bit(64) # ('x' || mine.phash)::bit(64)) <= p_max_distance) c
        CROSS JOIN LATERAL (
          SELECT m.meter_number, a.code,
                 (NOT v_scoped OR COALESCE(a.area_id = ANY (v_areas), false)) AS shown
            FROM meters m LEFT JOIN accounts a ON a.id = m.account_id
           WHERE m.id = c.meter_id) s),
      '[]'::jsonb));
END $$;

-- ---- database/supabase/94_functions_seals.sql ----

-- Tamper-evident bills on Supabase (issue 20, docs/trust.md): the hash chain of database/bill_chain.py.
-- The app server writes each bill's canonical content (bill_chain.canonical, from the bill as stored,
-- read back) and this function chains it: hash = sha256(prev_hash || '\n' || content), appended after
-- the chain head under the advisory lock the SQL backends take (bill_chain._PG_LOCK_KEY), so the
-- chain has one order whoever seals. `python -m scripts.verify_chain` on the project's database walks
-- it as on PostgreSQL. The REST backend seals right after the call that stored the bills (a separate
-- transaction): a bill whose sealing call failed shows as unsealed (verify_chain names it) until
-- meterline_unsealed_bills + this function seal it (SupabaseStorage.seal_unsealed_bills).

CREATE OR REPLACE FUNCTION meterline_seal_bills(p_items jsonb) RETURNS jsonb
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_seq bigint := 0;
  v_hash text := repeat('0', 64);
  v_sealed integer := 0;
  it record;
BEGIN
  PERFORM pg_advisory_xact_lock(7460020);
  SELECT seq, hash INTO v_seq, v_hash FROM bill_seals ORDER BY seq DESC LIMIT 1;
  IF NOT FOUND THEN
    v_seq := 0;
    v_hash := repeat('0', 64);
  END IF;
  FOR it IN SELECT (e->>'bill_id')::bigint AS bill_id, e->>'content' AS content
              FROM jsonb_array_elements(COALESCE(p_items, '[]'::jsonb)) AS e
             ORDER BY (e->>'bill_id')::bigint LOOP
    CONTINUE WHEN EXISTS (SELECT 1 FROM bill_seals WHERE bill_id = it.bill_id);  -- a retry: sealed already
    IF NOT EXISTS (SELECT 1 FROM bills WHERE id = it.bill_id) THEN
      PERFORM meterline_not_found(format('Bill %s does not exist.', it.bill_id));
    END IF;
    v_seq := v_seq + 1;
    INSERT INTO bill_seals (seq, bill_id, prev_hash, hash, sealed_at)
    VALUES (v_seq, it.bill_id, v_hash, encode(sha256(convert_to(v_hash || E'\n' || it.content, 'UTF8')), 'hex'), now())
    RETURNING hash INTO v_hash;
    v_sealed := v_sealed + 1;
  END LOOP;
  RETURN jsonb_build_object('seq', v_seq, 'hash', v_hash, 'sealed', v_sealed);
END $$;

-- Bills without a seal, by id after p_after (keyset pages: a whole-table walk is done page by page).
CREATE OR REPLACE FUNCTION meterline_unsealed_bills(p_after bigint, p_limit integer) RETURNS bigint[]
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT COALESCE(array_agg(id ORDER BY id), '{}') FROM (
    SELECT b.id FROM bills b
     WHERE b.id > p_after AND NOT EXISTS (SELECT 1 FROM bill_seals s WHERE s.bill_id = b.id)
     ORDER BY b.id LIMIT p_limit) x
$$;

-- The chain head an outside party keeps (bill_chain.ChainHead.export).
CREATE OR REPLACE FUNCTION meterline_bill_chain_head() RETURNS jsonb
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT COALESCE((SELECT jsonb_build_object('seq', seq, 'hash', hash, 'bill_id', bill_id)
                     FROM bill_seals ORDER BY seq DESC LIMIT 1),
                  jsonb_build_object('seq', 0, 'hash', repeat('0', 64), 'bill_id', NULL))
$$;

-- ---- row level security and grants ----

-- Every table has RLS on. Only the service key's role (service_role, used by the app server) has a

-- policy and grants; the anon and authenticated keys can read or change nothing.

ALTER TABLE archived_bill_lines ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON archived_bill_lines;

CREATE POLICY meterline_service_role ON archived_bill_lines AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON archived_bill_lines FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON archived_bill_lines TO service_role;

ALTER TABLE archived_bill_readings ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON archived_bill_readings;

CREATE POLICY meterline_service_role ON archived_bill_readings AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON archived_bill_readings FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON archived_bill_readings TO service_role;

ALTER TABLE archived_bill_seals ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON archived_bill_seals;

CREATE POLICY meterline_service_role ON archived_bill_seals AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON archived_bill_seals FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON archived_bill_seals TO service_role;

ALTER TABLE archived_bills ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON archived_bills;

CREATE POLICY meterline_service_role ON archived_bills AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON archived_bills FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON archived_bills TO service_role;

ALTER TABLE archived_notifications ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON archived_notifications;

CREATE POLICY meterline_service_role ON archived_notifications AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON archived_notifications FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON archived_notifications TO service_role;

ALTER TABLE archived_payment_events ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON archived_payment_events;

CREATE POLICY meterline_service_role ON archived_payment_events AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON archived_payment_events FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON archived_payment_events TO service_role;

ALTER TABLE archived_payments ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON archived_payments;

CREATE POLICY meterline_service_role ON archived_payments AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON archived_payments FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON archived_payments TO service_role;

ALTER TABLE areas ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON areas;

CREATE POLICY meterline_service_role ON areas AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON areas FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON areas TO service_role;

REVOKE ALL ON SEQUENCE areas_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE areas_id_seq TO service_role;

ALTER TABLE bill_archive_months ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON bill_archive_months;

CREATE POLICY meterline_service_role ON bill_archive_months AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON bill_archive_months FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON bill_archive_months TO service_role;

ALTER TABLE bill_month_totals ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON bill_month_totals;

CREATE POLICY meterline_service_role ON bill_month_totals AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON bill_month_totals FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON bill_month_totals TO service_role;

ALTER TABLE bill_number_series ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON bill_number_series;

CREATE POLICY meterline_service_role ON bill_number_series AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON bill_number_series FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON bill_number_series TO service_role;

ALTER TABLE contacts ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON contacts;

CREATE POLICY meterline_service_role ON contacts AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON contacts FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON contacts TO service_role;

REVOKE ALL ON SEQUENCE contacts_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE contacts_id_seq TO service_role;

ALTER TABLE job_runs ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON job_runs;

CREATE POLICY meterline_service_role ON job_runs AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON job_runs FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON job_runs TO service_role;

REVOKE ALL ON SEQUENCE job_runs_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE job_runs_id_seq TO service_role;

ALTER TABLE master_data_staging ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON master_data_staging;

CREATE POLICY meterline_service_role ON master_data_staging AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON master_data_staging FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON master_data_staging TO service_role;

ALTER TABLE motors ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON motors;

CREATE POLICY meterline_service_role ON motors AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON motors FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON motors TO service_role;

REVOKE ALL ON SEQUENCE motors_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE motors_id_seq TO service_role;

ALTER TABLE period_locks ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON period_locks;

CREATE POLICY meterline_service_role ON period_locks AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON period_locks FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON period_locks TO service_role;

REVOKE ALL ON SEQUENCE period_locks_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE period_locks_id_seq TO service_role;

ALTER TABLE schema_info ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON schema_info;

CREATE POLICY meterline_service_role ON schema_info AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON schema_info FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON schema_info TO service_role;

ALTER TABLE tariff_plans ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON tariff_plans;

CREATE POLICY meterline_service_role ON tariff_plans AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON tariff_plans FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON tariff_plans TO service_role;

REVOKE ALL ON SEQUENCE tariff_plans_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE tariff_plans_id_seq TO service_role;

ALTER TABLE usage_day_index ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON usage_day_index;

CREATE POLICY meterline_service_role ON usage_day_index AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON usage_day_index FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON usage_day_index TO service_role;

ALTER TABLE users ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON users;

CREATE POLICY meterline_service_role ON users AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON users FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON users TO service_role;

REVOKE ALL ON SEQUENCE users_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE users_id_seq TO service_role;

ALTER TABLE utility_settings ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON utility_settings;

CREATE POLICY meterline_service_role ON utility_settings AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON utility_settings FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON utility_settings TO service_role;

ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON accounts;

CREATE POLICY meterline_service_role ON accounts AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON accounts FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON accounts TO service_role;

REVOKE ALL ON SEQUENCE accounts_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE accounts_id_seq TO service_role;

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON audit_log;

CREATE POLICY meterline_service_role ON audit_log AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON audit_log FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON audit_log TO service_role;

REVOKE ALL ON SEQUENCE audit_log_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE audit_log_id_seq TO service_role;

ALTER TABLE bank_files ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON bank_files;

CREATE POLICY meterline_service_role ON bank_files AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON bank_files FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON bank_files TO service_role;

REVOKE ALL ON SEQUENCE bank_files_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE bank_files_id_seq TO service_role;

ALTER TABLE bill_runs ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON bill_runs;

CREATE POLICY meterline_service_role ON bill_runs AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON bill_runs FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON bill_runs TO service_role;

REVOKE ALL ON SEQUENCE bill_runs_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE bill_runs_id_seq TO service_role;

ALTER TABLE consumer_pattern_totals ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON consumer_pattern_totals;

CREATE POLICY meterline_service_role ON consumer_pattern_totals AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON consumer_pattern_totals FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON consumer_pattern_totals TO service_role;

ALTER TABLE customer_preferences ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON customer_preferences;

CREATE POLICY meterline_service_role ON customer_preferences AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON customer_preferences FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON customer_preferences TO service_role;

ALTER TABLE tariff_plan_versions ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON tariff_plan_versions;

CREATE POLICY meterline_service_role ON tariff_plan_versions AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON tariff_plan_versions FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON tariff_plan_versions TO service_role;

REVOKE ALL ON SEQUENCE tariff_plan_versions_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE tariff_plan_versions_id_seq TO service_role;

ALTER TABLE user_areas ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON user_areas;

CREATE POLICY meterline_service_role ON user_areas AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON user_areas FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON user_areas TO service_role;

REVOKE ALL ON SEQUENCE user_areas_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE user_areas_id_seq TO service_role;

ALTER TABLE user_sessions ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON user_sessions;

CREATE POLICY meterline_service_role ON user_sessions AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON user_sessions FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON user_sessions TO service_role;

REVOKE ALL ON SEQUENCE user_sessions_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE user_sessions_id_seq TO service_role;

ALTER TABLE account_contacts ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON account_contacts;

CREATE POLICY meterline_service_role ON account_contacts AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON account_contacts FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON account_contacts TO service_role;

REVOKE ALL ON SEQUENCE account_contacts_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE account_contacts_id_seq TO service_role;

ALTER TABLE account_history ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON account_history;

CREATE POLICY meterline_service_role ON account_history AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON account_history FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON account_history TO service_role;

REVOKE ALL ON SEQUENCE account_history_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE account_history_id_seq TO service_role;

ALTER TABLE account_motors ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON account_motors;

CREATE POLICY meterline_service_role ON account_motors AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON account_motors FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON account_motors TO service_role;

REVOKE ALL ON SEQUENCE account_motors_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE account_motors_id_seq TO service_role;

ALTER TABLE account_surveys ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON account_surveys;

CREATE POLICY meterline_service_role ON account_surveys AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON account_surveys FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON account_surveys TO service_role;

ALTER TABLE bank_payments ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON bank_payments;

CREATE POLICY meterline_service_role ON bank_payments AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON bank_payments FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON bank_payments TO service_role;

REVOKE ALL ON SEQUENCE bank_payments_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE bank_payments_id_seq TO service_role;

ALTER TABLE bill_run_manifests ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON bill_run_manifests;

CREATE POLICY meterline_service_role ON bill_run_manifests AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON bill_run_manifests FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON bill_run_manifests TO service_role;

REVOKE ALL ON SEQUENCE bill_run_manifests_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE bill_run_manifests_id_seq TO service_role;

ALTER TABLE customer_accounts ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON customer_accounts;

CREATE POLICY meterline_service_role ON customer_accounts AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON customer_accounts FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON customer_accounts TO service_role;

REVOKE ALL ON SEQUENCE customer_accounts_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE customer_accounts_id_seq TO service_role;

ALTER TABLE customer_alerts_sent ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON customer_alerts_sent;

CREATE POLICY meterline_service_role ON customer_alerts_sent AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON customer_alerts_sent FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON customer_alerts_sent TO service_role;

REVOKE ALL ON SEQUENCE customer_alerts_sent_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE customer_alerts_sent_id_seq TO service_role;

ALTER TABLE customer_codes ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON customer_codes;

CREATE POLICY meterline_service_role ON customer_codes AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON customer_codes FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON customer_codes TO service_role;

REVOKE ALL ON SEQUENCE customer_codes_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE customer_codes_id_seq TO service_role;

ALTER TABLE field_visits ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON field_visits;

CREATE POLICY meterline_service_role ON field_visits AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON field_visits FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON field_visits TO service_role;

REVOKE ALL ON SEQUENCE field_visits_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE field_visits_id_seq TO service_role;

ALTER TABLE meters ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON meters;

CREATE POLICY meterline_service_role ON meters AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON meters FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON meters TO service_role;

REVOKE ALL ON SEQUENCE meters_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE meters_id_seq TO service_role;

ALTER TABLE service_connections ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON service_connections;

CREATE POLICY meterline_service_role ON service_connections AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON service_connections FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON service_connections TO service_role;

REVOKE ALL ON SEQUENCE service_connections_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE service_connections_id_seq TO service_role;

ALTER TABLE usage_anomalies ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON usage_anomalies;

CREATE POLICY meterline_service_role ON usage_anomalies AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON usage_anomalies FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON usage_anomalies TO service_role;

REVOKE ALL ON SEQUENCE usage_anomalies_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE usage_anomalies_id_seq TO service_role;

ALTER TABLE usage_baselines ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON usage_baselines;

CREATE POLICY meterline_service_role ON usage_baselines AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON usage_baselines FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON usage_baselines TO service_role;

ALTER TABLE readings ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON readings;

CREATE POLICY meterline_service_role ON readings AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON readings FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON readings TO service_role;

REVOKE ALL ON SEQUENCE readings_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE readings_id_seq TO service_role;

ALTER TABLE bills ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON bills;

CREATE POLICY meterline_service_role ON bills AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON bills FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON bills TO service_role;

REVOKE ALL ON SEQUENCE bills_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE bills_id_seq TO service_role;

ALTER TABLE daily_usage ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON daily_usage;

CREATE POLICY meterline_service_role ON daily_usage AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON daily_usage FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON daily_usage TO service_role;

REVOKE ALL ON SEQUENCE daily_usage_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE daily_usage_id_seq TO service_role;

ALTER TABLE meter_changes ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON meter_changes;

CREATE POLICY meterline_service_role ON meter_changes AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON meter_changes FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON meter_changes TO service_role;

REVOKE ALL ON SEQUENCE meter_changes_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE meter_changes_id_seq TO service_role;

ALTER TABLE photo_hashes ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON photo_hashes;

CREATE POLICY meterline_service_role ON photo_hashes AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON photo_hashes FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON photo_hashes TO service_role;

REVOKE ALL ON SEQUENCE photo_hashes_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE photo_hashes_id_seq TO service_role;

ALTER TABLE bill_lines ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON bill_lines;

CREATE POLICY meterline_service_role ON bill_lines AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON bill_lines FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON bill_lines TO service_role;

REVOKE ALL ON SEQUENCE bill_lines_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE bill_lines_id_seq TO service_role;

ALTER TABLE bill_readings ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON bill_readings;

CREATE POLICY meterline_service_role ON bill_readings AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON bill_readings FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON bill_readings TO service_role;

REVOKE ALL ON SEQUENCE bill_readings_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE bill_readings_id_seq TO service_role;

ALTER TABLE bill_seals ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON bill_seals;

CREATE POLICY meterline_service_role ON bill_seals AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON bill_seals FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON bill_seals TO service_role;

ALTER TABLE notifications ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON notifications;

CREATE POLICY meterline_service_role ON notifications AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON notifications FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON notifications TO service_role;

REVOKE ALL ON SEQUENCE notifications_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE notifications_id_seq TO service_role;

ALTER TABLE payment_events ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON payment_events;

CREATE POLICY meterline_service_role ON payment_events AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON payment_events FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON payment_events TO service_role;

REVOKE ALL ON SEQUENCE payment_events_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE payment_events_id_seq TO service_role;

ALTER TABLE payments ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON payments;

CREATE POLICY meterline_service_role ON payments AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON payments FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON payments TO service_role;

REVOKE ALL ON SEQUENCE payments_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE payments_id_seq TO service_role;

ALTER TABLE tickets ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON tickets;

CREATE POLICY meterline_service_role ON tickets AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON tickets FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON tickets TO service_role;

REVOKE ALL ON SEQUENCE tickets_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE tickets_id_seq TO service_role;

ALTER TABLE ticket_attachments ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON ticket_attachments;

CREATE POLICY meterline_service_role ON ticket_attachments AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON ticket_attachments FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON ticket_attachments TO service_role;

REVOKE ALL ON SEQUENCE ticket_attachments_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE ticket_attachments_id_seq TO service_role;

ALTER TABLE ticket_comments ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS meterline_service_role ON ticket_comments;

CREATE POLICY meterline_service_role ON ticket_comments AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

REVOKE ALL ON ticket_comments FROM PUBLIC, anon, authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON ticket_comments TO service_role;

REVOKE ALL ON SEQUENCE ticket_comments_id_seq FROM PUBLIC, anon, authenticated;

GRANT USAGE, SELECT ON SEQUENCE ticket_comments_id_seq TO service_role;

-- Views and functions defined above (database/supabase/*.sql): service_role only.
DO $$
DECLARE o record;
BEGIN
  FOR o IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = current_schema() AND c.relkind = 'v'
             AND c.relname = ANY (meterline_view_names()) LOOP
    EXECUTE format('REVOKE ALL ON %I FROM PUBLIC, anon, authenticated', o.relname);
    EXECUTE format('GRANT SELECT ON %I TO service_role', o.relname);
  END LOOP;
  FOR o IN SELECT p.oid::regprocedure AS fn FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = current_schema() AND p.proname LIKE 'meterline\_%' LOOP
    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC, anon, authenticated', o.fn);
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO service_role', o.fn);
  END LOOP;
END $$;

-- ---- staff scoped to their areas (database/supabase_scopes.py, database/supabase/80_scopes.sql) ----

GRANT USAGE ON SCHEMA public TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON archived_bill_lines;

REVOKE ALL ON archived_bill_lines FROM meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON archived_bill_readings;

REVOKE ALL ON archived_bill_readings FROM meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON archived_bill_seals;

REVOKE ALL ON archived_bill_seals FROM meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON archived_bills;

REVOKE ALL ON archived_bills FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON archived_bills AS PERMISSIVE FOR SELECT TO meterline_staff USING (area_id = ANY ((SELECT meterline_scope_area_ids())::bigint[]) AND (meterline_scope_account_ids() IS NULL OR account_id = ANY ((SELECT meterline_scope_account_ids())::bigint[])));

GRANT SELECT ON archived_bills TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON archived_notifications;

REVOKE ALL ON archived_notifications FROM meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON archived_payment_events;

REVOKE ALL ON archived_payment_events FROM meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON archived_payments;

REVOKE ALL ON archived_payments FROM meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON areas;

REVOKE ALL ON areas FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON areas AS PERMISSIVE FOR SELECT TO meterline_staff USING (id = ANY ((SELECT meterline_scope_shown_area_ids())::bigint[]));

GRANT SELECT ON areas TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON bill_archive_months;

REVOKE ALL ON bill_archive_months FROM meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON bill_month_totals;

REVOKE ALL ON bill_month_totals FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON bill_month_totals AS PERMISSIVE FOR SELECT TO meterline_staff USING (area_id = ANY ((SELECT meterline_scope_area_ids())::bigint[]) AND meterline_scope_account_ids() IS NULL);

GRANT SELECT ON bill_month_totals TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON bill_number_series;

REVOKE ALL ON bill_number_series FROM meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON contacts;

REVOKE ALL ON contacts FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON contacts AS PERMISSIVE FOR SELECT TO meterline_staff USING (id IN (SELECT contact_id FROM account_contacts));

GRANT SELECT ON contacts TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON job_runs;

REVOKE ALL ON job_runs FROM meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON master_data_staging;

REVOKE ALL ON master_data_staging FROM meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON motors;

REVOKE ALL ON motors FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON motors AS PERMISSIVE FOR SELECT TO meterline_staff USING (true);

GRANT SELECT ON motors TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON period_locks;

REVOKE ALL ON period_locks FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON period_locks AS PERMISSIVE FOR SELECT TO meterline_staff USING (true);

GRANT SELECT ON period_locks TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON schema_info;

REVOKE ALL ON schema_info FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON schema_info AS PERMISSIVE FOR SELECT TO meterline_staff USING (true);

GRANT SELECT ON schema_info TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON tariff_plans;

REVOKE ALL ON tariff_plans FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON tariff_plans AS PERMISSIVE FOR SELECT TO meterline_staff USING (true);

GRANT SELECT ON tariff_plans TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON usage_day_index;

REVOKE ALL ON usage_day_index FROM meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON users;

REVOKE ALL ON users FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON users AS PERMISSIVE FOR SELECT TO meterline_staff USING (true);

GRANT SELECT (id, username, display_name, role, is_active) ON users TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON utility_settings;

REVOKE ALL ON utility_settings FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON utility_settings AS PERMISSIVE FOR SELECT TO meterline_staff USING (true);

GRANT SELECT ON utility_settings TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON accounts;

REVOKE ALL ON accounts FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON accounts AS PERMISSIVE FOR SELECT TO meterline_staff USING (area_id = ANY ((SELECT meterline_scope_area_ids())::bigint[]) AND (meterline_scope_account_ids() IS NULL OR id = ANY ((SELECT meterline_scope_account_ids())::bigint[])));

GRANT SELECT ON accounts TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON audit_log;

REVOKE ALL ON audit_log FROM meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON bank_files;

REVOKE ALL ON bank_files FROM meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON bill_runs;

REVOKE ALL ON bill_runs FROM meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON consumer_pattern_totals;

REVOKE ALL ON consumer_pattern_totals FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON consumer_pattern_totals AS PERMISSIVE FOR SELECT TO meterline_staff USING (area_id = ANY ((SELECT meterline_scope_area_ids())::bigint[]) AND meterline_scope_account_ids() IS NULL);

GRANT SELECT ON consumer_pattern_totals TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON customer_preferences;

REVOKE ALL ON customer_preferences FROM meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON tariff_plan_versions;

REVOKE ALL ON tariff_plan_versions FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON tariff_plan_versions AS PERMISSIVE FOR SELECT TO meterline_staff USING (true);

GRANT SELECT ON tariff_plan_versions TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON user_areas;

REVOKE ALL ON user_areas FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON user_areas AS PERMISSIVE FOR SELECT TO meterline_staff USING (area_id = ANY ((SELECT meterline_scope_area_ids())::bigint[]) AND meterline_scope_account_ids() IS NULL);

GRANT SELECT ON user_areas TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON user_sessions;

REVOKE ALL ON user_sessions FROM meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON account_contacts;

REVOKE ALL ON account_contacts FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON account_contacts AS PERMISSIVE FOR SELECT TO meterline_staff USING (account_id IN (SELECT id FROM accounts));

GRANT SELECT ON account_contacts TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON account_history;

REVOKE ALL ON account_history FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON account_history AS PERMISSIVE FOR SELECT TO meterline_staff USING (account_id IN (SELECT id FROM accounts));

GRANT SELECT ON account_history TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON account_motors;

REVOKE ALL ON account_motors FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON account_motors AS PERMISSIVE FOR SELECT TO meterline_staff USING (account_id IN (SELECT id FROM accounts));

GRANT SELECT ON account_motors TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON account_surveys;

REVOKE ALL ON account_surveys FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON account_surveys AS PERMISSIVE FOR SELECT TO meterline_staff USING (account_id IN (SELECT id FROM accounts));

GRANT SELECT ON account_surveys TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON bank_payments;

REVOKE ALL ON bank_payments FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON bank_payments AS PERMISSIVE FOR SELECT TO meterline_staff USING (bill_id IN (SELECT id FROM bills));

GRANT SELECT ON bank_payments TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON bill_run_manifests;

REVOKE ALL ON bill_run_manifests FROM meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON customer_accounts;

REVOKE ALL ON customer_accounts FROM meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON customer_alerts_sent;

REVOKE ALL ON customer_alerts_sent FROM meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON customer_codes;

REVOKE ALL ON customer_codes FROM meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON field_visits;

REVOKE ALL ON field_visits FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON field_visits AS PERMISSIVE FOR SELECT TO meterline_staff USING (area_id = ANY ((SELECT meterline_scope_area_ids())::bigint[]) AND (meterline_scope_account_ids() IS NULL OR account_id = ANY ((SELECT meterline_scope_account_ids())::bigint[])));

GRANT SELECT ON field_visits TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON meters;

REVOKE ALL ON meters FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON meters AS PERMISSIVE FOR SELECT TO meterline_staff USING (account_id IS NOT NULL AND account_id IN (SELECT id FROM accounts));

GRANT SELECT ON meters TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON service_connections;

REVOKE ALL ON service_connections FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON service_connections AS PERMISSIVE FOR SELECT TO meterline_staff USING (account_id IN (SELECT id FROM accounts));

GRANT SELECT ON service_connections TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON usage_anomalies;

REVOKE ALL ON usage_anomalies FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON usage_anomalies AS PERMISSIVE FOR SELECT TO meterline_staff USING (area_id = ANY ((SELECT meterline_scope_area_ids())::bigint[]) AND (meterline_scope_account_ids() IS NULL OR account_id = ANY ((SELECT meterline_scope_account_ids())::bigint[])));

GRANT SELECT ON usage_anomalies TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON usage_baselines;

REVOKE ALL ON usage_baselines FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON usage_baselines AS PERMISSIVE FOR SELECT TO meterline_staff USING (account_id IN (SELECT id FROM accounts));

GRANT SELECT ON usage_baselines TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON readings;

REVOKE ALL ON readings FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON readings AS PERMISSIVE FOR SELECT TO meterline_staff USING (meter_id IN (SELECT id FROM meters));

GRANT SELECT ON readings TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON bills;

REVOKE ALL ON bills FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON bills AS PERMISSIVE FOR SELECT TO meterline_staff USING (area_id = ANY ((SELECT meterline_scope_area_ids())::bigint[]) AND (meterline_scope_account_ids() IS NULL OR account_id = ANY ((SELECT meterline_scope_account_ids())::bigint[])));

GRANT SELECT ON bills TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON daily_usage;

REVOKE ALL ON daily_usage FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON daily_usage AS PERMISSIVE FOR SELECT TO meterline_staff USING (account_id IN (SELECT id FROM accounts));

GRANT SELECT ON daily_usage TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON meter_changes;

REVOKE ALL ON meter_changes FROM meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON photo_hashes;

REVOKE ALL ON photo_hashes FROM meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON bill_lines;

REVOKE ALL ON bill_lines FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON bill_lines AS PERMISSIVE FOR SELECT TO meterline_staff USING (bill_id IN (SELECT id FROM bills));

GRANT SELECT ON bill_lines TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON bill_readings;

REVOKE ALL ON bill_readings FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON bill_readings AS PERMISSIVE FOR SELECT TO meterline_staff USING (bill_id IN (SELECT id FROM bills));

GRANT SELECT ON bill_readings TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON bill_seals;

REVOKE ALL ON bill_seals FROM meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON notifications;

REVOKE ALL ON notifications FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON notifications AS PERMISSIVE FOR SELECT TO meterline_staff USING (bill_id IN (SELECT id FROM bills));

GRANT SELECT ON notifications TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON payment_events;

REVOKE ALL ON payment_events FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON payment_events AS PERMISSIVE FOR SELECT TO meterline_staff USING (bill_id IN (SELECT id FROM bills));

GRANT SELECT ON payment_events TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON payments;

REVOKE ALL ON payments FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON payments AS PERMISSIVE FOR SELECT TO meterline_staff USING (bill_id IN (SELECT id FROM bills));

GRANT SELECT ON payments TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON tickets;

REVOKE ALL ON tickets FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON tickets AS PERMISSIVE FOR SELECT TO meterline_staff USING (area_id = ANY ((SELECT meterline_scope_area_ids())::bigint[]) AND (meterline_scope_account_ids() IS NULL OR account_id = ANY ((SELECT meterline_scope_account_ids())::bigint[])));

GRANT SELECT ON tickets TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON ticket_attachments;

REVOKE ALL ON ticket_attachments FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON ticket_attachments AS PERMISSIVE FOR SELECT TO meterline_staff USING (ticket_id IN (SELECT id FROM tickets));

GRANT SELECT ON ticket_attachments TO meterline_staff;

DROP POLICY IF EXISTS meterline_staff_scope ON ticket_comments;

REVOKE ALL ON ticket_comments FROM meterline_staff;

CREATE POLICY meterline_staff_scope ON ticket_comments AS PERMISSIVE FOR SELECT TO meterline_staff USING (ticket_id IN (SELECT id FROM tickets));

GRANT SELECT ON ticket_comments TO meterline_staff;

-- The views (security_invoker: the policies above apply) and the read functions.
DO $$
DECLARE o record;
BEGIN
  FOR o IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = current_schema() AND c.relkind = 'v'
             AND c.relname = ANY (meterline_view_names()) LOOP
    EXECUTE format('GRANT SELECT ON %I TO meterline_staff', o.relname);
  END LOOP;
  FOR o IN SELECT p.oid::regprocedure AS fn FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = current_schema() AND p.proname LIKE 'meterline\_%' LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO meterline_staff', o.fn);
  END LOOP;
END $$;

COMMIT;
