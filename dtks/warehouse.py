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
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dtks.config import SQL_DIR, settings
from dtks.dbapi import driver_cursor

if TYPE_CHECKING:
    import pgserver

log = logging.getLogger(__name__)

MIGRATIONS_DIR = SQL_DIR / "migrations"
# Views and functions, each defined once, in their current form (CONTRIBUTING.md).
OBJECTS_DIR = SQL_DIR / "objects"
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


# The embedded server's settings for this workload (bulk loads and merges of
# millions of rows by a few sessions), moderate enough for a small machine that
# runs several servers at once (every worktree's test suite has its own).
# docs/operations.md says why each, and what a production warehouse sets.
# DTKS_EMBEDDED_TUNING=0 runs PostgreSQL's own defaults instead (the benchmark
# measures the settings alone that way). Values as PostgreSQL shows them.
EMBEDDED_SETTINGS = {
    "shared_buffers": "256MB",  # default 128MB: the registry's hot pages (indexes first) stay in the cache
    "max_wal_size": "4GB",  # default 1GB: a 5 M-row merge no longer forces a checkpoint every few seconds
    "checkpoint_timeout": "15min",  # default 5min: fewer checkpoints, fewer full-page images in the WAL
    "wal_compression": "pglz",  # default off: the full-page images that remain are compressed
    "work_mem": "32MB",  # default 4MB: hashes and sorts of a district's rows stay in memory
    "maintenance_work_mem": "256MB",  # default 64MB: index builds and VACUUM of the registry
}


_settings_checked: set[tuple[Path, bool]] = set()


def _apply_embedded_settings(server: pgserver.PostgresServer, data_dir: Path) -> None:
    """Bring the embedded server to the settings DTKS_EMBEDDED_TUNING asks for.

    pgserver has no option for settings: they go to postgresql.auto.conf (ALTER
    SYSTEM), reloaded; shared_buffers needs a restart, done here only when it
    changed (a fresh data folder, or the variable switched). A lock file keeps
    two processes starting at once from restarting the server twice.
    """
    import fcntl

    import psycopg2
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # made at import, one per binary

    tuning = settings().embedded_tuning
    if (data_dir, tuning) in _settings_checked:  # once per process (the URL is asked for often)
        return
    wanted = EMBEDDED_SETTINGS if tuning else {}
    with (data_dir.parent / f".{data_dir.name}-settings.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        conn = psycopg2.connect(server.get_uri())
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT name, setting FROM pg_file_settings"
                    " WHERE sourcefile LIKE '%%postgresql.auto.conf' AND name = ANY(%s)",
                    (list(EMBEDDED_SETTINGS),),
                )
                written = dict(cur.fetchall())
                changed = [name for name in EMBEDDED_SETTINGS if wanted.get(name) != written.get(name)]
                for name in changed:
                    if name in wanted:
                        cur.execute(f"ALTER SYSTEM SET {name} = %s", (wanted[name],))
                    else:
                        cur.execute(f"ALTER SYSTEM RESET {name}")
                if changed:
                    cur.execute("SELECT pg_reload_conf()")
                cur.execute(
                    "SELECT count(*) FROM pg_settings WHERE name = ANY(%s) AND context = 'postmaster'", (changed,)
                )
                restart = (cur.fetchone() or (0,))[0] > 0  # count(*): always one row
        finally:
            conn.close()
        if restart:
            log.info("restarting the embedded PostgreSQL for its settings (%s)", ", ".join(changed))
            pg_ctl(
                ["-w", "-m", "fast", "-l", str(server.log), "restart"],
                pgdata=server.pgdata,
                user=server.system_user,
                timeout=120,
            )
            server.ensure_postgres_running()  # re-read postmaster.pid: the new server's process
    _settings_checked.clear()  # (a switched variable is checked again)
    _settings_checked.add((data_dir, tuning))


def embedded_server_url(pgdata: Path | None = None) -> str:
    """Start (or reuse) the embedded PostgreSQL server and return its URL."""
    import pgserver  # imported lazily: not needed when DTKS_WAREHOUSE_URL is set

    data_dir = _embedded_data_dir(pgdata or settings().pgdata_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process, so Airflow task
    # processes and later commands share it.
    server = pgserver.get_server(str(data_dir), cleanup_mode=None)
    _apply_embedded_settings(server, data_dir)
    return server.get_uri()


def settings_in_effect(eng: Engine) -> dict[str, str]:
    """The server settings this workload depends on, as the warehouse runs them (printed by the benchmark)."""
    names = [*EMBEDDED_SETTINGS, "synchronous_commit", "random_page_cost", "effective_cache_size", "server_version"]
    with eng.connect() as conn:
        return dict(
            conn.execute(
                sa.text("SELECT name, current_setting(name) FROM unnest(CAST(:names AS text[])) name"), {"names": names}
            ).all()
        )


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
                raise RuntimeError(
                    "AIRFLOW_CONN_DTKS_WAREHOUSE is set but cannot be read as an Airflow "
                    f"connection ({type(exc).__name__})"
                ) from None
            conn = None
        if conn is not None:
            if (conn.conn_type or "").lower() not in ("postgres", "postgresql"):
                raise ValueError(f"Airflow connection dtks_warehouse must be of type postgres, not {conn.conn_type!r}")
            libpq = {
                "host",
                "sslmode",
                "sslrootcert",
                "sslcert",
                "sslkey",
                "connect_timeout",
                "application_name",
                "options",
                "target_session_attrs",
                "keepalives",
                "keepalives_idle",
            }
            query = {k: str(v) for k, v in (conn.extra_dejson or {}).items() if k in libpq}
            return sa.engine.URL.create(
                "postgresql+psycopg2",
                username=conn.login or None,
                password=conn.password or None,
                host=conn.host or None,
                port=conn.port or None,
                database=conn.schema or None,
                query=query,
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
    """The statement in ``include/sql/<name>`` (auditor-readable SQL lives there), without its comment lines.

    The header is for people and is not sent: SQLAlchemy fills a ``:name`` written in a
    comment too, and a value with a line break (a district's file name) would end the
    comment and be read as SQL. Comment lines become empty lines (line numbers stay).
    """
    text = (SQL_DIR / name).read_text(encoding="utf-8")
    return "".join("\n" if line.lstrip().startswith("--") else line for line in text.splitlines(keepends=True))


def run_script(conn: sa.Connection, script: str) -> None:
    """Run a multi-statement SQL script as written (no parameter substitution)."""
    with driver_cursor(conn) as cur:
        cur.execute(script)


def _numbered(folder: Path, what: str) -> list[Path]:
    files = sorted(folder.glob("[0-9][0-9][0-9]_*.sql"))
    numbers = [f.name[:3] for f in files]
    if len(numbers) != len(set(numbers)):
        raise RuntimeError(f"two {what} share a number: {numbers}")
    return files


def migration_files() -> list[Path]:
    return _numbered(MIGRATIONS_DIR, "migrations")


def object_files() -> list[Path]:
    """The view and function files, in the order they are applied (their number: dependencies first)."""
    return _numbered(OBJECTS_DIR, "object files")


def _catalogue(conn: sa.Connection) -> tuple[set[str], set[str]]:
    """(objects, privileges) of the warehouse's own schemas.

    Compared before and after the object files run, so a DROP ... CASCADE that takes
    along something no file re-creates (a dependent view, a trigger, a grant) fails.
    """
    objects: set[str] = set()
    privileges: set[str] = set()
    for obj, privilege in conn.execute(sa.text(read_sql("warehouse/object_catalogue.sql"))):
        if privilege is None:
            objects.add(obj)
        else:
            privileges.add(f"{obj} {privilege}")
    return objects, privileges


def apply_objects(conn: sa.Connection) -> list[str]:
    """Re-apply every object file, in order, in the caller's transaction; return their names.

    Nothing that existed before may be missing afterwards, and no privilege
    may be lost: an object file that drops a view with CASCADE must re-create
    (here or in a later file) everything the cascade took, and the grants are
    re-applied by the last file.
    """
    objects_before, privileges_before = _catalogue(conn)
    names = []
    for path in object_files():
        try:
            run_script(conn, path.read_text(encoding="utf-8"))
        except sa.exc.DBAPIError as exc:
            raise RuntimeError(f"object file {path.name} failed: {exc.orig}") from exc
        names.append(path.name)
    objects_after, privileges_after = _catalogue(conn)
    lost = sorted(objects_before - objects_after)
    lost_privileges = sorted(privileges_before - privileges_after)
    if lost or lost_privileges:
        raise RuntimeError(
            "the object files dropped what they do not re-create: "
            + "; ".join(lost + [f"privilege {p}" for p in lost_privileges])
            + " (re-create it in include/sql/objects, grants in its last file; or drop it in a numbered migration)"
        )
    return names


def migrate(eng: Engine | None = None) -> list[str]:
    """Apply pending migrations in order, re-apply the object files, sync the value mapping.

    Returns the names of the migrations applied now. Each migration runs in
    its own transaction together with its bookkeeping row, so a failing
    migration leaves nothing half-applied. An applied migration whose file
    changed afterwards is an error: history is never rewritten silently.
    Migrations change tables and data; views and functions are defined once
    in include/sql/objects and re-applied, all in one transaction, on every
    run (under the same lock), so a changed object file needs no migration.
    """
    eng = eng or engine()
    applied_now: list[str] = []
    with eng.connect() as conn:
        # One connection holds the lock so concurrent runs apply each file once.
        conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
        conn.commit()
        try:
            with conn.begin():
                conn.execute(sa.text(read_sql("warehouse/schema_migration_table.sql")))
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
            with conn.begin():
                applied_objects = apply_objects(conn)
            log.info("re-applied %d object files", len(applied_objects))
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
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # made at import, one per binary

    data_dir = _embedded_data_dir(pgdata or settings().pgdata_dir)
    if not (data_dir / "postmaster.pid").exists():
        return False
    # pg_ctl itself: a handle this process already holds (it started the server, cleanup_mode None)
    # would not stop it; and the handle is forgotten, so a later start in this process starts anew.
    server = pgserver.get_server(str(data_dir), cleanup_mode=None)
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user, timeout=120)
    pgserver.PostgresServer._instances.pop(server.pgdata, None)
    _settings_checked.clear()
    return True
