"""docker-compose.yml against the code: it parses, and every image, command, variable and path exists.

No Docker engine here: the file is read with PyYAML and interpolated the way docker
compose does, with the .env that `make stack-env` would write.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path, PurePosixPath

import pytest
import yaml

from tests.deploy import stack_files as sf

AIRFLOW_COMPONENTS = [
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
]
ONE_SHOT = "airflow-init"
EXAMPLE_CONTAINER_DIRS = {"DTKS_LANDING_DIR", "DTKS_ARCHIVE_DIR", "DTKS_OUTBOX_DIR", "DTKS_OUT_DIR"}


@pytest.fixture(scope="module")
def dotenv() -> dict[str, str]:
    """The .env `make stack-env` writes: .env.example with fresh secrets."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_env", sf.ROOT / "deploy" / "make_env.py")
    make_env = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_env)
    text = make_env.render(sf.ENV_EXAMPLE.read_text(encoding="utf-8"), uid=1000)
    return {m.group(1): m.group(2) for m in re.finditer(r"^([A-Z][A-Z0-9_]*)=(.*)$", text, re.M)}


@pytest.fixture(scope="module")
def stack(dotenv) -> dict:
    return sf.compose(dotenv)


@pytest.fixture(scope="module")
def services(stack) -> dict:
    return stack["services"]


def airflow_services(services) -> dict:
    """Every service running the DTKS image (build: .)."""
    return {name: s for name, s in services.items() if s.get("build")}


@pytest.fixture(scope="module")
def plugin_module():
    from tests.audit.conftest import load_plugin_module

    return load_plugin_module()


@pytest.fixture(scope="module")
def airflow_parser():
    from airflow.cli import cli_parser

    return cli_parser.get_parser()


@pytest.fixture(scope="module")
def dtks_parser():
    from dtks.cli import build_parser

    return build_parser()


def parses(parser: argparse.ArgumentParser, argv: list[str]) -> bool:
    try:
        parser.parse_args(argv)
    except SystemExit as exc:  # --help exits 0; a bad command exits 2
        return exc.code == 0
    return True


# ---------------------------------------------------------------------- structure
def test_compose_parses_with_the_documented_environment(stack, dotenv):
    assert set(stack) >= {"services", "volumes"}
    used = sf.variables(sf.compose_raw())
    undocumented = used - set(sf.env_example())
    assert not undocumented, f"variables used by docker-compose.yml but not in .env.example: {sorted(undocumented)}"


def test_secrets_have_no_default_and_none_is_committed(dotenv):
    raw = sf.compose_raw()
    required = sf.required_variables(raw)
    secret_like = {v for v in sf.variables(raw) if re.search(r"PASSWORD|SECRET|FERNET", v)}
    assert secret_like and secret_like <= required, f"secrets with a default: {sorted(secret_like - required)}"
    example = sf.env_example()
    assert all(example[name] == "" for name in secret_like), "a secret value is committed in .env.example"
    # ...and compose refuses to start without them.
    with pytest.raises(sf.MissingVariable):
        sf.compose({k: v for k, v in dotenv.items() if k not in secret_like})
    # make_env fills them: valid Fernet key, JWT secret long enough for HS512, URL-safe passwords.
    from cryptography.fernet import Fernet

    Fernet(dotenv["AIRFLOW_FERNET_KEY"].encode())
    assert len(dotenv["AIRFLOW_JWT_SECRET"]) >= 64
    for name in secret_like:
        if name.endswith("PASSWORD"):
            assert re.fullmatch(r"[0-9a-f]{32,}", dotenv[name]), name


def test_all_components_are_there(services):
    assert {"airflow-db", "warehouse-db", "redis", ONE_SHOT, *AIRFLOW_COMPONENTS} <= set(services)
    ours = airflow_services(services)
    assert set(AIRFLOW_COMPONENTS) | {ONE_SHOT} <= set(ours)
    images = {s["image"] for s in ours.values()}
    assert len(images) == 1, "every Airflow service runs the same image"
    for name, svc in ours.items():
        assert (
            sf.ROOT / svc["build"]["context"] / svc["build"].get("dockerfile", "Dockerfile")
        ).resolve() == sf.DOCKERFILE, name
    # The metadata DB and the warehouse are separate servers with their own volumes.
    assert sf.volume_targets(services["airflow-db"]) != {} and sf.volume_targets(services["warehouse-db"]) != {}
    assert set(sf.volume_targets(services["airflow-db"]).values()).isdisjoint(
        sf.volume_targets(services["warehouse-db"]).values()
    )


def test_worker_scales_out(services):
    worker = services["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker
    assert [s for s, svc in services.items() if "ports" in svc] == ["airflow-apiserver"]


def test_healthchecks_and_start_order(services):
    for name, svc in services.items():
        if name == ONE_SHOT or "cli" in (svc.get("profiles") or []):
            assert svc.get("restart") == "no", name
            continue
        assert sf.healthcheck_argv(svc), f"{name} has no healthcheck"
    for name, svc in services.items():
        for dep, spec in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            condition = spec["condition"]
            assert condition in ("service_healthy", "service_completed_successfully"), (name, dep)
            if condition == "service_healthy":
                assert sf.healthcheck_argv(services[dep]), f"{name} waits for {dep}'s health, which has no check"
            else:
                assert services[dep].get("restart") == "no", f"{dep} is waited for as one-shot but restarts"
    for name in AIRFLOW_COMPONENTS:
        deps = services[name]["depends_on"]
        assert deps[ONE_SHOT]["condition"] == "service_completed_successfully", name
        assert {"airflow-db", "redis"} <= set(deps), name
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"


# ---------------------------------------------------------------------- Airflow configuration
def test_every_airflow_setting_is_a_real_option_and_the_executor_is_celery(services):
    from airflow.configuration import conf

    described = conf.configuration_description
    for name, svc in airflow_services(services).items():
        env = sf.service_env(svc)
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert (
            env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
            and "@redis:6379" in env["AIRFLOW__CELERY__BROKER_URL"]
        )
        assert "@airflow-db:5432/airflow" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        for key in env:
            m = re.fullmatch(r"AIRFLOW__([A-Z0-9_]+?)__([A-Z0-9_]+)", key)
            if not m:
                continue
            section, option = m.group(1).lower(), m.group(2).lower()
            if section.startswith("celery"):  # the Celery provider's options (deploy/requirements-celery.txt)
                from airflow.providers.celery.get_provider_info import get_provider_info

                provider = get_provider_info()["config"]
                assert option in provider.get(section, {}).get("options", {}), f"{name}: unknown setting {key}"
                continue
            assert option in described.get(section, {}).get("options", {}), f"{name}: unknown setting {key}"
    # Components that sign or check JWTs share one secret; the same for the Fernet key.
    for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API__SECRET_KEY"):
        assert len({sf.service_env(s)[key] for s in airflow_services(services).values()}) == 1, key


FAB = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"


def test_production_auth_is_fab_with_a_named_auditor_role(services, plugin_module):
    """FAB (Airflow says SimpleAuthManager is not for production), pinned for the image; users made by init."""
    for name, svc in airflow_services(services).items():
        env = sf.service_env(svc)
        assert env["AIRFLOW__CORE__AUTH_MANAGER"] == FAB, name
        assert not any(k.startswith("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER") for k in env), name
    fab = sf.pins(sf.ROOT / "deploy" / "requirements-fab.txt")
    assert "apache-airflow-providers-fab" in fab and "-r /opt/dtks/requirements-fab.txt" in (
        sf.ROOT / "Dockerfile"
    ).read_text(encoding="utf-8")
    init_env = sf.service_env(services[ONE_SHOT])
    role = init_env["DTKS_AUDITOR_AIRFLOW_ROLE"]
    assert role == sf.service_env(services["airflow-apiserver"])["DTKS_AUDITOR_AIRFLOW_ROLE"] == "DTKS Auditor"
    commands = _script_commands("/opt/dtks/deploy/init.sh", [])
    assert ("airflow", ["roles", "create", "X"]) in commands
    created = [args for program, args in commands if program == "airflow" and args[:2] == ["users", "create"]]
    # "--password=<value>": a generated password may begin with "-", which argparse would take for an option
    assert created and all(any(arg.startswith("--password=") for arg in a) for a in created)
    # Passwords of the Airflow users reach airflow-init only, never the api-server or the workers.
    for name, svc in airflow_services(services).items():
        env = sf.service_env(svc)
        if name != ONE_SHOT:
            assert "AIRFLOW_ADMIN_PASSWORD" not in env and "AIRFLOW_AUDITOR_PASSWORD" not in env, name
    assert "PASSWORD" not in sf.deploy_script(services["airflow-apiserver"]["command"][1]).read_text(encoding="utf-8")

    # The page lets Admin and the named role in, not a plain Viewer; the laptop (no role set) lets any user in.
    class Role:
        def __init__(self, name):
            self.name = name

    class FabLikeUser:
        def __init__(self, *roles):
            self.roles = [Role(r) for r in roles]

    allowed = plugin_module.auditor_page_allowed
    assert allowed(FabLikeUser("Viewer", role), role) and allowed(FabLikeUser("Admin"), role)
    assert not allowed(FabLikeUser("Viewer"), role) and not allowed(FabLikeUser("Op", "User"), role)
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    assert allowed(SimpleAuthManagerUser(username="a", role="viewer"), None)
    assert not allowed(SimpleAuthManagerUser(username="a", role="viewer"), role)


def test_only_the_init_job_holds_the_warehouse_superuser(services):
    db_env = sf.service_env(services["warehouse-db"])
    raw = sf.service_env(sf.compose_raw()["services"]["warehouse-db"])
    assert "DTKS_WAREHOUSE_ADMIN_USER" in raw["POSTGRES_USER"] and "DTKS_WAREHOUSE_USER" not in raw["POSTGRES_USER"]
    superuser, su_password = db_env["POSTGRES_USER"], db_env["POSTGRES_PASSWORD"]
    import sqlalchemy as sa

    for name, svc in airflow_services(services).items():
        env = sf.service_env(svc)
        conn = env.get("AIRFLOW_CONN_DTKS_WAREHOUSE")
        if name == ONE_SHOT:
            url = sa.engine.make_url(conn)
            assert (url.username, url.password) == (superuser, su_password)  # migrations, logins
            assert env["DTKS_WAREHOUSE_USER"] != superuser and env["DTKS_WAREHOUSE_PASSWORD"] != su_password
            continue
        assert su_password not in " ".join(env.values()), f"{name} holds the warehouse superuser's password"
        if conn:
            assert sa.engine.make_url(conn).username not in (superuser, "postgres"), name


def test_the_api_server_holds_only_the_auditor_login(services):
    api = services["airflow-apiserver"]
    env = sf.service_env(api)
    assert "AIRFLOW_CONN_DTKS_WAREHOUSE" not in env and "DTKS_WAREHOUSE_URL" not in env
    assert not any("WAREHOUSE_PASSWORD" in k for k in env)
    pipeline_password = sf.service_env(services["airflow-worker"])["AIRFLOW_CONN_DTKS_WAREHOUSE"].split(":")[2]
    assert pipeline_password.split("@")[0] not in " ".join(env.values())
    assert "DTKS_LANDING_DIR" not in env and "DTKS_ARCHIVE_DIR" not in env
    mounts = sf.volume_targets(api)
    assert "/data/dtks/landing" not in mounts and "/data/dtks/archive" not in mounts
    # what the page shows: the outbox and the round outputs, read-only
    for vol in api["volumes"]:
        if "/data/dtks/" in vol:
            assert vol.endswith(":ro"), vol
    assert {env["DTKS_OUTBOX_DIR"], env["DTKS_OUT_DIR"]} <= set(mounts)
    assert "dtks_auditor_web" in env["DTKS_AUDITOR_WAREHOUSE_URL"]


def test_the_warehouse_connection_is_what_dtks_reads(services, monkeypatch):
    import sqlalchemy as sa

    from dtks import warehouse

    env = sf.service_env(services["airflow-worker"])
    monkeypatch.setenv("AIRFLOW_CONN_DTKS_WAREHOUSE", env["AIRFLOW_CONN_DTKS_WAREHOUSE"])
    monkeypatch.setenv("DTKS_WAREHOUSE_URL", "postgresql://must-not-be-used@nowhere/none")
    url = sa.engine.make_url(warehouse.warehouse_url())
    assert (url.drivername, url.host, url.port, url.database, url.username) == (
        "postgresql+psycopg2",
        "warehouse-db",
        5432,
        "dtks",
        "dtks",
    )
    assert url.query["sslmode"] == "prefer" and url.password
    assert "warehouse-db" in services
    # The auditor page's login points at the same warehouse.
    auditor = sa.engine.make_url(
        warehouse.normalise_url(sf.service_env(services["airflow-apiserver"])["DTKS_AUDITOR_WAREHOUSE_URL"])
    )
    assert (auditor.host, auditor.database, auditor.username) == ("warehouse-db", "dtks", "dtks_auditor_web")


# ---------------------------------------------------------------------- commands
def _effective_commands(svc: dict) -> list[tuple[str, list[str]]]:
    """(program, args) pairs a service runs, through the official image's entrypoint.

    That entrypoint runs `bash ...` and `python ...` as given and prefixes anything else
    with `airflow`; scripts of ours are read for the `airflow` and `dtks` commands they run.
    """
    entrypoint = svc.get("entrypoint")
    command = sf.as_argv(svc.get("command") or [])
    if entrypoint:
        assert entrypoint[:3] == ["/usr/bin/dumb-init", "--", "/entrypoint"], "keep the image's entrypoint"
        argv = entrypoint[3:] + command
    else:
        argv = command
    if argv[:2] == ["bash", "-c"]:
        program = argv[2]
        m = re.fullmatch(r'exec (\w+) "\$@"', program)
        assert m, f"unexpected bash -c program {program!r}"
        return [(m.group(1), argv[4:])]  # argv[3] is $0
    if argv[0] == "bash":
        return _script_commands(argv[1], argv[2:])
    if argv[0] == "python":
        assert sf.deploy_script(argv[1]).is_file(), argv[1]
        return []
    if argv[0] == "airflow":
        argv = argv[1:]
    return [("airflow", argv)]


def _script_commands(container_path: str, args: list[str]) -> list[tuple[str, list[str]]]:
    script = sf.deploy_script(container_path)
    assert script.is_file(), f"{container_path}: no {script.relative_to(sf.ROOT)} in the repository"
    assert not sf.ignored_by_docker(str(script.relative_to(sf.ROOT))), f"{script.name} is not in the image"
    found = []
    for line in script.read_text(encoding="utf-8").splitlines():
        for part in re.split(r"\|\||&&|;", line.strip()):
            # Shell parameters: their default, else a placeholder; redirections dropped.
            part = (
                part.strip()
                .replace('"$@"', " ".join(args))
                .replace("$here/", str(PurePosixPath(container_path).parent) + "/")
            )
            part = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", part)
            part = re.sub(r"\$\{?\w+\}?", "X", part)
            m = re.match(r"^(?:exec\s+)?(airflow|dtks|python)\s+(.*)$", part)
            if not m:
                continue
            words = [w for w in sf.as_argv(m.group(2)) if not re.match(r"^\d?>", w)]
            if m.group(1) == "python":
                if words and words[0].startswith("/opt/dtks/"):
                    assert sf.deploy_script(words[0]).is_file(), words[0]
                    found.append(("script", words))
                continue
            found.append((m.group(1), words))
    return found


def _check(program, args, airflow_parser, dtks_parser, where):
    if program == "dtks":
        assert parses(dtks_parser, args), f"{where}: `dtks {' '.join(args)}` is not a dtks command"
    elif program == "airflow" and args[:1] == ["celery"]:
        # The Celery CLI comes with the Celery provider, pinned for the image only.
        assert "apache-airflow-providers-celery" in sf.pins(sf.CELERY_REQUIREMENTS), where
        assert args[1] in ("worker", "flower"), where
    elif program == "airflow" and args[:1] in (["users"], ["roles"]):
        # The user and role commands come with the FAB provider, pinned for the image only.
        assert "apache-airflow-providers-fab" in sf.pins(sf.ROOT / "deploy" / "requirements-fab.txt"), where
        assert args[1] in {"users": ("create", "list", "reset-password", "add-role"), "roles": ("create",)}[args[0]], (
            where
        )
    elif program == "airflow":
        assert parses(airflow_parser, args), f"{where}: `airflow {' '.join(args)}` is not an airflow command"
    elif program == "celery":
        assert args[:2] == ["--app", "airflow.providers.celery.executors.celery_executor.app"], where
        assert "celery" in sf.pins(sf.CELERY_REQUIREMENTS)
    elif program == "python":
        assert args[0] == "-c", where
        compile(args[1], where, "exec")
    elif program == "script":
        assert sf.deploy_script(args[0]).is_file(), where
    else:
        raise AssertionError(f"{where}: unexpected program {program}")


def test_every_command_exists(services, airflow_parser, dtks_parser):
    ours = airflow_services(services)
    expected = {
        "airflow-apiserver": ["airflow", "api-server"],
        "airflow-scheduler": ["airflow", "scheduler"],
        "airflow-dag-processor": ["airflow", "dag-processor"],
        "airflow-triggerer": ["airflow", "triggerer"],
        "airflow-worker": ["airflow", "celery", "worker"],
    }
    for name, svc in ours.items():
        commands = _effective_commands(svc)
        assert commands, name
        for program, args in commands:
            _check(program, args, airflow_parser, dtks_parser, name)
        if name in expected:
            assert any([program, *args][: len(expected[name])] == expected[name] for program, args in commands), name
    # airflow-init does what `dtks init` does: warehouse migrations and reference codes, Airflow's
    # metadata DB, the pool that bounds merges (the pool the DAG uses).
    from dtks import airflow_env

    init = _effective_commands(ours[ONE_SHOT])
    assert ("airflow", ["db", "migrate"]) in init
    assert ("script", ["/opt/dtks/deploy/init_warehouse.py"]) in init
    pool_set = [args for program, args in init if program == "airflow" and args[:2] == ["pools", "set"]]
    assert pool_set and pool_set[0][2] == airflow_env.WAREHOUSE_POOL
    dag_source = (sf.ROOT / "dags" / "dtks_ingest.py").read_text(encoding="utf-8")
    assert f'WAREHOUSE_POOL = "{airflow_env.WAREHOUSE_POOL}"' in dag_source and "pool=WAREHOUSE_POOL" in dag_source
    for name, svc in ours.items():
        argv = sf.healthcheck_argv(svc)
        if argv:
            _check(argv[0], argv[1:], airflow_parser, dtks_parser, f"{name} healthcheck")


def test_operations_guide_commands_exist(airflow_parser, dtks_parser, services):
    """The `docker compose run/exec` lines of docs/operations.md name real services and commands."""
    text = (sf.ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    checked = 0
    for line in text.splitlines():
        m = re.match(r"^\s*(?:\$\s*)?docker compose (run --rm|exec(?: -T)?) ([\w-]+) (.*)$", line)
        if not m:
            continue
        _mode, service, rest = m.groups()
        assert service in services, f"docs/operations.md: unknown service {service}"
        argv = sf.as_argv(rest.split(" | ")[0].split(" > ")[0].split(" < ")[0])
        if service == "dtks-cli":
            _check("dtks", argv, airflow_parser, dtks_parser, line)
        elif argv[0] in ("airflow", "dtks"):
            _check(argv[0], argv[1:], airflow_parser, dtks_parser, line)
        checked += 1
    assert checked >= 5


# ---------------------------------------------------------------------- environment and volumes
def _code_variables() -> set[str]:
    found = set()
    for folder in ("dtks", "dags", "plugins"):
        for path in (sf.ROOT / folder).rglob("*.py"):
            found |= set(re.findall(r"[\"'](DTKS_[A-Z0-9_]+)[\"']", path.read_text(encoding="utf-8")))
    return found


def test_every_variable_the_code_reads_is_set_or_documented(services):
    read = _code_variables()
    assert {"DTKS_WAREHOUSE_URL", "DTKS_LANDING_DIR", "DTKS_ALERT_EMAIL"} <= read
    example = sf.ENV_EXAMPLE.read_text(encoding="utf-8")
    set_in_stack = set()
    for svc in airflow_services(services).values():
        set_in_stack |= set(sf.service_env(svc))
    missing = {v for v in read if v not in set_in_stack and v not in example}
    assert not missing, f"read by the code, neither set in docker-compose.yml nor documented in .env.example: {missing}"
    # ...and the stack sets no DTKS_ variable that nothing reads (a typo would go unnoticed).
    deploy_text = "".join(p.read_text(encoding="utf-8") for p in (sf.ROOT / "deploy").iterdir() if p.is_file())
    unused = {v for v in set_in_stack if v.startswith("DTKS_") and v not in read and v not in deploy_text}
    assert not unused, f"set by docker-compose.yml but read by nothing: {unused}"


def test_volumes_are_mounted_where_the_code_looks(services, dotenv):
    stack_volumes = set(sf.compose_raw()["volumes"])
    for name, svc in airflow_services(services).items():
        env = sf.service_env(svc)
        mounts = sf.volume_targets(svc)
        for var in EXAMPLE_CONTAINER_DIRS:
            if name == "airflow-apiserver" and var in ("DTKS_LANDING_DIR", "DTKS_ARCHIVE_DIR"):
                continue  # the api-server reads the outbox and the outputs only
            path = env[var]
            assert PurePosixPath(path).is_absolute()
            assert path in mounts, f"{name}: {var}={path} is not a mount point"
            host_var = var.replace("DTKS_", "DTKS_HOST_")
            assert mounts[path] == dotenv[host_var], f"{name}: {path} should come from {host_var}"
        if name != "airflow-apiserver":
            calendar_dir = str(PurePosixPath(env["DTKS_CALENDAR_FILE"]).parent)
            assert calendar_dir in mounts and mounts[calendar_dir] in stack_volumes, name
        assert "/opt/airflow/logs" in mounts, f"{name}: task logs must be shared with the api-server"
        for source in mounts.values():
            assert source.startswith((".", "/")) or source in stack_volumes, f"{name}: undeclared volume {source}"
    for db in ("airflow-db", "warehouse-db"):
        assert set(sf.volume_targets(services[db]).values()) <= stack_volumes


def test_the_compose_file_round_trips_as_yaml():
    # Anchors and merge keys resolve; nothing is left as an unresolved alias.
    data = sf.compose_raw()
    dumped = yaml.safe_dump(data)
    assert "<<" not in dumped and "*airflow" not in dumped
    assert Path(sf.COMPOSE).read_text(encoding="utf-8").startswith("#")
