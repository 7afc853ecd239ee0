"""Large files are streamed: memory stays bounded whatever the file size.

A 2 GB district file must not be loaded whole. Two checks, kept fast:
the parser reads a ~30 MB CSV in a separate process whose peak resident
memory must stay far below the file's size; and staging (parse + COPY into
PostgreSQL in chunks) of a 40,000-row file allocates a few chunks' worth of
memory, not the file's.
"""

from __future__ import annotations

import subprocess
import sys
import tracemalloc

import pytest
import sqlalchemy as sa

from dtks import intake, landed_files, staging
from dtks.schema import CANONICAL_COLUMNS
from tests.ingest import helpers as h

ROW = (
    b"DT35010000001,3501012001150001,3501010403800001,ADI SANTOSO,L,PACITAN,1980-03-04,1,SITI,"
    b"JL. MELATI NO. 1 DUSUN KRAJAN,001,002,3501012001,1,2026-08-05,0,1,1\n"
)

PARSE_AND_MEASURE = """
import resource, sys
from pathlib import Path
from dtks.parsing import open_submission
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rows = sum(1 for _ in open_submission(Path(sys.argv[1])).records())   # encoding scan, header, every row
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(rows, before, after)
"""


def _big_csv(path, rows: int) -> int:
    block = ROW * 5000
    with path.open("wb") as f:
        f.write((",".join(CANONICAL_COLUMNS) + "\n").encode())
        for _ in range(rows // 5000):
            f.write(block)
    return path.stat().st_size


def test_parser_streams_a_large_csv_in_bounded_memory(tmp_path):
    path = tmp_path / "besar.csv"
    size = _big_csv(path, 200_000)
    assert size > 29 * 1024 * 1024
    out = subprocess.run(
        [sys.executable, "-c", PARSE_AND_MEASURE, str(path)], capture_output=True, text=True, check=True, timeout=300
    ).stdout.split()
    rows, before_kb, after_kb = (int(x) for x in out)
    assert rows == 200_000
    # the peak grows by a few MB at most: a fraction of the 30 MB file
    assert (after_kb - before_kb) * 1024 < size / 10, (before_kb, after_kb)


@pytest.mark.postgres
def test_staging_copies_in_chunks_without_holding_the_file(wh, dirs, monkeypatch):
    h.create_round(wh)
    path = h.land_bytes(dirs["landing"], "3501", "besar.csv", b"")
    _big_csv(path, 40_000)
    import os

    os.utime(path, (h.ARRIVAL.timestamp(),) * 2)
    ref = intake.register(wh, landed_files.discover(dirs["landing"])[0], "run-1", dirs["archive"])
    monkeypatch.setattr(staging, "_COPY_CHUNK_ROWS", 2_000)
    tracemalloc.start()
    try:
        result = staging.stage(wh, ref.submission_id, "run-1")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result["status"] == "staged" and result["rows_in"] == 40_000
    # the 6.5 MB file's 40,000 rows held at once would take over 40 MB of Python objects; reading
    # buffers (1 MiB) and a chunk of 2,000 rows stay under 5 MB
    assert peak < 5 * 1024 * 1024, peak
    with wh.connect() as conn:
        assert conn.execute(sa.text("SELECT max(file_row), max(source_line) FROM staging.submission_row")).one() == (
            40_000,
            40_001,
        )
