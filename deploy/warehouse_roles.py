"""Create or update the warehouse logins of the stack: the pipeline's and the auditor page's (run by deploy/init.sh).

The init job connects as the warehouse's superuser (the official image's
POSTGRES_USER), which owns every schema and table the migrations create. No
other service holds that login.

The pipeline login (``DTKS_WAREHOUSE_USER``, member of ``dtks_pipeline``) is no
superuser and owns none of the audit, registry or quarantine tables: it reads
and writes their rows (the append-only triggers decide which changes pass),
owns the ``staging`` tables (scratch space) and creates temporary tables; its
ANALYZE of registry tables after a baseline load is skipped by PostgreSQL (a
warning: autovacuum keeps their statistics). It cannot
ALTER TABLE ... DISABLE TRIGGER, drop a table, set session_replication_role or
COPY ... TO PROGRAM.

  DTKS_WAREHOUSE_USER       pipeline login name (default dtks)
  DTKS_WAREHOUSE_PASSWORD   its password; empty: nothing is done

The auditor page's login is a LOGIN role, member of the read-only, masked ``dtks_auditor`` role and of
``dtks_lineage`` (recorded, rate-limited lineage lookups) that the warehouse
migrations create, so the Airflow api-server (where the auditor page
runs) never holds the pipeline's own credentials: ``DTKS_AUDITOR_WAREHOUSE_URL``
connects as this user.

  DTKS_AUDITOR_DB_USER      login name (default dtks_auditor_web)
  DTKS_AUDITOR_DB_PASSWORD  its password; empty: nothing is done

Idempotent: running it again with a new password rotates the password.
"""

from __future__ import annotations

import os
import re
import sys

import sqlalchemy as sa

AUDITOR_ROLE = "dtks_auditor"
LINEAGE_ROLE = "dtks_lineage"
PIPELINE_ROLE = "dtks_pipeline"
PIPELINE_SCHEMAS = ("audit", "registry", "quarantine", "metrics", "ref", "staging")


def _check_name(user: str) -> None:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", user):
        raise ValueError(f"not a plain PostgreSQL role name: {user!r}")


def ensure_pipeline_login(eng: sa.Engine, user: str, password: str) -> bool:
    """Create ``user`` (LOGIN, no superuser, member of dtks_pipeline) or reset its password; True if created.

    ``eng`` connects as the owner of the warehouse's objects (the init job's
    superuser); default privileges make tables of later migrations usable too.
    """
    _check_name(user)
    schemas = ", ".join(PIPELINE_SCHEMAS)
    with eng.begin() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": PIPELINE_ROLE}).scalar():
            conn.exec_driver_sql(f"CREATE ROLE {PIPELINE_ROLE} NOLOGIN")
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {schemas} TO {PIPELINE_ROLE}")
        conn.exec_driver_sql(f"GRANT CREATE ON SCHEMA staging TO {PIPELINE_ROLE}")  # validation's work tables
        conn.exec_driver_sql(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schemas} TO {PIPELINE_ROLE}"
        )
        conn.exec_driver_sql(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schemas} TO {PIPELINE_ROLE}")
        conn.exec_driver_sql(f"GRANT SELECT ON public.schema_migration TO {PIPELINE_ROLE}")
        # the engineers' lineage (dtks lineage NIK), unmasked: the pipeline login is theirs
        conn.exec_driver_sql(
            f"GRANT EXECUTE ON FUNCTION registry.lineage_of(text), registry.attempts_of(text) TO {PIPELINE_ROLE}"
        )
        conn.exec_driver_sql(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schemas}"
            f" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {PIPELINE_ROLE}"
        )
        conn.exec_driver_sql(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schemas} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {PIPELINE_ROLE}"
        )
        # Staging is the pipeline's scratch space (no audit trail): it owns those tables, so its
        # ANALYZE before validation is not skipped. Audit, registry and quarantine stay the init login's.
        staging = conn.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'staging'")).scalars()
        for table in staging.all():
            conn.exec_driver_sql(f'ALTER TABLE staging."{table}" OWNER TO {PIPELINE_ROLE}')
        created = not conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": user}).scalar()
        if created:
            conn.exec_driver_sql(f'CREATE ROLE "{user}" LOGIN')
        conn.exec_driver_sql(
            f'ALTER ROLE "{user}" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD %s',
            (password,),
        )
        conn.exec_driver_sql(f'GRANT {PIPELINE_ROLE} TO "{user}"')
        revoke_temp_from_public(conn)
    return created


def ensure_auditor_login(eng: sa.Engine, user: str, password: str) -> bool:
    """Create ``user`` (LOGIN, member of dtks_auditor, read-only sessions) or reset its password; True if created."""
    _check_name(user)
    with eng.begin() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": AUDITOR_ROLE}).scalar():
            raise RuntimeError(f"role {AUDITOR_ROLE} does not exist: run the warehouse migrations (dtks init) first")
        created = not conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": user}).scalar()
        if created:
            conn.exec_driver_sql(f'CREATE ROLE "{user}" LOGIN')
        # psycopg2 binds the password client-side, so it is never spliced into the SQL text by hand.
        conn.exec_driver_sql(
            f'ALTER ROLE "{user}" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %s', (password,)
        )
        conn.exec_driver_sql(f'GRANT {AUDITOR_ROLE}, {LINEAGE_ROLE} TO "{user}"')
        # A seatbelt only: any session may SET it off again. What makes the login
        # read-only is that it holds no write privilege (dtks_lineage's recorded,
        # rate-limited lookup request is its one write) and no TEMP (below).
        conn.exec_driver_sql(f'ALTER ROLE "{user}" SET default_transaction_read_only = on')
        revoke_temp_from_public(conn)
    return created


def revoke_temp_from_public(conn: sa.Connection) -> None:
    """No temporary tables for PUBLIC (so not for auditors) in this database; the pipeline's roles get TEMP back.

    Database privileges are not copied by CREATE DATABASE ... TEMPLATE, so this
    runs on every init rather than in a migration.
    """
    db = conn.execute(sa.text("SELECT current_database()")).scalar()
    conn.exec_driver_sql(f'REVOKE TEMPORARY ON DATABASE "{db}" FROM PUBLIC')
    if conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": PIPELINE_ROLE}).scalar():
        conn.exec_driver_sql(f'GRANT TEMPORARY ON DATABASE "{db}" TO {PIPELINE_ROLE}')


def main() -> int:
    from dtks.warehouse import engine

    eng = engine()  # the init job's login: the warehouse's superuser, owner of the migrated objects
    for label, user, password, ensure in (
        (
            "pipeline",
            os.environ.get("DTKS_WAREHOUSE_USER") or "dtks",
            os.environ.get("DTKS_WAREHOUSE_PASSWORD"),
            ensure_pipeline_login,
        ),
        (
            "auditor page",
            os.environ.get("DTKS_AUDITOR_DB_USER") or "dtks_auditor_web",
            os.environ.get("DTKS_AUDITOR_DB_PASSWORD"),
            ensure_auditor_login,
        ),
    ):
        if not password:
            print(f"no password for the {label} login {user}: not created")
            continue
        created = ensure(eng, user, password)
        print(f"warehouse login {user} ({label}) {'created' if created else 'updated'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
