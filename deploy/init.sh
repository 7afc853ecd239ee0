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

echo "== warehouse logins: the pipeline's (no superuser) and the auditor page's (read-only, masked)"
python "$here/warehouse_roles.py"

# FAB auth manager: users and roles in the metadata DB. The auditor page is allowed to Admin and to
# the role named by DTKS_AUDITOR_AIRFLOW_ROLE; the auditor user is a Viewer with that role.
# Idempotent: an existing user gets the password from .env again (rotation = change .env, rerun).
echo "== Airflow users and roles (FAB auth manager)"
auditor_role="${DTKS_AUDITOR_AIRFLOW_ROLE:-DTKS Auditor}"
airflow roles create "$auditor_role" >/dev/null
ensure_user() {  # user role password
    if airflow users list --output plain | awk '{print $2}' | grep -qx "$1"; then
        airflow users reset-password --username "$1" --password="$3" >/dev/null
    else
        airflow users create --username "$1" --role "$2" --password="$3" --firstname "$1" --lastname DTKS --email "$1@dtks.invalid" >/dev/null
    fi
}
ensure_user "${AIRFLOW_ADMIN_USER:-admin}" Admin "$AIRFLOW_ADMIN_PASSWORD"
ensure_user "${AIRFLOW_AUDITOR_USER:-auditor}" Viewer "$AIRFLOW_AUDITOR_PASSWORD"
airflow users add-role --username "${AIRFLOW_AUDITOR_USER:-auditor}" --role "$auditor_role" >/dev/null 2>&1 || true
echo "   ${AIRFLOW_ADMIN_USER:-admin} (Admin), ${AIRFLOW_AUDITOR_USER:-auditor} (Viewer, $auditor_role)"

echo "DTKS stack initialised"
