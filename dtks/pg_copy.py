"""The psycopg2 cursor under a SQLAlchemy connection, for COPY (bulk loads into the warehouse).

SQLAlchemy types ``conn.connection.cursor()`` as a bare DB-API cursor; the
warehouse URL is ``postgresql+psycopg2``, so it is psycopg2's, with
``copy_expert``. The cursor runs in ``conn``'s transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

import psycopg2.extensions
import sqlalchemy as sa


@contextmanager
def copy_cursor(conn: sa.Connection) -> Iterator[psycopg2.extensions.cursor]:
    """psycopg2's cursor in ``conn``'s transaction (closed on leaving)."""
    dbapi = cast(psycopg2.extensions.connection, conn.connection.dbapi_connection)
    with dbapi.cursor() as cur:
        yield cur
