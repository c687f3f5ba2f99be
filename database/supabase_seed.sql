-- Minimal society for a new Supabase project (seed 002's example): one flat, its primary owner and
-- one active meter, so the field engineer's meter list has something to show. Run it in the
-- Supabase SQL editor after database/supabase_schema.sql. Idempotent: running it again adds nothing.
-- For a whole society, import the master data spreadsheet instead:
--   python -m scripts.import_master_data data/Blessings_City_Master_Data.xlsx

BEGIN;

-- The floors the master data spreadsheet uses (seed 002 needs only FF).
INSERT INTO public.floors (code, name, sort_order) VALUES
  ('GF', 'Ground Floor', 0), ('FF', 'First Floor', 1), ('SF', 'Second Floor', 2), ('TF', 'Third Floor', 3)
ON CONFLICT (code) DO NOTHING;

INSERT INTO public.flat_types (name, bhk) VALUES ('2BHK', 2)
ON CONFLICT (name) DO NOTHING;

INSERT INTO public.accounts (code, block, floor_id, type_id)
SELECT 'B17-FF', 'B', (SELECT id FROM public.floors WHERE code = 'FF'), (SELECT id FROM public.flat_types WHERE name = '2BHK')
ON CONFLICT (code) DO NOTHING;

-- The owner, only while the flat has no primary owner (a flat has at most one).
WITH flat AS (SELECT id FROM public.accounts WHERE code = 'B17-FF'),
     needs AS (SELECT id FROM flat WHERE NOT EXISTS (
                 SELECT 1 FROM public.account_contacts fo WHERE fo.account_id = flat.id AND fo.is_primary)),
     owner AS (INSERT INTO public.contacts (name, phone) SELECT 'Test Owner', '+910000000000' FROM needs RETURNING id)
INSERT INTO public.account_contacts (account_id, contact_id, is_primary)
SELECT needs.id, owner.id, true FROM needs, owner;

INSERT INTO public.meters (meter_number, account_id, status)
SELECT '19152159', (SELECT id FROM public.accounts WHERE code = 'B17-FF'), 'active'
ON CONFLICT (meter_number) DO NOTHING;

COMMIT;
