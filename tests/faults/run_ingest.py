"""Child process for the crash tests: one ingest pass, as a DAG run would do it.

Usage: python -m tests.faults.run_ingest RUN_ID
(the warehouse, landing and archive come from DTKS_* environment variables;
DTKS_FAILPOINT, if set, kills this process at that point).
"""

import sys

from dtks import ingest
from dtks.config import settings
from dtks.warehouse import engine


def main(run_id: str) -> None:
    ingest.process_landed(engine(), settings().landing_dir, run_id)


if __name__ == "__main__":
    main(sys.argv[1])
