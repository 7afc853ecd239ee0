"""`dtks`: the command line a ministry data engineer uses.

Commands that process data run the real DAGs through Airflow; the others
manage the warehouse, the round calendar and reference data directly.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date, datetime, timezone
from pathlib import Path

from dtks import airflow_env


def _engine():
    from dtks import warehouse
    return warehouse.engine()


def cmd_init(args) -> None:
    from dtks import demo
    demo.init_warehouse()
    airflow_env.ensure_metadata_db()
    print("warehouse migrated, reference codes loaded, Airflow metadata DB ready")


def cmd_warehouse_url(args) -> None:
    from dtks import warehouse
    print(warehouse.warehouse_url())


def cmd_stop(args) -> None:
    from dtks import warehouse
    print("embedded warehouse stopped" if warehouse.stop_embedded_server() else "embedded warehouse was not running")


def cmd_reference_load(args) -> None:
    from dtks import reference
    counts = reference.load_reference(_engine(), args.edition)
    print(f"{counts.edition}: {counts.provinces} provinces, {counts.kabkota} kab/kota, "
          f"{counts.kecamatan} kecamatan, {counts.villages} desa/kelurahan")


def cmd_generate(args) -> None:
    from dtks import generate
    summary = generate.generate(Path(args.out), seed=args.seed,
                                households_per_district=args.households_per_district,
                                defect_rate=args.defect_rate)
    print(f"{summary.baseline_rows} baseline rows, {summary.submissions} submission files, "
          f"{summary.defect_rows} injected defect rows → {args.out}")


def cmd_round_create(args) -> None:
    from dtks import rounds
    base = rounds.default_round(args.round_id)
    rnd = rounds.Round(
        args.round_id,
        date.fromisoformat(args.opens) if args.opens else base.opens_on,
        date.fromisoformat(args.cutoff) if args.cutoff else base.cutoff_on,
        args.grace if args.grace is not None else base.grace_days,
        date.fromisoformat(args.penetapan) if args.penetapan else base.penetapan_on,
    )
    provinces = args.provinces.split(",") if args.provinces else None
    created = rounds.create_round(_engine(), rnd, provinces)
    print(f"round {rnd.round_id} {'created' if created else 'already exists'}")


def cmd_round_list(args) -> None:
    from dtks import rounds
    print(f"{'round':8} {'opens':10} {'cut-off':10} {'grace':>5} {'penetapan':10} status")
    for r in rounds.list_rounds(_engine()):
        print(f"{r.round_id:8} {r.opens_on} {r.cutoff_on} {r.grace_days:>5} {r.penetapan_on} {r.status}")


def cmd_baseline_load(args) -> None:
    from dtks import ingest
    received = datetime.fromisoformat(args.received_at) if args.received_at else datetime.now(timezone.utc)
    print(ingest.load_baseline(_engine(), Path(args.file), "cli-baseline", received))


def cmd_ingest(args) -> None:
    state = airflow_env.run_dag("dtks_ingest", {"landing_dir": args.landing} if args.landing else {})
    print(f"dtks_ingest: {state}")


def cmd_close_round(args) -> None:
    state = airflow_env.run_dag("dtks_close_round", {"round_id": args.round_id})
    print(f"dtks_close_round {args.round_id}: {state}")


def cmd_table(args) -> None:
    from dtks import metrics, report
    print(report.format_district_table(metrics.district_table(_engine(), args.round_id)))


def cmd_demo(args) -> None:
    from dtks import demo
    demo.run_demo()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dtks", description="DTKS update rounds: ingest, check, merge, measure.")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("init", help="migrate the warehouse, load reference codes, prepare Airflow").set_defaults(func=cmd_init)
    sub.add_parser("warehouse-url", help="print the warehouse URL in use").set_defaults(func=cmd_warehouse_url)
    sub.add_parser("stop", help="stop the embedded PostgreSQL warehouse").set_defaults(func=cmd_stop)

    ref = sub.add_parser("reference", help="Kemendagri region codes").add_subparsers(dest="action", required=True)
    load = ref.add_parser("load", help="load (or reload) an edition from include/reference/<edition>/")
    load.add_argument("--edition", default="idn-area-data-4.0.1")
    load.set_defaults(func=cmd_reference_load)

    gen = sub.add_parser("generate", help="synthetic baseline registry and district submissions")
    gen.add_argument("out", help="output folder")
    gen.add_argument("--seed", type=int, default=20260801)
    gen.add_argument("--households-per-district", type=int, default=60)
    gen.add_argument("--defect-rate", type=float, default=0.03)
    gen.set_defaults(func=cmd_generate)

    rnd = sub.add_parser("round", help="the round calendar").add_subparsers(dest="action", required=True)
    create = rnd.add_parser("create", help="create a round (default: monthly calendar) and snapshot its expected districts")
    create.add_argument("round_id", help="e.g. 2026-11")
    create.add_argument("--opens"); create.add_argument("--cutoff"); create.add_argument("--penetapan")
    create.add_argument("--grace", type=int)
    create.add_argument("--provinces", help="comma-separated province codes (default: all)")
    create.set_defaults(func=cmd_round_create)
    rnd.add_parser("list", help="list rounds").set_defaults(func=cmd_round_list)

    base = sub.add_parser("baseline", help="the registry before the first round").add_subparsers(dest="action", required=True)
    bl = base.add_parser("load", help="import a baseline registry CSV (once; repeat is a no-op)")
    bl.add_argument("file"); bl.add_argument("--received-at", help="ISO timestamp (default: now)")
    bl.set_defaults(func=cmd_baseline_load)

    ing = sub.add_parser("ingest", help="run the dtks_ingest DAG over the landing folder")
    ing.add_argument("--landing", help="landing folder (default: DTKS_LANDING_DIR)")
    ing.set_defaults(func=cmd_ingest)

    close = sub.add_parser("close-round", help="run the dtks_close_round DAG for a round")
    close.add_argument("round_id")
    close.set_defaults(func=cmd_close_round)

    table = sub.add_parser("table", help="print a round's district table")
    table.add_argument("round_id")
    table.set_defaults(func=cmd_table)

    sub.add_parser("demo", help="three demo rounds end to end (what `make demo` runs)").set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    airflow_env.configure()  # before anything imports airflow
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (LookupError, ValueError, RuntimeError) as exc:
        print(f"dtks: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
