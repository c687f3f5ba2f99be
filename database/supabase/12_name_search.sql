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
