"""Searching contact and account names by any part of them ('%kapoor%'), through an index.

No btree serves a LIKE with a leading wildcard, so a search scanned every name: 130-310 ms at
300,000 accounts on SQLite (issue 19).
- SQLite: an FTS5 table per searched column with the trigram tokenizer (SQLite 3.34+), an external
  content table over the names, kept by triggers; FTS5 answers `name LIKE '%abc%'` from its index
  when the term has at least three characters. Shorter terms, and terms with the LIKE wildcards
  % and _, read the names as before.
- PostgreSQL: pg_trgm's trigram indexes, optional (database/migrations.py NAME_SEARCH_INDEXES).
Both match case-insensitively, as the scan does.
"""
from __future__ import annotations

import sqlalchemy as sa

# table -> its FTS5 index of `name` (SQLite)
FTS_TABLES = {"contacts": "contacts_name_fts", "accounts": "accounts_name_fts"}
MIN_INDEXED = 3  # a trigram index finds a term of at least three characters


def sqlite_statements() -> list[str]:
    out = []
    for table, fts in FTS_TABLES.items():
        out += [
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5(name, content='{table}', content_rowid='id', "
            "tokenize='trigram case_sensitive 0')",
            f"""CREATE TRIGGER IF NOT EXISTS trg_{fts}_insert AFTER INSERT ON {table}
                BEGIN INSERT INTO {fts} (rowid, name) VALUES (NEW.id, NEW.name); END""",
            f"""CREATE TRIGGER IF NOT EXISTS trg_{fts}_delete AFTER DELETE ON {table}
                BEGIN INSERT INTO {fts} ({fts}, rowid, name) VALUES ('delete', OLD.id, OLD.name); END""",
            f"""CREATE TRIGGER IF NOT EXISTS trg_{fts}_update AFTER UPDATE OF name ON {table}
                BEGIN INSERT INTO {fts} ({fts}, rowid, name) VALUES ('delete', OLD.id, OLD.name);
                      INSERT INTO {fts} (rowid, name) VALUES (NEW.id, NEW.name); END""",
        ]
    return out


def fill_sqlite(conn) -> None:
    """Index the names already stored (a database made before the indexes; then the triggers keep them)."""
    for fts in FTS_TABLES.values():
        conn.exec_driver_sql(f"INSERT INTO {fts} ({fts}) VALUES ('rebuild')")


def name_contains(table: sa.Table, term: str, dialect: str):
    """`table.name` contains `term`, ignoring case: through the name index where there is one."""
    fts = FTS_TABLES.get(table.name)
    if dialect != "sqlite" or fts is None or len(term) < MIN_INDEXED or any(ch in term for ch in "%_"):
        return table.c.name.icontains(term, autoescape=True)
    found = (sa.text(f"SELECT rowid FROM {fts} WHERE name LIKE :pattern")
             .bindparams(sa.bindparam("pattern", f"%{term}%", unique=True))
             .columns(sa.column("rowid", sa.Integer)))
    return table.c.id.in_(found)
