"""Every long-running service of the production stack has a memory limit (issue 13 item 5).

A hostile upload that slips past the file checks, or a runaway task, is
then killed inside its container instead of taking the host (and the
warehouse with it).
"""

import yaml

from dtks.config import PROJECT_ROOT


def test_every_service_has_a_memory_limit():
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"airflow-worker", "warehouse-db", "airflow-scheduler", "airflow-apiserver"} <= set(services)
    for name, service in services.items():
        limit = service.get("mem_limit") or (
            ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}
        ).get("memory")
        assert limit, f"service {name} has no memory limit"
        assert limit.rsplit(":-", 1)[-1].rstrip("}").rstrip('"')[-1] in "mg", limit
