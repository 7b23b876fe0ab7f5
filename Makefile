# Set-up and everyday tasks. `make demo` and `make test` work on a fresh clone.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test check lint bench

$(BIN)/rnncast: pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt torch==2.13.0   # the CPU build, before anything asks for torch
	$(BIN)/pip install -q -c constraints.txt -e ".[test]"
	touch $@

setup: $(BIN)/rnncast

demo: setup
	$(BIN)/rnncast demo --out rnncast-demo

test: setup
	$(BIN)/ruff check src tests benchmarks examples scripts
	$(BIN)/python -m pytest -n 2   # two processes (pytest-xdist): the subprocess tests wait on startup

check: setup  # the quick tests, under two minutes: `make test` runs every one
	$(BIN)/ruff check src tests benchmarks examples scripts
	$(BIN)/python -m pytest -n 2 -m "not slow"

bench: setup
	$(BIN)/python benchmarks/single_series.py
