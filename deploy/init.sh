#!/usr/bin/env bash
# The airflow-init service: one-shot, idempotent initialisation of the DTKS stack.
# Safe to run again (after an upgrade, a restore or a password rotation):
#   docker compose run --rm airflow-init
set -euo pipefail

uid="${AIRFLOW_UID:-50000}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"  # /opt/dtks/deploy in the image

echo "== shared folders (owned by uid ${uid}, group 0)"
for dir in "$DTKS_LANDING_DIR" "$DTKS_ARCHIVE_DIR" "$DTKS_OUTBOX_DIR" "$DTKS_OUT_DIR" \
           "$(dirname "$DTKS_CALENDAR_FILE")" "${AIRFLOW_HOME:-/opt/airflow}/logs"; do
    mkdir -p "$dir"
    if [ "$(id -u)" = "0" ]; then
        chown "${uid}:0" "$dir"
        chmod 2775 "$dir"
    fi
done

# What `dtks init` does, except that the reference codes are loaded on the first start only
# (see init_warehouse.py). The warehouse is reached through the Airflow connection
# dtks_warehouse (AIRFLOW_CONN_DTKS_WAREHOUSE).
echo "== warehouse: migrations; Kemendagri reference codes on the first start"
python "$here/init_warehouse.py"

echo "== Airflow metadata DB"
airflow db migrate

echo "== pool dtks_warehouse (bounds concurrent merges; created once, later tuned in the UI: Admin > Pools)"
airflow pools get dtks_warehouse >/dev/null 2>&1 || airflow pools set dtks_warehouse "${DTKS_WAREHOUSE_POOL_SLOTS:-4}" "Bounds concurrent merges into the DTKS warehouse"

echo "== warehouse login of the auditor page (member of the read-only role dtks_auditor)"
python "$here/warehouse_roles.py"

echo "== Airflow users (simple auth manager; passwords are set by the airflow-apiserver service)"
echo "   ${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS}"

echo "DTKS stack initialised"
