"""The warehouse part of airflow-init: migrations always, Kemendagri codes on the first start only.

`dtks init` reloads the default reference edition every time it runs; airflow-init
runs on every `docker compose up`, so it must not: after an operator has loaded a
newer edition (`dtks reference load --edition NAME`), reloading the old default
would mark the new codes as retired. Here the codes are loaded only when the
warehouse has none yet.
"""

from __future__ import annotations

import sys

import sqlalchemy as sa


def init_warehouse(eng: sa.Engine) -> tuple[list[str], list[str], bool]:
    """Apply pending migrations; load the default edition if none is loaded.

    Returns (migrations applied now, editions present before, whether codes were loaded now).
    """
    from dtks import reference, warehouse

    applied = warehouse.migrate(eng)
    with eng.connect() as conn:
        editions = list(conn.execute(sa.text("SELECT edition FROM ref.edition ORDER BY loaded_at, edition")).scalars())
    loaded = reference.init_reference(eng, loaded_by="deploy-init")  # never over a loaded (maybe newer) edition
    return applied, editions, loaded.load_id is not None


def main() -> int:
    from dtks import warehouse
    from dtks.config import DEFAULT_REFERENCE_EDITION

    applied, editions, loaded = init_warehouse(warehouse.engine())
    print(f"warehouse migrations applied now: {', '.join(applied) or 'none (up to date)'}")
    if loaded:
        print(f"Kemendagri reference codes loaded: {DEFAULT_REFERENCE_EDITION}")
    else:
        print(
            f"Kemendagri reference codes present ({', '.join(editions)}): not reloaded "
            "(a new edition: dtks reference load --edition NAME)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
