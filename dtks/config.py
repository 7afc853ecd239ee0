"""One configuration story: environment variables with documented defaults.

The embedded default needs none of them: everything lives under the project
folder (``var/`` for state, ``out/`` for reports).
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


def _path(env: str, default: Path) -> Path:
    value = os.environ.get(env)
    return Path(value).resolve() if value else default


@dataclass(frozen=True)
class Settings:
    var_dir: Path
    landing_dir: Path
    archive_dir: Path
    outbox_dir: Path
    out_dir: Path
    pgdata_dir: Path
    warehouse_url: str | None  # None: start the embedded PostgreSQL under pgdata_dir

    @classmethod
    def from_env(cls) -> "Settings":
        var_dir = _path("DTKS_VAR_DIR", PROJECT_ROOT / "var")
        return cls(
            var_dir=var_dir,
            landing_dir=_path("DTKS_LANDING_DIR", var_dir / "landing"),
            archive_dir=_path("DTKS_ARCHIVE_DIR", var_dir / "archive"),
            outbox_dir=_path("DTKS_OUTBOX_DIR", var_dir / "outbox"),
            out_dir=_path("DTKS_OUT_DIR", PROJECT_ROOT / "out"),
            pgdata_dir=_path("DTKS_PGDATA_DIR", var_dir / "pgdata"),
            warehouse_url=os.environ.get("DTKS_WAREHOUSE_URL") or None,
        )


def settings() -> Settings:
    return Settings.from_env()
