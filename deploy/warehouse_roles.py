"""Create or update the warehouse login the auditor page uses (run by deploy/init.sh).

A LOGIN role, member of the read-only, masked ``dtks_auditor`` role and of
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


def ensure_auditor_login(eng: sa.Engine, user: str, password: str) -> bool:
    """Create ``user`` (LOGIN, member of dtks_auditor, read-only sessions) or reset its password; True if created."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", user):
        raise ValueError(f"not a plain PostgreSQL role name: {user!r}")
    with eng.begin() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": AUDITOR_ROLE}).scalar():
            raise RuntimeError(f"role {AUDITOR_ROLE} does not exist: run the warehouse migrations (dtks init) first")
        created = not conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": user}).scalar()
        if created:
            conn.exec_driver_sql(f'CREATE ROLE "{user}" LOGIN')
        # psycopg2 binds the password client-side, so it is never spliced into the SQL text by hand.
        conn.exec_driver_sql(f'ALTER ROLE "{user}" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %s',
                             (password,))
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
    user = os.environ.get("DTKS_AUDITOR_DB_USER") or "dtks_auditor_web"
    password = os.environ.get("DTKS_AUDITOR_DB_PASSWORD") or ""
    if not password:
        print("DTKS_AUDITOR_DB_PASSWORD is empty: no auditor login created")
        return 0
    from dtks.warehouse import engine

    created = ensure_auditor_login(engine(), user, password)
    print(f"warehouse login {user} {'created' if created else 'updated'} (member of {AUDITOR_ROLE})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
