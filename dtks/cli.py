"""`dtks`: the command line a ministry data engineer uses.

Commands that process data run the real DAGs through Airflow; the others
manage the warehouse, the round calendar and reference data directly.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dtks import airflow_env, cli_input
from dtks.cli_input import DATE_HELP, ROUND_HELP, TIMESTAMP_HELP, iso_date, iso_timestamp, round_id

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dtks")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _engine() -> Engine:
    from dtks import warehouse

    return warehouse.engine()


def cmd_init(args: argparse.Namespace) -> None:
    from dtks.warehouse_setup import init_warehouse

    loaded = init_warehouse()
    airflow_env.ensure_metadata_db()
    codes = (
        f"reference codes loaded: {loaded.edition}"
        if loaded.load_id is not None
        else f"reference codes left as they are: current edition {loaded.edition}"
    )
    print(f"warehouse migrated, {codes}, Airflow metadata DB ready")


def cmd_warehouse_url(args: argparse.Namespace) -> None:
    from dtks import warehouse

    print(warehouse.warehouse_url())


def cmd_stop(args: argparse.Namespace) -> None:
    from dtks import warehouse

    print("embedded warehouse stopped" if warehouse.stop_embedded_server() else "embedded warehouse was not running")


def cmd_reference_load(args: argparse.Namespace) -> None:
    from dtks import reference

    if args.force and not (args.reason or "").strip():
        raise ValueError("dtks reference load --force needs --reason (it is recorded with the load)")
    # an older edition (EditionRefused, a ValueError) or a broken folder: reported by main()
    result = reference.load_reference(_engine(), args.edition, force_reason=args.reason if args.force else None)
    counts, diff = result.counts, result.diff
    assert counts is not None and diff is not None  # load_reference always loads (init_reference may not)
    print(
        f"{counts.edition}: {counts.provinces} provinces, {counts.kabkota} kab/kota, "
        f"{counts.kecamatan} kecamatan, {counts.villages} desa/kelurahan (load #{result.load_id}, "
        f"previous edition {result.previous_edition or 'none'})"
    )
    for which in ("added", "retired", "changed"):
        print(f"  {which:8} " + ", ".join(f"{n} {lv}" for lv, n in diff.counts(which).items()))
    for kab, parent in sorted(diff.splits.items()):
        print(f"  new district {kab}, split from {parent}")
    if result.persons_recoded:
        print(f"  {result.persons_recoded} registry persons re-attributed to their new village codes")
    if result.rounds_extended:
        print(f"  expected in open rounds: {', '.join(result.rounds_extended)}")


def cmd_reference_diff(args: argparse.Namespace) -> None:
    from dtks import reference

    old, new = reference.read_edition(args.old), reference.read_edition(args.new)
    print(reference.format_diff(old.name, new, reference.diff_codes(old.codes, new)))


def cmd_generate(args: argparse.Namespace) -> None:
    from dtks.devtools import generate

    summary = generate.generate(
        Path(args.out),
        seed=args.seed,
        households_per_district=args.households_per_district,
        defect_rate=args.defect_rate,
    )
    print(
        f"{summary.baseline_rows} baseline rows, {summary.submissions} submission files, "
        f"{summary.defect_rows} injected defect rows → {args.out}"
    )


def cmd_round_create(args: argparse.Namespace) -> None:
    from dtks import close_schedule, rounds

    base = rounds.default_round(args.round_id)
    rnd = rounds.Round(
        args.round_id,
        args.opens or base.opens_on,
        args.cutoff or base.cutoff_on,
        args.grace if args.grace is not None else base.grace_days,
        args.penetapan or base.penetapan_on,
        on_time_grace_days=args.on_time_grace if args.on_time_grace is not None else base.on_time_grace_days,
    )
    provinces = args.provinces.split(",") if args.provinces else None
    created = rounds.create_round(_engine(), rnd, provinces)
    calendar = close_schedule.export_calendar(_engine())
    print(f"round {rnd.round_id} {'created' if created else 'already exists'}; calendar → {calendar}")
    if created and rnd.close_at <= datetime.now(UTC):
        # Else every file sent from now on is refused round_closed while `round list` says "open".
        print(
            f"note: round {rnd.round_id} closed on {rnd.last_grace_day} (end of day WIB), before today: files "
            f"landing now are refused (round_closed); give it later dates with `dtks round move "
            f"{rnd.round_id} --reason ... --cutoff YYYY-MM-DD`",
            file=sys.stderr,
        )


def _round_dates(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "opens_on": args.opens,
        "cutoff_on": args.cutoff,
        "grace_days": args.grace,
        "on_time_grace_days": args.on_time_grace,
        "penetapan_on": args.penetapan,
    }


def cmd_round_list(args: argparse.Namespace) -> None:
    from dtks import rounds

    print(f"{'round':8} {'opens':10} {'cut-off':10} {'grace':>5} {'closes (end of, WIB)':20} {'penetapan':10} status")
    for r in rounds.list_rounds(_engine()):
        print(
            f"{r.round_id:8} {r.opens_on} {r.cutoff_on} {r.grace_days:>5} {r.last_grace_day!s:20} "
            f"{r.penetapan_on} {r.status}"
        )


def cmd_round_move(args: argparse.Namespace) -> None:
    from dtks import close_schedule, rounds

    rnd = rounds.move_round(_engine(), args.round_id, args.reason, **_round_dates(args))
    print(
        f"round {rnd.round_id}: cut-off {rnd.cutoff_on}, closes end of {rnd.last_grace_day} WIB; "
        f"calendar → {close_schedule.export_calendar(_engine())}"
    )


def cmd_round_reopen(args: argparse.Namespace) -> None:
    from dtks import close_schedule, rounds

    rnd = rounds.reopen_round(_engine(), args.round_id, args.reason, **_round_dates(args))
    print(
        f"round {rnd.round_id} reopened (closes end of {rnd.last_grace_day} WIB); "
        f"calendar → {close_schedule.export_calendar(_engine())}"
    )


def cmd_round_close(args: argparse.Namespace) -> int:
    from dtks import close_schedule

    status = cmd_close_round(args)  # the same run, progress and outcome as `dtks close-round`
    if status == 0:
        print(f"calendar → {close_schedule.export_calendar(_engine())}")
    return status


def cmd_round_backfill(args: argparse.Namespace) -> None:
    from dtks import closing

    done = closing.backfill(_engine(), args.first, args.last)
    print(f"closed again, in calendar order: {', '.join(done) or 'no rounds'}")


def cmd_round_export(args: argparse.Namespace) -> None:
    from dtks import close_schedule

    print(close_schedule.export_calendar(_engine(), Path(args.out) if args.out else None))


def cmd_round_history(args: argparse.Namespace) -> None:
    from dtks import rounds

    for c in rounds.round_changes(_engine(), args.round_id):
        print(
            f"{c['changed_at']:%Y-%m-%d %H:%M} {c['round_id']} {c['change']:8} by {c['changed_by']}"
            + (f" — {c['reason']}" if c["reason"] else "")
        )


def cmd_round_penetapan(args: argparse.Namespace) -> None:
    from dtks import metrics, rounds

    snap = metrics.penetapan(_engine(), args.round_id)
    if snap is None:
        raise LookupError(f"round {args.round_id} has no penetapan snapshot yet (close the round first)")
    print(
        f"round {args.round_id} penetapan snapshot #{snap['snapshot_no']} as of "
        f"{snap['as_of'].astimezone(rounds.JAKARTA):%Y-%m-%d %H:%M} WIB: "
        f"{snap['active_individuals']} active individuals, {snap['households']} households, "
        f"{len(snap['districts'])} districts, hash {snap['registry_hash']}"
    )
    problems = metrics.verify_penetapan(_engine(), args.round_id)
    print("reproduced exactly from history" if not problems else "DIFFERS from history:\n  " + "\n  ".join(problems))


def cmd_baseline_load(args: argparse.Namespace) -> None:
    from dtks import merging

    received = args.received_at or datetime.now(UTC)
    print(merging.load_baseline(_engine(), Path(args.file), "cli-baseline", received))


EXIT_REJECTED = 3  # --fail-on-rejection: the pipeline ran and refused at least one file whole


def _landing_folder(given: str | None) -> Path:
    """The landing folder to scan, refused in one line when it cannot be read."""
    import os

    from dtks.config import settings

    landing = Path(given).resolve() if given else settings().landing_dir
    if not landing.is_dir():
        raise RuntimeError(
            f"landing folder {landing} does not exist or is not a folder"
            + ("" if given else " (set DTKS_LANDING_DIR or pass --landing)")
        )
    if not os.access(landing, os.R_OK | os.X_OK):
        raise RuntimeError(f"landing folder {landing} cannot be read (permissions)")
    return landing


def cmd_ingest(args: argparse.Namespace) -> int:
    from dtks import progress, run_outcomes

    landing = _landing_folder(args.landing)
    with _engine().connect():  # an unreachable warehouse is one line, before Airflow starts
        pass
    run_id, state = progress.run_on_screen("dtks_ingest", {"landing_dir": str(landing)}, quiet=args.json)
    outcome = run_outcomes.ingest_outcomes(_engine(), run_id)
    failure = progress.run_failed("dtks_ingest", run_id, state)
    outcome["state"], outcome["landing"], outcome["error"] = state, str(landing), failure
    print(run_outcomes.as_json(outcome) if args.json else run_outcomes.format_ingest(outcome))
    if failure:
        print(f"dtks: error: {failure}", file=sys.stderr)
        return 1
    return EXIT_REJECTED if args.fail_on_rejection and outcome["totals"]["rejected"] else 0


def cmd_close_round(args: argparse.Namespace) -> int:
    from dtks import progress, run_outcomes

    as_json = getattr(args, "json", False)
    run_id, state = progress.run_on_screen("dtks_close_round", {"round_id": args.round_id}, quiet=as_json)
    failure = progress.run_failed("dtks_close_round", run_id, state)
    if failure:
        print(f"dtks: error: {failure}", file=sys.stderr)
        return 1
    outcome = run_outcomes.close_outcome(_engine(), args.round_id, run_id)
    print(run_outcomes.as_json(outcome) if as_json else run_outcomes.format_close(outcome))
    return 0


def cmd_table(args: argparse.Namespace) -> int:
    from dtks import metrics, terminal_table

    districts = metrics.district_table(_engine(), args.round_id)
    if not districts:
        print(
            f"dtks: error: round {args.round_id} has no district metrics yet "
            f"(close it first: `dtks close-round {args.round_id}`)",
            file=sys.stderr,
        )
        return 1
    terminal_table.write(districts, args.round_id, args.format, sys.stdout)
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    from dtks import ui

    return ui.serve(port=args.port, host=args.host)


def cmd_demo(args: argparse.Namespace) -> None:
    from dtks.devtools import demo

    demo.run_demo()


def cmd_lineage(args: argparse.Namespace) -> None:
    from dtks import audit

    print(audit.format_lineage(audit.lineage(_engine(), args.identifier), args.identifier))


def cmd_review_queue(args: argparse.Namespace) -> None:
    from dtks import review

    status = None if args.all else "open"
    print(review.format_review_queue(review.review_queue(_engine(), args.round, status), args.show_nik))


def cmd_audit_export(args: argparse.Namespace) -> None:
    from dtks import audit_export

    path, sha = audit_export.write_audit_export(_engine(), args.round_id, Path(args.out) if args.out else None)
    print(f"{path}  sha256 {sha}")


def cmd_landing(args: argparse.Namespace) -> None:
    from dtks import landing
    from dtks.config import settings

    conf = settings()
    report = landing.landing_report(
        _engine(), Path(args.landing) if args.landing else conf.landing_dir, conf.outbox_dir, args.days
    )
    print(landing.format_landing(report, args.show_names))


def build_parser() -> argparse.ArgumentParser:
    parser = cli_input.OneLineParser(prog="dtks", description="DTKS update rounds: ingest, check, merge, measure.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("init", help="migrate the warehouse, load reference codes, prepare Airflow").set_defaults(
        func=cmd_init
    )
    sub.add_parser("warehouse-url", help="print the warehouse URL in use").set_defaults(func=cmd_warehouse_url)
    sub.add_parser("stop", help="stop the embedded PostgreSQL warehouse").set_defaults(func=cmd_stop)

    ref = sub.add_parser("reference", help="Kemendagri region codes").add_subparsers(dest="action", required=True)
    load = ref.add_parser("load", help="load (or reload) an edition from include/reference/<edition>/")
    load.add_argument("--edition", default="idn-area-data-4.0.1")
    load.add_argument("--force", action="store_true", help="load even if older than the current edition")
    load.add_argument("--reason", help="why an older edition is forced (required with --force; recorded)")
    load.set_defaults(func=cmd_reference_load)
    rdiff = ref.add_parser("diff", help="what edition NEW adds, retires and moves compared with OLD (before loading)")
    rdiff.add_argument("old", help="edition name under include/reference/ or a folder path")
    rdiff.add_argument("new", help="edition name under include/reference/ or a folder path")
    rdiff.set_defaults(func=cmd_reference_diff)

    gen = sub.add_parser("generate", help="synthetic baseline registry and district submissions")
    gen.add_argument("out", help="output folder")
    gen.add_argument("--seed", type=int, default=20260801)
    gen.add_argument("--households-per-district", type=int, default=60)
    gen.add_argument("--defect-rate", type=float, default=0.03)
    gen.set_defaults(func=cmd_generate)

    rnd = sub.add_parser("round", help="the round calendar").add_subparsers(dest="action", required=True)
    create = rnd.add_parser(
        "create", help="create a round (default: monthly calendar) and snapshot its expected districts"
    )
    create.add_argument("round_id", type=round_id, help=ROUND_HELP)
    create.set_defaults(creates_round=True)  # the one command whose round need not exist yet

    def dates(p: argparse.ArgumentParser) -> None:
        for option, meaning in (
            ("--opens", "first day files are accepted"),
            ("--cutoff", "last day counted on time"),
            ("--penetapan", "day of the penetapan (determination)"),
        ):
            p.add_argument(option, type=iso_date, metavar="YYYY-MM-DD", help=f"{meaning}: {DATE_HELP}")
        p.add_argument("--grace", type=int, help="days after the cut-off a file still counts for the round (late)")
        p.add_argument("--on-time-grace", type=int, help="days after the cut-off still counted on time (default 0)")

    dates(create)
    create.add_argument("--provinces", help="comma-separated province codes (default: all)")
    create.set_defaults(func=cmd_round_create)
    rnd.add_parser("list", help="list rounds").set_defaults(func=cmd_round_list)
    move = rnd.add_parser("move", help="give an open round new dates (reason recorded)")
    move.add_argument("round_id", type=round_id, help=ROUND_HELP)
    move.add_argument("--reason", required=True)
    dates(move)
    move.set_defaults(func=cmd_round_move)
    rclose = rnd.add_parser("close", help="close a round now: run dtks_close_round for it (metrics, penetapan, report)")
    rclose.add_argument("round_id", type=round_id, help=ROUND_HELP)
    rclose.set_defaults(func=cmd_round_close)
    reopen = rnd.add_parser("reopen", help="reopen a closed round (reason recorded; new dates to accept later files)")
    reopen.add_argument("round_id", type=round_id, help=ROUND_HELP)
    reopen.add_argument("--reason", required=True)
    dates(reopen)
    reopen.set_defaults(func=cmd_round_reopen)
    back = rnd.add_parser("backfill", help="run dtks_close_round again for past rounds, in calendar order")
    back.add_argument("--from", dest="first", type=round_id, help=f"first {ROUND_HELP}")
    back.add_argument("--to", dest="last", type=round_id, help=f"last {ROUND_HELP}")
    back.set_defaults(func=cmd_round_backfill)
    export = rnd.add_parser("export", help="export the calendar for the timetable (every round command does this)")
    export.add_argument("--out", help="file (default: $DTKS_CALENDAR_FILE or var/calendar/rounds.json)")
    export.set_defaults(func=cmd_round_export)
    hist = rnd.add_parser("history", help="every change to the calendar, with reasons")
    hist.add_argument("round_id", nargs="?", type=round_id, help=ROUND_HELP)
    hist.set_defaults(func=cmd_round_history)
    pen = rnd.add_parser("penetapan", help="a round's frozen penetapan snapshot, verified against history")
    pen.add_argument("round_id", type=round_id, help=ROUND_HELP)
    pen.set_defaults(func=cmd_round_penetapan)

    base = sub.add_parser("baseline", help="the registry before the first round").add_subparsers(
        dest="action", required=True
    )
    bl = base.add_parser("load", help="import a baseline registry CSV (once; repeat is a no-op)")
    bl.add_argument("file")
    bl.add_argument(
        "--received-at", type=iso_timestamp, metavar="YYYY-MM-DD[THH:MM]", help=f"{TIMESTAMP_HELP} (default: now)"
    )
    bl.set_defaults(func=cmd_baseline_load)

    ing = sub.add_parser("ingest", help="run the dtks_ingest DAG over the landing folder")
    ing.add_argument("--landing", help="landing folder (default: DTKS_LANDING_DIR)")
    ing.add_argument(
        "--fail-on-rejection",
        action="store_true",
        help=f"exit status {EXIT_REJECTED} when a file was rejected whole (for scripts)",
    )
    ing.add_argument("--json", action="store_true", help="print the outcome as JSON (no progress display)")
    ing.set_defaults(func=cmd_ingest)

    close = sub.add_parser("close-round", help="run the dtks_close_round DAG for a round")
    close.add_argument("round_id", type=round_id, help=ROUND_HELP)
    close.add_argument("--json", action="store_true", help="print the outcome as JSON (no progress display)")
    close.set_defaults(func=cmd_close_round)

    table = sub.add_parser("table", help="print a round's district table")
    table.add_argument("round_id", type=round_id, help=ROUND_HELP)
    table.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="table: for reading (full names, legend); csv / json: for other programs",
    )
    table.set_defaults(func=cmd_table)

    uip = sub.add_parser("ui", help="Airflow's UI with the DAGs and the auditor page on this machine (Ctrl-C stops)")
    uip.add_argument("--port", type=int, default=8080, help="port of the UI (default 8080)")
    uip.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    uip.set_defaults(func=cmd_ui)

    sub.add_parser("demo", help="three demo rounds end to end (what `make demo` runs)").set_defaults(func=cmd_demo)

    lin = sub.add_parser(
        "lineage", help="every version and event of a NIK or KK, with submission, file row, suite, run"
    )
    lin.add_argument("identifier", help="16-digit NIK or KK number")
    lin.set_defaults(func=cmd_lineage)
    aex = sub.add_parser("audit-export", help="a round's audit report: runs, submissions + sha256, checks, outcomes")
    aex.add_argument("round_id", type=round_id, help=ROUND_HELP)
    aex.add_argument("--out", help="file (default: $DTKS_OUT_DIR/<round>/audit_export_<round>.html)")
    aex.set_defaults(func=cmd_audit_export)
    lnd = sub.add_parser("landing", help="what waits in landing, what could not be routed or read, and why")
    lnd.add_argument("--landing", help="landing folder (default: DTKS_LANDING_DIR)")
    lnd.add_argument(
        "--days", type=int, default=30, help="archived-but-not-routed files of the last N days (default 30)"
    )
    lnd.add_argument("--show-names", action="store_true", help="print file names as they are (default: masked)")
    lnd.set_defaults(func=cmd_landing)
    rq = sub.add_parser("review-queue", help="NIKs sent while active in another district (quarantined for review)")
    rq.add_argument("--round", type=round_id, help=f"only this round: {ROUND_HELP}")
    rq.add_argument("--all", action="store_true", help="resolved items too")
    rq.add_argument("--show-nik", action="store_true", help="print NIKs unmasked")
    rq.set_defaults(func=cmd_review_queue)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    airflow_env.configure()  # before anything imports airflow
    args = build_parser().parse_args(argv)
    try:
        # an unknown round is answered from the warehouse before Airflow is imported
        status = cli_input.check_rounds_exist(args, _engine)
        if status is not None:
            return status
        return args.func(args) or 0
    except (LookupError, ValueError, RuntimeError) as exc:
        print(f"dtks: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"dtks: error: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""), file=sys.stderr)
        return 1
    except Exception as exc:
        import sqlalchemy as sa

        if isinstance(exc, sa.exc.OperationalError):
            # the driver's message can be long and multi-line; the first line says what failed
            first = str(exc.orig or exc).strip().splitlines()[0] if str(exc.orig or exc).strip() else type(exc).__name__
            print(
                f"dtks: error: cannot reach the warehouse ({first}); check DTKS_WAREHOUSE_URL or run `dtks init`",
                file=sys.stderr,
            )
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
