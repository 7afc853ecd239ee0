"""The benchmark's synthetic national round: a baseline registry and one round of district files.

Sizes are skewed log-normally like real districts; each round file re-sends
every person of its district's baseline (85 % confirmations, 10 % changes,
2 % deaths) plus 3 % newborns, and 1 % of the rows carry an error a district
really sends. ``round_subset`` cuts a smaller round out of the same files
(whole district files), for the scaling mode.
"""

from __future__ import annotations

import csv
import os
import random
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from dtks.config import DEFAULT_REFERENCE_EDITION, REFERENCE_DIR
from dtks.schema import CANONICAL_COLUMNS

WIB = timezone(timedelta(hours=7))
BENCH_ROUND = "2026-11"
BASELINE_AT = datetime(2026, 10, 31, 9, 0, tzinfo=WIB)
ROUND_ARRIVAL = datetime(2026, 11, 10, 9, 0, tzinfo=WIB)
# Share of a round's rows with an error a district really sends (quarantined, not merged): the checks
# then also find, record and quarantine failing rows, as in a real round.
DEFECT_SHARE = 0.01


def _district_sizes(kabkota: list[str], total: int, rng: random.Random) -> dict[str, int]:
    """Skewed like real districts: a few metropolitan giants, many small kabupaten."""
    weights = [rng.lognormvariate(0, 0.9) for _ in kabkota]
    scale = total / sum(weights)
    sizes = {k: max(4, int(w * scale)) for k, w in zip(kabkota, weights, strict=False)}
    # make the total exact, in whole households of 4 where possible
    diff = total - sum(sizes.values())
    biggest = max(sizes, key=lambda k: sizes[k])
    sizes[biggest] += diff
    return sizes


def _villages_by_district(reference: Path) -> dict[str, list[str]]:
    villages: dict[str, list[str]] = {}
    with (reference / "villages.csv").open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            code = row["code"].replace(".", "")
            villages.setdefault(code[:4], []).append(code)
    return villages


def district_file(landing: Path, district: str) -> Path:
    return landing / BENCH_ROUND / district / f"dtks_{district}_{BENCH_ROUND}.csv"


def planned_sizes(total_rows: int, seed: int = 514, districts: int | None = None) -> dict[str, int]:
    """The baseline persons per district ``generate_national`` will write, known before writing them."""
    kabkota = sorted(_villages_by_district(REFERENCE_DIR / DEFAULT_REFERENCE_EDITION))[:districts]
    return _district_sizes(kabkota, int(total_rows / 1.03), random.Random(seed))


def draw_districts(sizes: dict[str, int], rows: int, seed: int = 15) -> list[str]:
    """Whole districts drawn at random until their rows reach ``rows`` (every district if they never do)."""
    order = sorted(sizes)
    if rows >= 0.999 * sum(sizes.values()):  # (5,000,000 asked: the whole round of 5,000,005 rows)
        return order
    random.Random(seed).shuffle(order)
    chosen, total = [], 0
    for district in order:
        if total >= rows:
            break
        chosen.append(district)
        total += sizes[district]
    return chosen


def generate_national(
    folder: Path, total_rows: int, seed: int = 514, districts: int | None = None, round_for: set[str] | None = None
) -> dict[str, Any]:
    """Baseline registry + one round's district files, streamed to disk.

    Each round file re-sends every person of the district's baseline: 85%
    unchanged (confirmed), 10% with a changed programme flag, 2% deceased, and
    3% new people on top; 1% of the rows carry an error (a NIK short of a
    digit, an unknown status code) and are quarantined. ``districts`` keeps
    the first N kab/kota in code order. ``round_for``: write round files only
    for these districts (the baseline is the same either way: a large
    registry with a small round).
    """
    rng = random.Random(seed)
    villages = _villages_by_district(REFERENCE_DIR / DEFAULT_REFERENCE_EDITION)
    kabkota = sorted(villages)[:districts]  # all 514, or the first N (smaller rounds for tests)
    sizes = _district_sizes(kabkota, int(total_rows / 1.03), rng)
    baseline_path = folder / "baseline.csv"
    landing = folder / "landing"
    if folder.exists():
        shutil.rmtree(folder)
    (landing / BENCH_ROUND).mkdir(parents=True)
    header = ",".join(CANONICAL_COLUMNS) + "\n"
    start_birth = date(1940, 1, 1)
    counters: dict[str, int] = {}
    kk_counters: dict[str, int] = {}
    round_sizes: dict[str, int] = {}

    def person_line(
        kec: str, village: str, kk: str, relation: str, verified: str, status: str = "1", pbi: str = "0"
    ) -> tuple[str, str]:
        c = counters.get(kec, 0)
        counters[kec] = c + 1
        born = start_birth + timedelta(days=c % 25_000)
        female = c % 2 == 1
        day = born.day + (40 if female else 0)
        nik = f"{kec}{day:02d}{born.month:02d}{born.year % 100:02d}{c // 25_000 + 1:04d}"
        line = (
            f"DT{nik[-10:]},{kk},{nik},WARGA {c},{'P' if female else 'L'},KOTA,{born.isoformat()},{relation},"
            f"IBU {c},JL. NUSANTARA {c % 97},00{c % 9 + 1},00{c % 7 + 1},{village},{status},{verified},0,1,{pbi}\n"
        )
        return nik, line

    with baseline_path.open("w", encoding="utf-8", newline="") as base:
        base.write(header)
        for district in kabkota:
            size = sizes[district]
            dvillages = villages[district]
            written_round = round_for is None or district in round_for
            path = district_file(landing, district)
            if written_round:
                path.parent.mkdir(parents=True)
            # (a district without a round file still draws the same numbers: the baseline is the same)
            with path.open("w", encoding="utf-8", newline="") if written_round else open(os.devnull, "w") as sub:
                sub.write(header)
                written = rows = household = 0
                while written < size:
                    village = dvillages[household % len(dvillages)]
                    kec = village[:6]
                    k = kk_counters.get(kec, 0)
                    kk_counters[kec] = k + 1
                    issued = date(2010, 1, 1) + timedelta(days=k % 5000)
                    kk = f"{kec}{issued:%d%m%y}{k // 5000 + 1:04d}"
                    members = min(4, size - written)
                    for m in range(members):
                        relation = "1" if m == 0 else ("2" if m == 1 else "3")
                        nik, line = person_line(kec, village, kk, relation, "2024-05-06")
                        base.write(line)
                        roll = rng.random()
                        if roll < 0.10:
                            line = line.rsplit(",", 1)[0] + ",1\n"  # PBI flag changed
                        elif roll < 0.12 and relation != "1":
                            line = line.replace(",1,2024-05-06,", ",3,2024-05-06,")  # deceased
                        line = line.replace("2024-05-06", "2026-11-05")
                        roll = rng.random()
                        if roll < DEFECT_SHARE / 2:  # a NIK that lost a digit (quarantined)
                            line = line.replace(f",{nik},", f",{nik[:-1]},", 1)
                        elif roll < DEFECT_SHARE:  # a status code that does not exist
                            line = line.replace(",1,2026-11-05,", ",7,2026-11-05,", 1)
                        sub.write(line)
                        rows += 1
                    if rng.random() < 0.12:  # a newborn in ~12% of households: ~3% new rows
                        _, line = person_line(kec, village, kk, "3", "2026-11-05")
                        sub.write(line)
                        rows += 1
                    written += members
                    household += 1
            if written_round:
                os.utime(path, (ROUND_ARRIVAL.timestamp(), ROUND_ARRIVAL.timestamp()))
                round_sizes[district] = rows
    return {
        "baseline": baseline_path,
        "landing": landing,
        "baseline_rows": sum(sizes.values()),
        "round_rows": sum(round_sizes.values()),
        "districts": len(round_sizes),
        "sizes": sizes,
        "round_sizes": round_sizes,
    }


def round_subset(
    data: dict[str, Any],
    rows: int,
    folder: Path,
    seed: int = 15,
    exclude: set[str] | None = None,
    only: list[str] | None = None,
) -> dict[str, Any]:
    """A round of about ``rows`` rows: whole district files of ``data`` (other than ``exclude``; or exactly
    ``only``), drawn at random, hard-linked into a landing folder of their own (same bytes, same arrival
    time; registering one removes only its link). Every district when ``rows`` reaches the whole round."""
    pool = {d: n for d, n in data["round_sizes"].items() if d not in (exclude or set())}
    chosen = list(only) if only is not None else draw_districts(pool, rows, seed)
    total = sum(data["round_sizes"][d] for d in chosen)
    if folder.exists():
        shutil.rmtree(folder)
    for district in chosen:
        target = district_file(folder, district)
        target.parent.mkdir(parents=True)
        os.link(district_file(data["landing"], district), target)
    return {
        **data,
        "landing": folder,
        "round_rows": total,
        "districts": len(chosen),
        "round_sizes": {d: data["round_sizes"][d] for d in chosen},
    }


def registry_subset(data: dict[str, Any], districts: list[str], persons: int, folder: Path) -> dict[str, Any]:
    """A smaller registry of the same people: the baseline's persons of ``districts``, then of further
    districts in code order until about ``persons``. A round of those districts' files then meets the
    same records in a smaller registry (the same files, the same work, only the registry differs)."""
    keep = set(districts)
    total = sum(data["sizes"][d] for d in keep)
    for district in sorted(data["sizes"]):
        if total >= persons:
            break
        if district not in keep:
            keep.add(district)
            total += data["sizes"][district]
    folder.mkdir(parents=True, exist_ok=True)
    path, written = folder / "baseline.csv", 0
    with Path(data["baseline"]).open(encoding="utf-8") as source, path.open("w", encoding="utf-8") as target:
        header = source.readline()
        target.write(header)
        village = header.rstrip("\n").split(",").index("kode_desa")  # (the generator writes no quoted commas)
        for line in source:
            if line.split(",", village + 1)[village][:4] in keep:
                target.write(line)
                written += 1
    return {**data, "baseline": path, "baseline_rows": written}


def national_round(
    folder: Path, total_rows: int, districts: int | None = None, round_for: set[str] | None = None
) -> dict[str, Any]:
    """``generate_national`` into ``folder``, or the files already there when they were generated with the
    same arguments and are all present (a full-size round takes a minute to write)."""
    import json

    meta_path = folder / "generated.json"
    wanted = {"total_rows": total_rows, "districts": districts, "round_for": sorted(round_for or []) or None}
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta["arguments"] == wanted and all(
            district_file(folder / "landing", d).exists() for d in meta["round_sizes"]
        ):
            return {
                **meta["data"],
                "baseline": Path(meta["data"]["baseline"]),
                "landing": Path(meta["data"]["landing"]),
                "round_sizes": meta["round_sizes"],
            }
    data = generate_national(folder, total_rows, districts=districts, round_for=round_for)
    meta_path.write_text(
        json.dumps(
            {
                "arguments": wanted,
                "round_sizes": data["round_sizes"],
                "data": {k: str(v) if isinstance(v, Path) else v for k, v in data.items() if k != "round_sizes"},
            }
        )
    )
    return data
