# Two commands on a fresh machine with Python 3.11+:  make demo  /  make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export GX_ANALYTICS_ENABLED := false
export XDG_RUNTIME_DIR := $(CURDIR)/var/run

.PHONY: venv demo test test-fast lint stop clean browser redis bench bench-scaling mutate
.PHONY: test-deploy stack-env stack-up stack-down

venv: $(STAMP)

# requirements.txt and, as the image installs them, the Celery and FAB pins (tests/deploy runs the
# compose file's services for real: Celery workers, FAB users). The laptop's auth manager stays simple.
# requirements-dev.txt: the linters of `make lint` (not in the image).
$(STAMP): requirements.txt requirements-dev.txt deploy/requirements-celery.txt deploy/requirements-fab.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is needed, found " + sys.version) if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt -r deploy/requirements-celery.txt -r deploy/requirements-fab.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	mkdir -p var/run
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dtks demo

test: $(STAMP) browser redis
	$(BIN)/python -m pytest -q

# ruff (lint + format check) on the whole tree, mypy strict on dtks/; settings in pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Headless Debian chromium for the auditor page's browser test (tests/audit); CI runs as root.
browser:
	@command -v chromium >/dev/null || [ "$$(id -u)" != 0 ] || (apt-get update && apt-get install -y --no-install-recommends chromium)
	@command -v chromium >/dev/null || echo "note: chromium not installed (needs root: apt-get install chromium); the browser test will be skipped"

# Debian redis-server: the Celery broker of tests/deploy/test_celery_workers.py (started by the
# test on a free port with a password; the package's own service is not used). CI runs as root.
redis:
	@command -v redis-server >/dev/null || [ "$$(id -u)" != 0 ] || (apt-get update && apt-get install -y --no-install-recommends redis-server)
	@command -v redis-server >/dev/null || echo "note: redis-server not installed (needs root: apt-get install redis-server); the Celery tests will be skipped"

# Not part of `make test`: a national round (default 5 million rows, 514 districts) through the
# real path, beside the COPY floor and a naive pandas/GX/to_sql baseline. See BENCHMARKS.md.
bench: $(STAMP)
	$(BIN)/python -m dtks.devtools.bench $(BENCH_ARGS)

# Not part of `make test`: per-row cost of each stage as the round (0.5-5 M rows) and the registry
# (5 M, 20 M) grow. Sizes: BENCH_ARGS="--round-sizes ... --registry-sizes ... --registry-round ...".
bench-scaling: $(STAMP)
	$(BIN)/python -m dtks.devtools.bench --scaling $(BENCH_ARGS)

# Not part of `make test`: each declared mutation (tests/mutations.toml) applied in a scratch copy,
# its test subset run; fails if any survives. MUTATE_ARGS="--only id,id" for a few. CONTRIBUTING.md.
mutate: $(STAMP)
	$(BIN)/python -m tests.mutate $(MUTATE_ARGS)

stop:
	-$(BIN)/dtks stop

clean: stop
	rm -rf var out

# ---- the production-like stack (docker-compose.yml; docs/operations.md). Needs a Docker engine,
# except test-deploy: the compose/Dockerfile consistency checks and a real multi-process Airflow, here.
test-deploy: $(STAMP) redis
	$(BIN)/python -m pytest -q tests/deploy

stack-env:
	@test -f .env && echo ".env exists: kept" || $(PYTHON) deploy/make_env.py

stack-up: stack-env
	docker compose up -d --build

stack-down:
	docker compose down
