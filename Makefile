# LLC reproduction. `make reproduce` and `make test` set everything up themselves (venv + pip).
PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
PROFILE ?= auto
SHARED  ?= ../shared/datasets
export PYTHONUNBUFFERED := 1

.PHONY: setup data test reproduce lab bench clean-runs

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

setup: $(BIN)/.installed data

data: $(BIN)/.installed
	$(BIN)/python -m llc_lib data --shared $(SHARED)

test: setup
	$(BIN)/python -m pytest -q tests

reproduce: setup
	$(BIN)/python -m llc_lib reproduce --profile $(PROFILE)

lab: setup
	$(BIN)/jupyter lab notebooks/

clean-runs:
	rm -rf runs/smoke
