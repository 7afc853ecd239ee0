"""A test edition derived from the shipped one, in which Kabupaten Pacitan is split (pemekaran).

New district 35.30 "Kabupaten Pacitan Barat" takes over two of Pacitan's
kecamatan with their villages, under new codes: Donorojo 35.01.01 → 35.30.01
(12 villages) and Pringkuku 35.01.02 → 35.30.02 (13 villages); each village
keeps its last four digits (35.01.01.2001 Widoro → 35.30.01.2001). The
edition takes effect on 1 September 2026 and lists the 2 + 25 retired codes
with their successors in successors.csv. Everything else is the shipped
edition, unchanged.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from dtks.config import DEFAULT_REFERENCE_EDITION, REFERENCE_DIR

NAME = "idn-area-data-4.0.1-pacitan-split"
EFFECTIVE_ON = "2026-09-01"
PARENT, NEW = "3501", "3530"
NEW_NAME = "Kabupaten Pacitan Barat"
MOVED_KECAMATAN = {"35.01.01": "35.30.01", "35.01.02": "35.30.02"}  # Donorojo, Pringkuku
MOVED_VILLAGES = 25


def _recode(code: str) -> str:
    """35.01.01.2001 → 35.30.01.2001 for the moved kecamatan; other codes unchanged."""
    for old, new in MOVED_KECAMATAN.items():
        if code == old or code.startswith(old + "."):
            return new + code[len(old) :]
    return code


def build(target_dir: Path) -> Path:
    """Write the edition folder under ``target_dir`` (a reference dir of its own); return the folder."""
    source = REFERENCE_DIR / DEFAULT_REFERENCE_EDITION
    folder = target_dir / NAME
    folder.mkdir(parents=True)
    shutil.copy(source / "provinces.csv", folder / "provinces.csv")
    with (source / "regencies.csv").open(newline="", encoding="utf-8") as f:
        regencies = list(csv.reader(f))
    regencies.insert(next(i for i, r in enumerate(regencies) if r[0] == "35.71"), ["35.30", "35", NEW_NAME])
    successors = []
    districts = _rewrite(source / "districts.csv", folder / "districts.csv", successors)
    villages = _rewrite(source / "villages.csv", folder / "villages.csv", successors)
    with (folder / "regencies.csv").open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(regencies)
    with (folder / "successors.csv").open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows([["code", "successor_code"], *successors])
    (folder / "edition.json").write_text(
        json.dumps(
            {
                "edition": NAME,
                "effective_on": EFFECTIVE_ON,
                "note": "test edition: Kabupaten Pacitan split, Kabupaten Pacitan Barat created",
            }
        ),
        encoding="utf-8",
    )
    assert districts == 2 and villages == MOVED_VILLAGES
    return folder


def _rewrite(src: Path, dst: Path, successors: list) -> int:
    """Copy a CSV (code, parent code, name), re-coding the moved rows; how many moved."""
    moved = 0
    with src.open(newline="", encoding="utf-8") as f, dst.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        for i, row in enumerate(csv.reader(f)):
            if i and _recode(row[0]) != row[0]:
                successors.append([row[0], _recode(row[0])])
                row = [_recode(row[0]), _recode(row[0]).rsplit(".", 1)[0], *row[2:]]
                moved += 1
            writer.writerow(row)
    return moved
