"""One configuration story: every variable is read in dtks/config.py and listed in the README; devtools stay out of the runtime."""

from __future__ import annotations

import ast
import re
from dataclasses import fields
from pathlib import Path

import pytest

from dtks.config import PROJECT_ROOT, Settings, settings

RUNTIME = [
    p
    for folder in ("dtks", "dags", "plugins")
    for p in sorted((PROJECT_ROOT / folder).rglob("*.py"))
    if "devtools" not in p.parts
]
# dtks/faults.py: test-only failpoints (listed as such in the README). dtks/airflow_env.py writes
# Airflow's own environment for the embedded default (setdefault), it reads no setting of ours.
READS_ALLOWED = {"dtks/config.py", "dtks/faults.py", "dtks/airflow_env.py"}


def _environment_reads(path: Path) -> list[str]:
    """``os.environ.get(...)``, ``os.environ[...]`` and ``os.getenv(...)`` in one file (writes excluded)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = ast.unparse(node.func)
            if target in ("os.environ.get", "os.getenv", "environ.get"):
                found.append(f"{target}({ast.unparse(node.args[0]) if node.args else ''}) line {node.lineno}")
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and ast.unparse(node.value) == "os.environ"
        ):
            found.append(f"os.environ[...] line {node.lineno}")
    return found


def test_the_runtime_reads_the_environment_only_through_config():
    reads = {
        str(p.relative_to(PROJECT_ROOT)): r
        for p in RUNTIME
        if str(p.relative_to(PROJECT_ROOT)) not in READS_ALLOWED and (r := _environment_reads(p))
    }
    assert reads == {}, f"read these through dtks.config.settings(): {reads}"


def _variables_read_in_config() -> set[str]:
    return set(re.findall(r'"((?:DTKS|AIRFLOW_CONN)_[A-Z_]+)"', (PROJECT_ROOT / "dtks" / "config.py").read_text()))


def test_every_variable_is_in_the_readme_table():
    readme = (PROJECT_ROOT / "README.md").read_text()
    table = {
        name
        for line in readme.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`((?:DTKS|AIRFLOW)_[A-Z_]+)`", line.split("|")[1])
    }
    variables = _variables_read_in_config()
    assert len(variables) >= 25
    assert variables - table == set()
    from dtks import faults

    assert {faults.ENV, faults.PAUSE_ENV, faults.HOLD_ENV} <= table


def test_every_setting_is_read_from_a_variable():
    """No dead settings: each field of Settings is filled from the environment and read somewhere."""
    source = (PROJECT_ROOT / "dtks" / "config.py").read_text()
    users = "\n".join(p.read_text() for p in RUNTIME if p.name != "config.py")
    for field in fields(Settings):
        assert re.search(rf"^\s+{field.name}=", source, re.M), f"{field.name} is not read in from_env"
        assert re.search(rf"\.{field.name}\b(?!\()", users), f"Settings.{field.name} is never used"


def test_settings_follow_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("DTKS_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("DTKS_VALIDATION_BATCH_ROWS", "0")
    monkeypatch.setenv("DTKS_MAX_ROWS", " 12 ")
    monkeypatch.setenv("DTKS_AUDITOR_REQUIRE_LOGIN", "No")
    monkeypatch.setenv("DTKS_WAREHOUSE_URL", "")
    conf = settings()
    assert conf.calendar_file == tmp_path / "calendar" / "rounds.json"
    assert conf.validation_batch_rows == 1  # at least one row per batch
    assert conf.max_rows == 12
    assert conf.auditor_require_login is False
    assert conf.warehouse_url is None  # empty is unset: the embedded server
    assert conf.close_settle_minutes == 120
    from dtks.reading import limits

    assert limits().max_rows == 12


def test_runtime_never_imports_the_developer_tools():
    offenders = []
    for path in RUNTIME:
        if path.name == "cli.py":  # `dtks generate` / `dtks demo` import them when run
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            names += [a.name for a in getattr(node, "names", [])] if isinstance(node, ast.ImportFrom) else []
            if any(n.startswith("dtks.devtools") or n in ("devtools", "generate", "demo", "bench") for n in names):
                offenders.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")
    assert offenders == []
