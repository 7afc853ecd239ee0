"""Seeded, deterministic synthetic data: a baseline registry and district submissions.

`generate()` builds, from the real Kemendagri region codes (idn-area-data),
an existing DTKS registry for the demo districts and then simulates monthly
update rounds: which districts submit, when their files arrive, what the
by-name-by-address lists contain (confirmations, changes, deaths, moves,
births, new households) and which defects districts' exports typically carry.
Every injected defect is listed in ``expected_defects.csv`` so tests and
demos can check that the pipeline quarantines exactly those rows.

This module simulates the rounds (who submits when, which files carry
defects) and writes the data set; the population is drawn in
``dtks.devtools.population`` (from ``dtks.devtools.people``), the defects
in ``dtks.devtools.defects``, the files in ``dtks.devtools.district_files``.
Same arguments give the same bytes: every random choice comes from
``random.Random`` instances seeded from ``seed`` and a purpose string, and
every collection is iterated in a fixed order.

Layout written under ``out_dir``::

    baseline/registry.csv                                 the registry before round 1
    landing/<round>/<kabkota>/dtks_<kabkota>_<round>.csv   one submission file (.xlsx for some districts)
    landing/<round>/<kabkota>/dtks_<kabkota>_<round>.manifest.json
    landing/<round>/<kabkota>/dtks_<kabkota>_<round>_v2.csv (+ .manifest.json): resubmission
    expected_defects.csv                                  round_id,kabkota_code,file,file_row,reason_code
    rounds.json                                           the round calendars used

Each landing file's mtime is set to its simulated arrival (manifest
``submitted_at``), which the pipeline takes as the received time when replaying
(``DTKS_ARRIVAL_FROM_MTIME=1``, set by the demo; production uses ctime).

Districts export the way their tools do (``EXPORT_FORMATS``, one per
district, the same every round): comma CSV in UTF-8 with ISO dates;
semicolon CSV with a UTF-8 BOM and DD-MM-YYYY dates; pipe CSV, all quoted,
in Windows-1252 with SIKS-NG header spellings, sex as 1/2 and DD/MM/YYYY
dates; XLSX with a title row, birth dates as date cells and visit dates as
bare Excel serial numbers. The values are the same in every format, so the
answer key does not depend on it. XLSX files are written by
``dtks.workbook.plain_sheet_xlsx`` (fixed zip times), so the bytes stay deterministic.

Run ``python -m dtks.devtools.generate OUT_DIR [--seed N]`` for the demo data set.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from dtks.config import DEFAULT_REFERENCE_EDITION, REFERENCE_DIR
from dtks.devtools.defects import EXPECTED_DEFECTS_COLUMNS, FILE_DEFECTS, ROW_DEFECTS, DefectInjector
from dtks.devtools.district_files import EXPORT_FORMATS, write_csv, write_json, write_submission
from dtks.devtools.people import WIB, Reference, load_reference, person_values, rand_date
from dtks.devtools.population import Population
from dtks.rounds import Round, default_round
from dtks.schema import CANONICAL_COLUMNS

# DKI Jakarta, Jawa Timur, NTB, NTT, Sulawesi Selatan: exactly 100 kab/kota.
DEMO_PROVINCES: tuple[str, ...] = ("31", "35", "52", "53", "73")
DEMO_ROUNDS: tuple[str, ...] = ("2026-08", "2026-09", "2026-10")

DEFAULT_REFERENCE_PATH = REFERENCE_DIR / DEFAULT_REFERENCE_EDITION

_NEVER_SUBMIT_SHARE = 0.08
_SKIP_PROBABILITY = {"stale": 0.5, "partial": 0.06, "active": 0.02}
_LATE_PROBABILITY = {"stale": 0.25, "partial": 0.15, "active": 0.10}
_ROW_DEFECT_FILE_SHARE = 0.40


# --------------------------------------------------------------------------- public types
def _calendar_entry(cal: Round) -> dict[str, Any]:
    """One round as written to ``rounds.json``: the fields the generator used to draw arrivals."""
    return {
        "round_id": cal.round_id,
        "opens_on": cal.opens_on.isoformat(),
        "cutoff_on": cal.cutoff_on.isoformat(),
        "grace_days": cal.grace_days,
    }


@dataclass
class GenerationSummary:
    baseline_rows: int
    submissions: int  # data files written under landing/ (resubmissions and broken files included)
    defect_rows: int  # rows of expected_defects.csv
    districts: int
    paths: dict[str, str] = field(default_factory=dict)


class _Generator(DefectInjector, Population):
    def __init__(self, seed: int, ref: Reference, households_per_district: int, defect_rate: float):
        super().__init__(seed, ref, households_per_district)
        self.defect_rate = defect_rate
        self.defect_counts = dict.fromkeys(ROW_DEFECTS, 0)
        self.expected: list[tuple[str, str, str, int, str]] = []
        self.submissions = 0

    def export_format(self, code: str) -> str:
        """How a district exports (its own random stream: the other choices are unchanged)."""
        names = [name for name, _ in EXPORT_FORMATS]
        return self.rng("format", code).choices(names, weights=[w for _, w in EXPORT_FORMATS])[0]

    def write_baseline(self, path: Path) -> int:
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = []
        for code in sorted(self.districts):
            for h in self.districts[code].households:
                for p in h.members:
                    values = person_values(p, h)
                    rows.append([values[c] for c in CANONICAL_COLUMNS])
        write_csv(path, CANONICAL_COLUMNS, rows)
        return len(rows)

    # -- rounds -------------------------------------------------------------------

    def run_rounds(self, calendars: list[Round], landing: Path) -> None:
        codes = sorted(self.districts)
        rng = self.rng("never")
        stale = [c for c in codes if self.districts[c].behaviour == "stale"]
        partial = [c for c in codes if self.districts[c].behaviour == "partial"]
        n_never = max(1, round(len(codes) * _NEVER_SUBMIT_SHARE)) if len(codes) >= 3 else 0
        from_stale = min(len(stale), -(-n_never * 6 // 10))
        never = set(rng.sample(stale, from_stale))
        never |= set(rng.sample(partial, min(len(partial), n_never - from_stale)))
        file_defect_cycle = 0

        for cal in calendars:
            rng = self.rng("round", cal.round_id)
            submitters: list[str] = []
            for code in codes:
                skip = rng.random() < _SKIP_PROBABILITY[self.districts[code].behaviour]
                if code not in never and not skip:
                    submitters.append(code)
            arrivals: dict[str, datetime] = {}
            for code in submitters:
                late = rng.random() < _LATE_PROBABILITY[self.districts[code].behaviour]
                if late and cal.grace_days > 0:
                    day = cal.cutoff_on + timedelta(days=rng.randint(1, cal.grace_days))
                else:
                    day = rand_date(rng, cal.opens_on, cal.cutoff_on)
                arrivals[code] = datetime.combine(
                    day, time(rng.randint(7, 21), rng.randint(0, 59), rng.randint(0, 59)), WIB
                )

            # Whole-file defects: a few per round, the three kinds in turn.
            n_file_defects = min(len(submitters) // 4, rng.randint(2, 3))
            file_defects = {}
            for code in rng.sample(submitters, n_file_defects):
                file_defects[code] = FILE_DEFECTS[file_defect_cycle % len(FILE_DEFECTS)]
                file_defect_cycle += 1
            row_defect_files = {
                c for c in submitters if c not in file_defects and rng.random() < _ROW_DEFECT_FILE_SHARE
            }
            resubmit = {
                c
                for c in submitters
                if (c in file_defects and rng.random() < 0.6) or (c in row_defect_files and rng.random() < 0.07)
            }

            # People of districts that do not submit this round: their records stay put.
            quiet = [c for c in codes if c not in arrivals]
            pool = [(p, h) for c in quiet for h in self.districts[c].households for p in h.active_members()]
            used_pool: set[str] = set()

            for code in submitters:
                district = self.districts[code]
                drng = self.rng("submission", cal.round_id, code)
                arrival = arrivals[code]
                rows = self.build_update(drng, district, cal, arrival)
                folder = landing / cal.round_id / code
                folder.mkdir(parents=True, exist_ok=True)
                stem = f"dtks_{code}_{cal.round_id}"
                export = self.export_format(code)
                ext = ".xlsx" if export.startswith("xlsx") and code not in file_defects else ".csv"
                title = f"DATA PEMUTAKHIRAN DTKS {code} PUTARAN {cal.round_id}"
                manifest = {
                    "round_id": cal.round_id,
                    "kabkota_code": code,
                    "file": f"{stem}{ext}",
                    "musdes_ref": f"BA-MUSDES/{code}/{cal.round_id}/{drng.randint(1, 250):03d}",
                    "pengesahan_no": f"400.9/{drng.randint(10, 999)}/KPTS/{code}/{cal.opens_on.year}",
                    "pengesahan_date": (arrival.date() - timedelta(days=drng.randint(1, 5))).isoformat(),
                    "submitted_at": arrival.isoformat(),
                }
                data_path = folder / manifest["file"]
                defective: set[int] = set()
                rejected = False
                if code in file_defects:
                    kind = file_defects[code]
                    rejected = True
                    if kind == "file_empty":
                        data_path.write_bytes(b"")
                    elif kind == "file_unreadable":
                        blob = drng.randbytes(drng.randint(600, 3000))
                        data_path.write_bytes(b"\x00\x81\xfe\xff" + blob)
                    else:  # file_missing_columns
                        header = [c for c in CANONICAL_COLUMNS if c != "nik"]
                        write_csv(data_path, header, ([r.values[c] for c in header] for r in rows))
                    self.expected.append((cal.round_id, code, data_path.name, 0, kind))
                else:
                    if code in row_defect_files:
                        n_events = max(1, round(self.defect_rate * len(rows) * drng.uniform(0.6, 1.4)))
                        file_rows, defective = self.inject(drng, district, rows, arrival, n_events, pool, used_pool)
                    else:
                        file_rows = [(r.values, None) for r in rows]
                    write_submission(data_path, [v for v, _ in file_rows], export, title)
                    for number, (_, reason) in enumerate(file_rows, start=1):
                        if reason:
                            self.expected.append((cal.round_id, code, data_path.name, number, reason))
                self._finish_file(folder, data_path, manifest, arrival)

                if code in resubmit:  # a corrected file a few days later: the intended rows, clean
                    arrival2 = arrival + timedelta(days=drng.randint(1, 4), hours=drng.randint(0, 6))
                    # still within the round (before the end of its last grace day, WIB)
                    closes = datetime.combine(cal.cutoff_on + timedelta(days=cal.grace_days + 1), time(0), WIB)
                    arrival2 = min(arrival2, closes - timedelta(minutes=30))
                    ext2 = ".xlsx" if export.startswith("xlsx") else ".csv"
                    manifest2 = dict(manifest, file=f"{stem}_v2{ext2}", submitted_at=arrival2.isoformat())
                    data2 = folder / manifest2["file"]
                    write_submission(data2, [r.values for r in rows], export, title)
                    self._finish_file(folder, data2, manifest2, arrival2)
                    self.apply(district, rows, set())
                elif not rejected:
                    self.apply(district, rows, defective)

    def _finish_file(self, folder: Path, data_path: Path, manifest: dict[str, Any], arrival: datetime) -> None:
        manifest_path = folder / f"{data_path.stem}.manifest.json"
        write_json(manifest_path, manifest)
        stamp = arrival.timestamp()
        os.utime(data_path, (stamp, stamp))
        os.utime(manifest_path, (stamp, stamp))
        self.submissions += 1


# --------------------------------------------------------------------------- entry point


def generate(
    out_dir: Path,
    seed: int = 20260801,
    provinces: Sequence[str] = DEMO_PROVINCES,
    rounds: Sequence[str | Round] = DEMO_ROUNDS,
    households_per_district: int = 60,
    defect_rate: float = 0.03,
    reference_dir: Path = DEFAULT_REFERENCE_PATH,
) -> GenerationSummary:
    """Write the baseline registry, the landing files of every round and the answer key."""
    out_dir = Path(out_dir)
    calendars = [r if isinstance(r, Round) else default_round(r) for r in rounds]
    ref = load_reference(Path(reference_dir), provinces)
    gen = _Generator(seed, ref, households_per_district, defect_rate)

    baseline_path = out_dir / "baseline" / "registry.csv"
    landing = out_dir / "landing"
    for cal in calendars:  # re-runs overwrite: clear what this run writes
        if (landing / cal.round_id).exists():
            shutil.rmtree(landing / cal.round_id)
    landing.mkdir(parents=True, exist_ok=True)

    gen.build_baseline()
    baseline_rows = gen.write_baseline(baseline_path)
    gen.run_rounds(calendars, landing)

    expected_path = out_dir / "expected_defects.csv"
    write_csv(
        expected_path,
        EXPECTED_DEFECTS_COLUMNS,
        ([r, k, f, str(n), reason] for r, k, f, n, reason in sorted(gen.expected)),
    )
    rounds_path = out_dir / "rounds.json"
    write_json(rounds_path, [_calendar_entry(cal) for cal in calendars])

    return GenerationSummary(
        baseline_rows=baseline_rows,
        submissions=gen.submissions,
        defect_rows=len(gen.expected),
        districts=len(gen.districts),
        paths={
            "baseline": str(baseline_path),
            "landing": str(landing),
            "expected_defects": str(expected_path),
            "rounds": str(rounds_path),
        },
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the synthetic DTKS demo data set.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=20260801)
    parser.add_argument("--households-per-district", type=int, default=60)
    parser.add_argument("--defect-rate", type=float, default=0.03)
    args = parser.parse_args(argv)
    summary = generate(
        args.out_dir, seed=args.seed, households_per_district=args.households_per_district, defect_rate=args.defect_rate
    )
    print(
        json.dumps(
            {
                "baseline_rows": summary.baseline_rows,
                "submissions": summary.submissions,
                "defect_rows": summary.defect_rows,
                "districts": summary.districts,
                "paths": summary.paths,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
