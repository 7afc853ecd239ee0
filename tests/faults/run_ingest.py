"""Child process for the crash tests: one ingest pass, as a DAG run would do it.

Usage: python -m tests.faults.run_ingest RUN_ID
(the warehouse, landing and archive come from DTKS_* environment variables;
DTKS_FAILPOINT, if set, kills this process at that point).
"""

import sys

from dtks import ingest, intake, merging, staging
from dtks.warehouse import engine


def main(run_id: str) -> None:
    eng = engine()
    submissions = intake.register_landing(run_id)
    for s in submissions:
        staging.stage(eng, s["submission_id"], run_id)
    ingest.validate(eng, [s["submission_id"] for s in submissions], run_id)
    for s in submissions:
        merging.merge(eng, s["submission_id"], run_id)


if __name__ == "__main__":
    main(sys.argv[1])
