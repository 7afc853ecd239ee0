"""Publishing a closed round: the report files built from its stored metrics."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from sqlalchemy.engine import Engine

from dtks import metrics, report, rounds
from dtks.config import settings


def publish_round(eng: Engine, round_id: str, out_dir: Path | None = None) -> dict[str, str]:
    """Write out/<round>/district_metrics.csv|xlsx and report.html from stored metrics."""
    out_dir = out_dir or settings().out_dir
    info = asdict(rounds.get_round(eng, round_id))
    paths = report.write_round_outputs(
        out_dir, info,
        metrics.district_table(eng, round_id),
        metrics.province_table(eng, round_id),
        metrics.national_trend(eng, round_id),
    )
    return {k: str(v) for k, v in paths.items()}

