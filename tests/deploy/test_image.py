"""The Dockerfile builds the image that was tested here: same Airflow, same Python, same pins."""

from __future__ import annotations

import re
import sys
from importlib import metadata

from tests.deploy import stack_files as sf


def _dockerfile() -> str:
    return sf.DOCKERFILE.read_text(encoding="utf-8")


def _base_image() -> str:
    text = _dockerfile()
    m = re.search(r"^ARG AIRFLOW_BASE_IMAGE=(\S+)$", text, re.M)
    assert m and "FROM ${AIRFLOW_BASE_IMAGE}" in text
    return m.group(1)


def test_base_image_is_the_tested_airflow_and_python():
    image = _base_image()
    m = re.fullmatch(r"apache/airflow:(?:slim-)?(\d+\.\d+\.\d+)-python(\d+\.\d+)", image)
    assert m, f"not an official Airflow image tag: {image}"
    assert m.group(1) == metadata.version("apache-airflow"), "the image's Airflow differs from the tested one"
    assert m.group(2) == f"{sys.version_info.major}.{sys.version_info.minor}", "different Python"


def test_requirements_are_exact_pins_and_installed_here():
    pinned = sf.pins(sf.REQUIREMENTS)
    assert pinned["apache-airflow"] == metadata.version("apache-airflow")
    wrong = {
        name: (version, metadata.version(name)) for name, version in pinned.items() if metadata.version(name) != version
    }
    assert not wrong, f"requirements.txt differs from the virtualenv the tests ran in: {wrong}"
    # The Celery pins too: tests/deploy/test_celery_workers.py runs real workers on them.
    celery = sf.pins(sf.CELERY_REQUIREMENTS)
    wrong = {
        name: (version, metadata.version(name)) for name, version in celery.items() if metadata.version(name) != version
    }
    assert not wrong, f"deploy/requirements-celery.txt differs from the test virtualenv: {wrong}"
    # The linters of `make lint` too: a version bump changes what the lint run accepts.
    dev = sf.pins(sf.ROOT / "requirements-dev.txt")
    assert {"ruff", "mypy"} <= set(dev)
    wrong = {
        name: (version, metadata.version(name)) for name, version in dev.items() if metadata.version(name) != version
    }
    assert not wrong, f"requirements-dev.txt differs from the test virtualenv: {wrong}"


def test_image_installs_exactly_these_pins():
    text = _dockerfile()
    install = re.search(
        r"RUN pip install --no-cache-dir \"apache-airflow==\$\{AIRFLOW_VERSION\}\"(.*?)&& pip check", text, re.S
    )
    assert install, "the image must pin Airflow itself and run pip check"
    assert "-r /opt/dtks/requirements.txt" in install.group(1)
    assert "-r /opt/dtks/requirements-celery.txt" in install.group(1)
    assert "-r /opt/dtks/requirements-fab.txt" in install.group(1)
    assert re.search(
        r"^COPY --chown=airflow:0 requirements.txt deploy/requirements-celery.txt "
        r"deploy/requirements-fab.txt /opt/dtks/$",
        text,
        re.M,
    )
    # The package itself without dependencies: nothing beyond the pins gets in.
    assert "pip install --no-cache-dir --no-deps -e /opt/dtks" in text
    base, celery = sf.pins(sf.REQUIREMENTS), sf.pins(sf.CELERY_REQUIREMENTS)
    assert "apache-airflow-providers-celery" in celery and "celery" in celery and "redis" in celery
    assert not set(base) & set(celery), "the Celery pins must not override requirements.txt"
    fab = sf.pins(sf.ROOT / "deploy" / "requirements-fab.txt")
    assert "apache-airflow-providers-fab" in fab and "flask-appbuilder" in {k.lower() for k in fab}
    assert not (set(base) | set(celery)) & set(fab), "the FAB pins must not override the others"
    # (Resolved together with requirements.txt when written; the build's `pip check` re-checks it.)


def test_build_context_holds_the_project_and_no_secrets():
    for needed in (
        "dtks/warehouse.py",
        "dags/dtks_ingest.py",
        "include/sql/migrations",
        "expectations",
        "plugins",
        "deploy/init.sh",
        "deploy/api-server.sh",
        "pyproject.toml",
        "requirements.txt",
        "deploy/requirements-celery.txt",
        "deploy/requirements-fab.txt",
    ):
        assert (sf.ROOT / needed).exists(), needed
        assert not sf.ignored_by_docker(needed), f".dockerignore keeps {needed} out of the image"
    for excluded in (
        ".env",
        ".venv/bin/python",
        "var/pgdata",
        "out/2026-10/report.html",
        ".git/config",
        "tests/conftest.py",
        "dtks/__pycache__/cli.cpython-311.pyc",
    ):
        assert sf.ignored_by_docker(excluded), f"{excluded} would be sent into the image"


def test_image_paths_match_the_compose_file():
    text = _dockerfile()
    assert "AIRFLOW__CORE__DAGS_FOLDER=/opt/dtks/dags" in text
    assert "AIRFLOW__CORE__PLUGINS_FOLDER=/opt/dtks/plugins" in text
    env = sf.service_env(sf.compose_raw()["services"]["airflow-scheduler"])
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/dtks/dags"
    assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == "/opt/dtks/plugins"
    # dtks finds include/ and expectations/ next to its own source, hence the in-place (-e) install.
    from dtks import config

    assert config.SQL_DIR == config.PROJECT_ROOT / "include" / "sql"
    assert config.EXPECTATIONS_DIR == config.PROJECT_ROOT / "expectations"
