-- Minimal society for a new Supabase project (seed 002's example): the society utility and its
-- electricity tariff plan, one flat in block B's first floor, its primary owner and one active
-- meter, so the field engineer's meter list has something to show and the flat can be billed. Run
-- it in the Supabase SQL editor after database/supabase_schema.sql. Idempotent: running it again
-- adds nothing. The settings and the plan are those of services/accounts/utility.py's `society`
-- template and data/tariffs/society.toml (tests/supabase/test_schema_sql.py checks they still are).
-- For a whole society, import the master data spreadsheet instead:
--   python -m scripts.import_master_data data/Blessings_City_Master_Data.xlsx

BEGIN;

-- The utility, only while the project has none (an administrator may have changed it since).
SELECT public.meterline_save_utility_settings('{
  "template": "society", "name": "Blessings City", "short_code": "BC", "currency": "INR", "locale": "en_IN",
  "timezone": "Asia/Kolkata", "account_label": "flat", "account_label_plural": "flats",
  "area_levels": ["Block", "Floor"], "service": "electricity", "quantity_unit": "kWh", "billing_day": 1,
  "due_days": 15, "plan_file": "data/tariffs/society.toml"}'::jsonb, '{"username": "supabase_seed"}'::jsonb)
 WHERE NOT EXISTS (SELECT 1 FROM public.utility_settings);

-- The plan and its first version (a stored version is never changed: running this again stores nothing).
SELECT public.meterline_save_tariff_plan('{
  "code": "society-electricity", "name": "Blessings City electricity", "kind": "flat_rate", "service": "electricity",
  "unit": "kWh", "currency": "INR",
  "notes": "Seed 002 pricing rules: master data rate, default 12, BHK fixed charges, special 9 rupee flats.",
  "versions": [{"version": 1, "effective_from": "2020-01-01", "notes": "The seed''s rules as they are today.",
                "params": {"default_rate": "12.0", "default_fixed_charge": "0", "master_data": true,
                           "fixed_charge_by_bhk": {"5BHK": "2311", "4BHK": "1890", "2BHK": "1474"},
                           "special_rate": "9", "special_accounts": ["C14-SF", "D3-SF", "D4-SF"]}}]}'::jsonb,
  '{"username": "supabase_seed"}'::jsonb);

-- Block B and its first floor (the master data import adds the other blocks and floors).
SELECT public.meterline_ensure_areas('[{"path": "B", "name": "Block B", "sort_order": 1},
                                {"path": "B/FF", "name": "First Floor", "sort_order": 1}]'::jsonb,
                              '{"username": "supabase_seed"}'::jsonb);

INSERT INTO public.accounts (code, name, area_id, category, account_type)
SELECT 'B17-FF', 'Test Owner', (SELECT id FROM public.areas WHERE path = 'B/FF'), '2BHK', 'flat'
ON CONFLICT (code) DO NOTHING;

INSERT INTO public.service_connections (account_id, service, tariff_plan_id)
SELECT (SELECT id FROM public.accounts WHERE code = 'B17-FF'), 'electricity',
       (SELECT id FROM public.tariff_plans WHERE code = 'society-electricity')
ON CONFLICT (account_id, service) DO NOTHING;

-- The owner, only while the flat has no primary contact (an account has at most one).
WITH flat AS (SELECT id FROM public.accounts WHERE code = 'B17-FF'),
     needs AS (SELECT id FROM flat WHERE NOT EXISTS (
                 SELECT 1 FROM public.account_contacts ac WHERE ac.account_id = flat.id AND ac.is_primary)),
     owner AS (INSERT INTO public.contacts (name, phone) SELECT 'Test Owner', '+910000000000' FROM needs RETURNING id)
INSERT INTO public.account_contacts (account_id, contact_id, is_primary)
SELECT needs.id, owner.id, true FROM needs, owner;

INSERT INTO public.meters (meter_number, account_id, status)
SELECT '19152159', (SELECT id FROM public.accounts WHERE code = 'B17-FF'), 'active'
ON CONFLICT (meter_number) DO NOTHING;

COMMIT;
