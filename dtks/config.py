"""One configuration story: every environment variable the platform reads, with its default.

The embedded default needs none of them: everything lives under the project
folder (``var/`` for state, ``out/`` for reports). Each variable is read here,
in ``Settings.from_env``, and nowhere else (the README's variable table lists
them all); ``settings()`` reads the environment anew on every call, so a
changed variable counts from the next call. Test-only failpoints
(``DTKS_FAILPOINT*``) stay in ``dtks/faults.py``. ``dtks.airflow_env`` does not
read settings from the environment: it writes Airflow's own (``AIRFLOW_HOME``,
``AIRFLOW__…``) for the embedded default, keeping any already set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = PROJECT_ROOT / "include" / "sql"
REFERENCE_DIR = PROJECT_ROOT / "include" / "reference"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
DEFAULT_REFERENCE_EDITION = "idn-area-data-4.0.1"


def _env(name: str) -> str | None:
    """The variable's value; unset or empty is None."""
    return os.environ.get(name) or None


def _path(env: str, default: Path) -> Path:
    value = os.environ.get(env)
    return Path(value).resolve() if value else default


def _int(env: str, default: int) -> int:
    value = os.environ.get(env, "").strip()
    return int(value) if value else default


@dataclass(frozen=True)
class Settings:
    # Folders
    var_dir: Path  # DTKS_VAR_DIR: <project>/var
    landing_dir: Path  # DTKS_LANDING_DIR: <var>/landing
    archive_dir: Path  # DTKS_ARCHIVE_DIR: <var>/archive
    outbox_dir: Path  # DTKS_OUTBOX_DIR: <var>/outbox
    out_dir: Path  # DTKS_OUT_DIR: <project>/out
    pgdata_dir: Path  # DTKS_PGDATA_DIR: <var>/pgdata
    calendar_file: Path  # DTKS_CALENDAR_FILE: <var>/calendar/rounds.json
    # The warehouse (dtks.warehouse.warehouse_url says in which order they count)
    warehouse_url: str | None = None  # DTKS_WAREHOUSE_URL; None: the embedded PostgreSQL under pgdata_dir
    airflow_warehouse_conn: str | None = None  # AIRFLOW_CONN_DTKS_WAREHOUSE (Airflow's own variable), read first
    auditor_warehouse_url: str | None = None  # DTKS_AUDITOR_WAREHOUSE_URL; None: the warehouse URL
    embedded_tuning: bool = True  # DTKS_EMBEDDED_TUNING=0/false/no/off: embedded server on PostgreSQL's defaults
    # Intake and validation
    landing_settle_seconds: float = 0.0  # DTKS_LANDING_SETTLE_SECONDS
    arrival_from_mtime: bool = False  # DTKS_ARRIVAL_FROM_MTIME=1: replaying generated rounds only
    require_manifest: bool = False  # DTKS_REQUIRE_MANIFEST
    validation_batch_rows: int = 500_000  # DTKS_VALIDATION_BATCH_ROWS (at least 1)
    # Resource limits per submission (dtks.reading.Limits)
    max_file_bytes: int = 4 << 30  # DTKS_MAX_FILE_BYTES: 4 GiB
    max_rows: int = 10_000_000  # DTKS_MAX_ROWS
    max_xlsx_expanded_bytes: int = 1 << 30  # DTKS_MAX_XLSX_EXPANDED_BYTES: 1 GiB of XML
    # openpyxl holds all of sharedStrings.xml in memory (about 4x its size): 16 MiB is
    # some 300,000 distinct names and addresses; a bigger district file should come as CSV.
    max_xlsx_shared_strings_bytes: int = 16 << 20  # DTKS_MAX_XLSX_SHARED_STRINGS_BYTES
    max_xlsx_part_bytes: int = 512 << 20  # DTKS_MAX_XLSX_PART_BYTES: any one part, expanded
    # A district file has a few dozen columns; thousands are a wrong export (or an attack
    # on the database's row size), refused whole before any row is read.
    max_columns: int = 500  # DTKS_MAX_COLUMNS
    # Scheduling
    close_settle_minutes: int = 120  # DTKS_CLOSE_SETTLE_MINUTES: close run starts this long after a close
    # Alerts
    alert_email: str = ""  # DTKS_ALERT_EMAIL: addresses, comma or semicolon separated
    alert_smtp_conn_id: str | None = None  # DTKS_ALERT_SMTP_CONN_ID; None: smtp_default
    alert_from: str | None = None  # DTKS_ALERT_FROM; None: the connection's, then Airflow's
    # The auditor page
    auditor_airflow_role: str | None = None  # DTKS_AUDITOR_AIRFLOW_ROLE; None: any logged-in user (laptop)
    auditor_require_login: bool = True  # DTKS_AUDITOR_REQUIRE_LOGIN=0/false/no: no Airflow login (tests)
    strict_templates: bool = False  # DTKS_STRICT_TEMPLATES: undefined template names fail (tests)

    @classmethod
    def from_env(cls) -> Settings:
        var_dir = _path("DTKS_VAR_DIR", PROJECT_ROOT / "var")
        return cls(
            var_dir=var_dir,
            landing_dir=_path("DTKS_LANDING_DIR", var_dir / "landing"),
            archive_dir=_path("DTKS_ARCHIVE_DIR", var_dir / "archive"),
            outbox_dir=_path("DTKS_OUTBOX_DIR", var_dir / "outbox"),
            out_dir=_path("DTKS_OUT_DIR", PROJECT_ROOT / "out"),
            pgdata_dir=_path("DTKS_PGDATA_DIR", var_dir / "pgdata"),
            calendar_file=_path("DTKS_CALENDAR_FILE", var_dir / "calendar" / "rounds.json"),
            warehouse_url=_env("DTKS_WAREHOUSE_URL"),
            airflow_warehouse_conn=_env("AIRFLOW_CONN_DTKS_WAREHOUSE"),
            auditor_warehouse_url=_env("DTKS_AUDITOR_WAREHOUSE_URL"),
            embedded_tuning=os.environ.get("DTKS_EMBEDDED_TUNING", "1").strip().lower()
            not in ("0", "false", "no", "off"),
            landing_settle_seconds=float(os.environ.get("DTKS_LANDING_SETTLE_SECONDS", "0")),
            arrival_from_mtime=os.environ.get("DTKS_ARRIVAL_FROM_MTIME", "").strip() in ("1", "true", "yes"),
            require_manifest=os.environ.get("DTKS_REQUIRE_MANIFEST", "0").strip().lower() in ("1", "true", "yes", "on"),
            validation_batch_rows=max(1, _int("DTKS_VALIDATION_BATCH_ROWS", cls.validation_batch_rows)),
            max_file_bytes=_int("DTKS_MAX_FILE_BYTES", cls.max_file_bytes),
            max_rows=_int("DTKS_MAX_ROWS", cls.max_rows),
            max_xlsx_expanded_bytes=_int("DTKS_MAX_XLSX_EXPANDED_BYTES", cls.max_xlsx_expanded_bytes),
            max_xlsx_shared_strings_bytes=_int("DTKS_MAX_XLSX_SHARED_STRINGS_BYTES", cls.max_xlsx_shared_strings_bytes),
            max_xlsx_part_bytes=_int("DTKS_MAX_XLSX_PART_BYTES", cls.max_xlsx_part_bytes),
            max_columns=_int("DTKS_MAX_COLUMNS", cls.max_columns),
            close_settle_minutes=_int("DTKS_CLOSE_SETTLE_MINUTES", cls.close_settle_minutes),
            alert_email=os.environ.get("DTKS_ALERT_EMAIL", ""),
            alert_smtp_conn_id=_env("DTKS_ALERT_SMTP_CONN_ID"),
            alert_from=_env("DTKS_ALERT_FROM"),
            auditor_airflow_role=os.environ.get("DTKS_AUDITOR_AIRFLOW_ROLE"),
            auditor_require_login=os.environ.get("DTKS_AUDITOR_REQUIRE_LOGIN", "true").lower()
            not in ("0", "false", "no"),
            strict_templates=bool(os.environ.get("DTKS_STRICT_TEMPLATES")),
        )


def settings() -> Settings:
    return Settings.from_env()
