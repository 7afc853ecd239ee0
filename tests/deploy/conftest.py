"""tests/deploy: Airflow imported in this process logs at WARNING, as under `dtks` (airflow_env).

At INFO, Airflow's logging setup would also pass the embedded server's exit messages
(written after pytest closed its capture) to a closed stream.
"""

import os

os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
