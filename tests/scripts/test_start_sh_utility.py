"""./start.sh: METERLINE_UTILITY picks the demo utility of the embedded database, each in a file of
its own (society data/meterline.db, municipal data/meterline-municipal.db, water
data/meterline-water.db); a configured database is used as it is and nothing is seeded.

The real start.sh runs in a directory of its own. In the first tests `python` is a stand-in that
records what it was asked to run (arguments and DATABASE_URL), so the choice is checked without
seeding or starting anything; the last one starts the real app on a pre-seeded municipal file.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.scripts.test_start_sh import free_port, start, stop

FAKE_PYTHON = """#!/usr/bin/env bash
echo "DATABASE_URL=${DATABASE_URL-<unset>} ARGS=$*" >> "$CALLS"
"""


@pytest.fixture
def recorded(tmp_path):
    """start.sh in a directory of its own, whose `python` only records its calls."""
    work = tmp_path / "app"
    bin_dir = tmp_path / "bin"
    (work / "scripts").mkdir(parents=True)
    bin_dir.mkdir()
    shutil.copy2(ROOT / "start.sh", work / "start.sh")
    (bin_dir / "python").write_text(FAKE_PYTHON)
    (bin_dir / "python").chmod(0o755)
    (work / "scripts" / "venv.sh").write_text(f'export PATH="{bin_dir}:$PATH"\n')
    return work


def run(work: Path, tmp_path: Path, env_file: str | None = None, **env) -> tuple[int, list[str], str]:
    calls = tmp_path / "calls.txt"
    calls.unlink(missing_ok=True)
    if env_file is not None:
        (work / ".env").write_text(env_file)
    full = {k: v for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "SUPABASE_URL", "SUPABASE_KEY", "METERLINE_UTILITY")}
    full.update(CALLS=str(calls), **env)
    out = subprocess.run(["bash", str(work / "start.sh")], cwd=tmp_path, env=full, capture_output=True, text=True,
                         timeout=60)
    return out.returncode, calls.read_text().splitlines() if calls.exists() else [], out.stderr


def test_the_society_keeps_the_embedded_default(recorded, tmp_path):
    code, calls, _ = run(recorded, tmp_path)
    assert code == 0
    assert calls[0] == "DATABASE_URL=<unset> ARGS=-m scripts.seed_demo --utility society"
    assert calls[1].startswith("DATABASE_URL=<unset> ARGS=-m streamlit run web.py")


@pytest.mark.parametrize("utility", ["municipal", "water"])
def test_each_other_utility_gets_a_database_file_of_its_own(recorded, tmp_path, utility):
    code, calls, _ = run(recorded, tmp_path, METERLINE_UTILITY=utility)
    url = f"sqlite:///{recorded.resolve()}/data/meterline-{utility}.db"
    assert code == 0
    assert calls[0] == f"DATABASE_URL={url} ARGS=-m scripts.seed_demo --utility {utility}"
    assert calls[1].startswith(f"DATABASE_URL={url} ARGS=-m streamlit run web.py")


def test_the_variable_may_be_in_dot_env(recorded, tmp_path):
    code, calls, _ = run(recorded, tmp_path, env_file='DATABASE_URL=\nMETERLINE_UTILITY="water"\n')
    assert code == 0 and calls[0].endswith("--utility water") and "meterline-water.db" in calls[0]


def test_a_configured_database_is_used_as_it_is(recorded, tmp_path):
    url = "postgresql://meterline@db.example.invalid/meterline"
    code, calls, err = run(recorded, tmp_path, DATABASE_URL=url, METERLINE_UTILITY="water")
    assert code == 0 and len(calls) == 1  # nothing seeded
    assert calls[0].startswith(f"DATABASE_URL={url} ARGS=-m streamlit run")
    assert "METERLINE_UTILITY=water is ignored" in err
    code, calls, _ = run(recorded, tmp_path, env_file=f"DATABASE_URL={url}\n", METERLINE_UTILITY="municipal")
    assert code == 0 and len(calls) == 1 and calls[0].startswith("DATABASE_URL=<unset> ARGS=-m streamlit")


def test_an_unknown_utility_is_refused(recorded, tmp_path):
    code, calls, err = run(recorded, tmp_path, METERLINE_UTILITY="gas")
    assert code == 2 and calls == []
    assert "METERLINE_UTILITY must be society, municipal or water, not 'gas'" in err


def test_the_real_app_starts_on_the_municipal_file(tmp_path):
    """The real start.sh and app, in a copy whose data/ is its own; the municipal file is seeded
    small beforehand, so start.sh's seed_demo finds it seeded and leaves it alone."""
    work = tmp_path / "app"
    (work / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "start.sh", work / "start.sh")
    (work / "scripts" / "venv.sh").write_text(f"source {Path(sys.executable).parent}/activate\n")
    for name in ("streamlit_app.py", "web.py", "ui", "services", "database", ".streamlit", "requirements.txt"):
        (work / name).symlink_to(ROOT / name)
    for script in (ROOT / "scripts").glob("*.py"):  # seed_demo and what it imports
        (work / "scripts" / script.name).symlink_to(script)
    db = work / "data" / "meterline-municipal.db"
    seed = subprocess.run([sys.executable, "-m", "scripts.seed_demo", "--utility", "municipal", "--accounts", "20",
                           "--database-url", f"sqlite:///{db}", "--today", "2026-11-22"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env={**os.environ, "METERLINE_DOTENV": "0"})
    assert seed.returncode == 0, seed.stderr
    port = free_port()
    proc = start(work, tmp_path, port, DATABASE_URL=None, SUPABASE_URL=None, METERLINE_UTILITY="municipal")
    try:
        assert not (work / "data" / "meterline.db").exists()
    finally:
        stop(proc)
    output = proc.stdout.read().decode()
    assert "already has accounts (municipal)" in output
