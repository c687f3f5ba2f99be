"""Row level security for staff scoped to their areas, on Supabase (generated into
database/supabase_schema.sql by scripts/export_supabase_schema.py).

A read for an area-limited user runs as the role meterline_staff (database/supabase/80_scopes.sql).
Each table says here which of its rows that role sees; the same rules the SQL backends apply with
predicates (services/storage/sql_scope.py). Every table of the schema must be listed (a test checks
it), so a table added later is never readable by staff by accident: None means staff see none of
its rows.
"""
from __future__ import annotations

from database import schema as s

STAFF_ROLE = "meterline_staff"

IN_AREAS = "area_id = ANY ((SELECT meterline_scope_area_ids())::bigint[])"  # an init plan: computed once
OF_ACCOUNT = "account_id IN (SELECT id FROM accounts)"  # accounts' own policy applies inside
OF_BILL = "bill_id IN (SELECT id FROM bills)"
EVERY_ROW = "true"
# A customer's scope (issue 16): only their linked accounts, on top of the areas (NULL: staff, no limit).
_MINE = "(meterline_scope_account_ids() IS NULL OR {col} = ANY ((SELECT meterline_scope_account_ids())::bigint[]))"
ACCOUNT_IN_SCOPE = f"{IN_AREAS} AND {_MINE.format(col='id')}"
ROW_OF_ACCOUNT_IN_SCOPE = f"{IN_AREAS} AND {_MINE.format(col='account_id')}"
NOT_FOR_CUSTOMERS = "meterline_scope_account_ids() IS NULL"

POLICIES: dict[str, str | None] = {
    # the utility, its plans and locks: not area data
    "utility_settings": EVERY_ROW, "tariff_plans": EVERY_ROW, "tariff_plan_versions": EVERY_ROW,
    "period_locks": EVERY_ROW, "motors": EVERY_ROW, "schema_info": EVERY_ROW,
    "users": EVERY_ROW,  # names only: the role is granted a few columns (USER_COLUMNS)
    # areas: those in scope and those above them
    "areas": "id = ANY ((SELECT meterline_scope_shown_area_ids())::bigint[])",
    # area-bound rows
    "accounts": ACCOUNT_IN_SCOPE, "bills": ROW_OF_ACCOUNT_IN_SCOPE,
    "user_areas": f"{IN_AREAS} AND {NOT_FOR_CUSTOMERS}",
    "account_contacts": OF_ACCOUNT, "account_surveys": OF_ACCOUNT, "service_connections": OF_ACCOUNT,
    "daily_usage": OF_ACCOUNT, "account_motors": OF_ACCOUNT,
    "meters": "account_id IS NOT NULL AND " + OF_ACCOUNT,
    "contacts": "id IN (SELECT contact_id FROM account_contacts)",
    "readings": "meter_id IN (SELECT id FROM meters)",
    "bill_lines": OF_BILL, "payments": OF_BILL, "bill_readings": OF_BILL, "notifications": OF_BILL,
    "payment_events": OF_BILL, "bank_payments": OF_BILL, "account_history": OF_ACCOUNT,
    "usage_anomalies": ROW_OF_ACCOUNT_IN_SCOPE, "usage_baselines": OF_ACCOUNT,
    "usage_day_index": None,
    "bill_month_totals": f"{IN_AREAS} AND {NOT_FOR_CUSTOMERS}",
    "consumer_pattern_totals": f"{IN_AREAS} AND {NOT_FOR_CUSTOMERS}",  # per-area counts, like the report  # per-area sums: staff of those areas  # a customer type's mean usage per day over the whole utility
    # field operations (issue 15): rows carry the unit's area (and account: a customer sees only their own);
    # comments and attachments follow their ticket
    "field_visits": ROW_OF_ACCOUNT_IN_SCOPE, "tickets": ROW_OF_ACCOUNT_IN_SCOPE,
    "ticket_comments": "ticket_id IN (SELECT id FROM tickets)", "ticket_attachments": "ticket_id IN (SELECT id FROM tickets)",
    # whole-utility records: nothing for staff
    "audit_log": None, "user_sessions": None, "job_runs": None, "bill_runs": None, "master_data_staging": None,
    "bank_files": None, "meter_changes": None, "bill_number_series": None,
    # the customer portal's own records (issue 16): read by the app server as the service role only
    "customer_accounts": None, "customer_codes": None, "customer_preferences": None,
    "customer_alerts_sent": None,
    # issue 20 (docs/trust.md): the chain, photo hashes and run manifests are whole-utility records
    "bill_seals": None, "photo_hashes": None, "bill_run_manifests": None,
    # issue 14: archived bills are found by PSID or account within the areas, like live ones; their other
    # rows and the months' records are read by the app server only
    "archived_bills": ROW_OF_ACCOUNT_IN_SCOPE, "archived_bill_lines": None, "archived_bill_readings": None,
    "archived_payments": None, "archived_payment_events": None, "archived_notifications": None,
    "archived_bill_seals": None, "bill_archive_months": None,
}

USER_COLUMNS = ("id", "username", "display_name", "role", "is_active")


def scope_sql() -> list[str]:
    missing = sorted(t.name for t in s.metadata.sorted_tables if t.name not in POLICIES)
    if missing:
        raise AssertionError(f"tables without a staff scope policy in database/supabase_scopes.py: {missing}")
    out = [
        "-- ---- staff scoped to their areas (database/supabase_scopes.py, database/supabase/80_scopes.sql) ----",
        f"GRANT USAGE ON SCHEMA public TO {STAFF_ROLE};",
    ]
    for table in s.metadata.sorted_tables:
        t, rule = table.name, POLICIES[table.name]
        out.append(f"DROP POLICY IF EXISTS meterline_staff_scope ON {t};")
        out.append(f"REVOKE ALL ON {t} FROM {STAFF_ROLE};")
        if rule is None:
            continue
        out.append(f"CREATE POLICY meterline_staff_scope ON {t} AS PERMISSIVE FOR SELECT TO {STAFF_ROLE} USING ({rule});")
        if t == "users":
            out.append(f"GRANT SELECT ({', '.join(USER_COLUMNS)}) ON users TO {STAFF_ROLE};")
        else:
            out.append(f"GRANT SELECT ON {t} TO {STAFF_ROLE};")
    out.extend((
        "-- The views (security_invoker: the policies above apply) and the read functions.\n"
        "DO $$\nDECLARE o record;\nBEGIN\n"
        "  FOR o IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace\n"
        "           WHERE n.nspname = current_schema() AND c.relkind = 'v'\n"
        "             AND c.relname = ANY (meterline_view_names()) LOOP\n"
        f"    EXECUTE format('GRANT SELECT ON %I TO {STAFF_ROLE}', o.relname);\n"
        "  END LOOP;\n"
        "  FOR o IN SELECT p.oid::regprocedure AS fn FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace\n"
        "           WHERE n.nspname = current_schema() AND p.proname LIKE 'meterline\\_%' LOOP\n"
        f"    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO {STAFF_ROLE}', o.fn);\n"
        "  END LOOP;\n"
        "END $$;",
        # Not granted to anon / authenticated: PostgREST runs the pre-request function for their
        # requests too, which then fail (permission denied), as every request with those keys does.
    ))
    return out
