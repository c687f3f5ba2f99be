"""The domain imports nothing from streamlit, sqlalchemy or supabase (the guide's rule): the pure
rules can be read, tested and reused without a database or a UI."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ["services/accounts", "services/tariffs", "services/billing", "services/readings", "services/demo",
          "services/master_data", "services/models.py", "services/money.py", "services/money_format.py",
          "services/errors.py", "services/pricing_service.py", "services/tariff_rules.py"]
FORBIDDEN = ("streamlit", "sqlalchemy", "supabase", "psycopg", "services.storage.sql_", "services.storage.rest_", "ui")


def domain_modules():
    for entry in DOMAIN:
        path = ROOT / entry
        yield from (sorted(path.rglob("*.py")) if path.is_dir() else [path])


@pytest.mark.parametrize("path", list(domain_modules()), ids=lambda p: str(p.relative_to(ROOT)))
def test_domain_module_imports_no_framework(path):
    tree = ast.parse(path.read_text())
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    bad = [n for n in names if any(n == f or n.startswith(f + ".") or n.startswith(f) and f.endswith("_") for f in FORBIDDEN)]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
