"""The container's hostname for Airflow's ``[core] hostname_callable`` in tests/deploy.

In the compose stack every worker is a container with a hostname of its own, and Airflow
records it on each task instance. Test workers share this machine's name, so the harness
gives each process the ``HOSTNAME`` docker would and points hostname_callable here.
"""

import os


def container_hostname() -> str:
    return os.environ["HOSTNAME"]
