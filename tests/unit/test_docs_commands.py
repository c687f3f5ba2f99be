"""Every shell command in README.md and docs/*.md is run, so the docs cannot drift (issue 18).

In each ```bash block, a command that calls `python -m scripts.X` is checked by running
`python -m scripts.X --help`: it must exit 0, and every --flag the docs use must be in that help.
Any other command (curl, psql) must say why it is not run, in a comment on its line or on the line
above: `# not run: <why>`. A new command with neither fails this test. README's two Quick start
commands stay bare (exactly two commands): `./test.sh` is what CI runs (.ci/run, checked below) and
this suite is it; `./start.sh` is tried on a fresh clone before every stop."""
from __future__ import annotations

import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOT_RUN = re.compile(r"#\s*not run:\s*\S")
SCRIPT = re.compile(r"python -m (scripts\.[a-z_]+)")
QUICK_START = ("./start.sh", "./test.sh")


def commands() -> list[tuple[str, str, bool]]:
    """(file, command, marked not-run) for each command line of every bash block; continuations joined."""
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in re.findall(r"```(?:bash|sh|shell)\n(.*?)```", doc.read_text(), re.S):
            marked_above = False
            pending = ""
            for line in block.splitlines():
                if pending:
                    pending += " " + line.strip()
                elif line.strip().startswith("#"):
                    marked_above = marked_above or bool(NOT_RUN.search(line))
                    continue
                elif not line.strip():
                    continue
                else:
                    pending = line.strip()
                if pending.endswith("\\"):
                    pending = pending[:-1]
                    continue
                found.append((doc.name, pending, marked_above or bool(NOT_RUN.search(pending))))
                pending, marked_above = "", False
    return found


@lru_cache(maxsize=None)
def _help(module: str) -> str:
    done = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, f"python -m {module} --help failed:\n{done.stderr[-2000:]}"
    return done.stdout


def test_the_docs_have_commands():
    assert len(commands()) > 20


@pytest.mark.parametrize("doc, command, not_run", commands(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_command_runs_or_says_why_not(doc, command, not_run):
    code = command.split("#", 1)[0]
    script = SCRIPT.search(code)
    if script:
        text = _help(script.group(1))
        missing = [flag for flag in re.findall(r"(?<![\w-])--[a-z][a-z-]*", code) if flag not in text]
        assert not missing, f"{doc}: `{command}` uses {missing}, which `python -m {script.group(1)} --help` does not list"
        return
    if doc == "README.md" and code.strip() in QUICK_START:
        return
    assert not_run, (f"{doc}: `{command}` is neither `python -m scripts.X` (checked with --help) nor marked "
                     "'# not run: <why>'")


def test_readme_quick_start_is_two_bare_commands_and_ci_runs_the_second():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", quick, re.S).group(1)
    assert [ln.strip() for ln in block.splitlines() if ln.strip()] == list(QUICK_START)
    assert "./test.sh" in (ROOT / ".ci" / "run").read_text()
