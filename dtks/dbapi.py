"""psycopg2's own cursor under a SQLAlchemy connection: COPY and multi-statement scripts.

SQLAlchemy types ``conn.connection.cursor()`` as a bare DB-API cursor; the
warehouse URL is ``postgresql+psycopg2``, so it is psycopg2's, with
``copy_expert`` and scripts run as written. The cursor runs in ``conn``'s
transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

import psycopg2.extensions
import sqlalchemy as sa


@contextmanager
def driver_cursor(conn: sa.Connection) -> Iterator[psycopg2.extensions.cursor]:
    """psycopg2's cursor in ``conn``'s transaction (closed on leaving)."""
    dbapi = cast(psycopg2.extensions.connection, conn.connection.dbapi_connection)
    with dbapi.cursor() as cur:
        yield cur
