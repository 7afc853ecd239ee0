"""The PostgreSQL warehouse: where it is, how to reach it, and its migrations.

With ``DTKS_WAREHOUSE_URL`` unset, a real PostgreSQL server is started from
the pip-installed ``pgserver`` package under a project-local folder (the
embedded default). Otherwise the URL is used as given.
"""

from __future__ import annotations

import hashlib
import logging
import re
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks.config import SQL_DIR, settings

log = logging.getLogger(__name__)

MIGRATIONS_DIR = SQL_DIR / "migrations"
# A fixed key for the advisory lock that serialises migration runs.
_MIGRATION_LOCK_KEY = 71_530_001


def normalise_url(url: str) -> str:
    """Use psycopg2 for plain ``postgresql://`` URLs (SQLAlchemy 2.1 defaults to psycopg 3)."""
    return re.sub(r"^postgres(ql)?://", "postgresql+psycopg2://", url)


def _embedded_data_dir(pgdata: Path) -> Path:
    # PostgreSQL's unix socket lives in the data folder and its path must stay
    # under ~100 bytes; fall back to a short folder under /tmp for deep clones.
    if len(str(pgdata)) <= 80:
        return pgdata
    digest = hashlib.sha1(str(pgdata).encode()).hexdigest()[:12]
    return Path("/tmp") / f"dtks-pg-{digest}"


def embedded_server_url(pgdata: Path | None = None) -> str:
    """Start (or reuse) the embedded PostgreSQL server and return its URL."""
    import pgserver  # imported lazily: not needed when DTKS_WAREHOUSE_URL is set

    data_dir = _embedded_data_dir(pgdata or settings().pgdata_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process, so Airflow task
    # processes and later commands share it.
    server = pgserver.get_server(str(data_dir), cleanup_mode=None)
    return server.get_uri()


def warehouse_url() -> str:
    """The warehouse URL: Airflow connection, then env var, then embedded server.

    1. The Airflow connection ``dtks_warehouse`` (``AIRFLOW_CONN_DTKS_WAREHOUSE``, the
       metadata DB or a secrets backend), looked up when that variable is set or when
       this process already runs Airflow code (a task, a callback, a UI plugin); a
       set variable that cannot be read is an error, never a silent fallback.
    2. ``DTKS_WAREHOUSE_URL``.
    3. The embedded server. Airflow is never imported just to find out.
    """
    import sys

    conf = settings()
    conn_env = conf.airflow_warehouse_conn
    if conn_env or "airflow.sdk" in sys.modules:
        try:
            from airflow.sdk import Connection

            conn = Connection.get("dtks_warehouse")
        except Exception as exc:  # not defined here, or Airflow is not configured in this process
            if conn_env:
                raise RuntimeError("AIRFLOW_CONN_DTKS_WAREHOUSE is set but cannot be read as an Airflow "
                                   f"connection ({type(exc).__name__})") from None
            conn = None
        if conn is not None:
            if (conn.conn_type or "").lower() not in ("postgres", "postgresql"):
                raise ValueError(f"Airflow connection dtks_warehouse must be of type postgres, not {conn.conn_type!r}")
            libpq = {"host", "sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "application_name",
                     "options", "target_session_attrs", "keepalives", "keepalives_idle"}
            query = {k: str(v) for k, v in (conn.extra_dejson or {}).items() if k in libpq}
            return sa.engine.URL.create(
                "postgresql+psycopg2", username=conn.login or None, password=conn.password or None,
                host=conn.host or None, port=conn.port or None, database=conn.schema or None, query=query,
            ).render_as_string(hide_password=False)
    if conf.warehouse_url:
        return normalise_url(conf.warehouse_url)
    return normalise_url(embedded_server_url())


@lru_cache(maxsize=4)
def _engine_for(url: str) -> Engine:
    return sa.create_engine(url, pool_pre_ping=True, future=True)


def engine(url: str | None = None) -> Engine:
    return _engine_for(normalise_url(url) if url else warehouse_url())


def read_sql(name: str) -> str:
    """The text of ``include/sql/<name>`` (auditor-readable SQL lives there)."""
    return (SQL_DIR / name).read_text(encoding="utf-8")


def run_script(conn: sa.Connection, script: str) -> None:
    """Run a multi-statement SQL script as written (no parameter substitution)."""
    with conn.connection.cursor() as cur:
        cur.execute(script)


def migration_files() -> list[Path]:
    files = sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9]_*.sql"))
    numbers = [f.name[:3] for f in files]
    if len(numbers) != len(set(numbers)):
        raise RuntimeError(f"two migrations share a number: {numbers}")
    return files


def migrate(eng: Engine | None = None) -> list[str]:
    """Apply pending migrations in order, then sync the declared value mapping; return the names applied.

    Each migration runs in its own transaction together with its bookkeeping
    row, so a failing migration leaves nothing half-applied. An applied
    migration whose file changed afterwards is an error: history is never
    rewritten silently.
    """
    eng = eng or engine()
    applied_now: list[str] = []
    with eng.connect() as conn:
        # One connection holds the lock so concurrent runs apply each file once.
        conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
        conn.commit()
        try:
            with conn.begin():
                conn.execute(sa.text(
                    "CREATE TABLE IF NOT EXISTS public.schema_migration ("
                    " version text PRIMARY KEY, name text NOT NULL, sha256 text NOT NULL,"
                    " applied_at timestamptz NOT NULL DEFAULT now())"
                ))
            for path in migration_files():
                body = path.read_text(encoding="utf-8")
                digest = hashlib.sha256(body.encode()).hexdigest()
                version = path.name[:3]
                with conn.begin():
                    applied = conn.execute(
                        sa.text("SELECT sha256 FROM public.schema_migration WHERE version = :v"),
                        {"v": version},
                    ).scalar()
                    if applied is not None:
                        if applied != digest:
                            raise RuntimeError(
                                f"migration {path.name} was changed after it was applied; "
                                "add a new numbered migration instead"
                            )
                        continue
                    run_script(conn, body)
                    conn.execute(
                        sa.text("INSERT INTO public.schema_migration (version, name, sha256) VALUES (:v, :n, :s)"),
                        {"v": version, "n": path.name, "s": digest},
                    )
                applied_now.append(path.name)
                log.info("applied migration %s", path.name)
            # Reference data declared in files rather than in migrations: the value mapping.
            from dtks import value_mapping

            with conn.begin():
                value_mapping.sync(conn)
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK_KEY})
            conn.commit()
    return applied_now


def stop_embedded_server(pgdata: Path | None = None) -> bool:
    """Stop the embedded PostgreSQL if it runs (make stop, end of CI); True if it was running."""
    import pgserver

    data_dir = _embedded_data_dir(pgdata or settings().pgdata_dir)
    if not (data_dir / "postmaster.pid").exists():
        return False
    server = pgserver.get_server(str(data_dir), cleanup_mode="stop")
    server.cleanup()
    return True
