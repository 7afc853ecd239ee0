# syntax=docker/dockerfile:1
#
# The DTKS Airflow image: the official Apache Airflow 3.3.2 image for Python 3.11
# plus exactly the versions this repository tests (requirements.txt) and the
# CeleryExecutor's pins (deploy/requirements-celery.txt), then the dtks package.
#
# The *slim* variant is the base on purpose: it carries Airflow core only, so the
# image holds the versions tested here and nothing the tests never saw (the
# regular image's ~60 providers pin their own versions of shared libraries).
# tests/deploy/test_image.py checks the tag against the installed Airflow and
# Python, and the pins against requirements.txt.
#
#   docker compose build          (or: docker build -t dtks-airflow .)
ARG AIRFLOW_BASE_IMAGE=apache/airflow:slim-3.3.2-python3.11
FROM ${AIRFLOW_BASE_IMAGE}

# Where the project lives in the image. dtks resolves include/ and expectations/
# relative to its source folder, so the package is installed in place (-e) there.
ENV DTKS_HOME=/opt/dtks \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/dtks/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/dtks/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    GX_ANALYTICS_ENABLED=false

USER root
RUN mkdir -p /opt/dtks && chown airflow:0 /opt/dtks && chmod 2775 /opt/dtks
USER airflow

# 1. Dependencies (a cached layer while only the code changes). Airflow's own
#    version is repeated so pip can never move it; `pip check` fails the build
#    on any conflict with what the base image already holds.
COPY --chown=airflow:0 requirements.txt deploy/requirements-celery.txt deploy/requirements-fab.txt /opt/dtks/
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" \
        -r /opt/dtks/requirements.txt -r /opt/dtks/requirements-celery.txt -r /opt/dtks/requirements-fab.txt \
 && pip check

# 2. The project: dtks/, dags/, plugins/, include/, expectations/, deploy/
#    (.dockerignore keeps out .venv, var, out, tests, .git and .env).
COPY --chown=airflow:0 . /opt/dtks/
RUN pip install --no-cache-dir --no-deps -e /opt/dtks \
 && python -c "import dtks.config as c, dtks.cli as cli; assert c.SQL_DIR.is_dir() and c.EXPECTATIONS_DIR.is_dir(); cli.build_parser()" \
 && chmod 0755 /opt/dtks/deploy/*.sh

WORKDIR /opt/airflow
