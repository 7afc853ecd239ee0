#!/usr/bin/env bash
# The airflow-apiserver service. Users, roles and passwords live in the Airflow metadata DB
# (FAB auth manager), made by airflow-init (deploy/init.sh): this container holds no password
# of the stack's users and no warehouse login but the auditor page's.
set -euo pipefail

exec airflow api-server "$@"
