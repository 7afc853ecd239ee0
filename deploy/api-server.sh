#!/usr/bin/env bash
# The airflow-apiserver service: write the simple auth manager's password file from the
# environment (AIRFLOW_ADMIN_* / AIRFLOW_AUDITOR_*), readable by this user only, then start.
# Rotating a password = change it in .env, then `docker compose up -d airflow-apiserver`.
set -euo pipefail

python - <<'PY'
import json
import os

path = os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
passwords = {
    os.environ.get("AIRFLOW_ADMIN_USER") or "admin": os.environ["AIRFLOW_ADMIN_PASSWORD"],
    os.environ.get("AIRFLOW_AUDITOR_USER") or "auditor": os.environ["AIRFLOW_AUDITOR_PASSWORD"],
}
if not all(passwords.values()):
    raise SystemExit("AIRFLOW_ADMIN_PASSWORD and AIRFLOW_AUDITOR_PASSWORD must not be empty")
os.makedirs(os.path.dirname(path), exist_ok=True)
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w", encoding="utf-8") as f:
    json.dump(passwords, f)
PY

exec airflow api-server "$@"
