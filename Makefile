# Two commands on a fresh machine with Python 3.11+:  make demo  /  make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export GX_ANALYTICS_ENABLED := false
export XDG_RUNTIME_DIR := $(CURDIR)/var/run

.PHONY: venv demo test test-fast stop clean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is needed, found " + sys.version) if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	mkdir -p var/run
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dtks demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

stop:
	-$(BIN)/dtks stop

clean: stop
	rm -rf var out
