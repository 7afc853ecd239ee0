"""Making a warehouse ready for use (what `dtks init` and `make demo` run first).

Migrations always; the default Kemendagri reference edition into an empty
warehouse only (a newer edition stays current); and the round timetable's
copy of the calendar. Kept out of ``dtks.warehouse`` because it needs
``dtks.reference`` and ``dtks.rounds``, which themselves use the warehouse.
"""

from __future__ import annotations

from dtks import close_schedule, reference, warehouse


def init_warehouse() -> reference.LoadResult:
    """Migrate; load the default edition into an empty warehouse only (a newer edition stays current)."""
    eng = warehouse.engine()
    warehouse.migrate(eng)
    loaded = reference.init_reference(eng)
    close_schedule.export_calendar(eng)  # the timetable's copy of the calendar (empty on a new warehouse)
    return loaded
