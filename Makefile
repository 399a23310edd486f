# cx-broker: the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: help setup jars test lint typecheck unit demo bench clean

help:
	@echo "make test   - set up (venv + Kafka jars) and run lint, types and the whole test suite against real Kafka"
	@echo "make demo   - run the main job against a local Kafka cluster"
	@echo "make unit   - the unit tests only (no Kafka; about a minute)"
	@echo "make bench  - run the benchmarks (prints figures, writes bench/results/)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP) jars

# Apache Kafka's jars, fetched once by Maven (checksums enforced) into a cache outside git.
jars: $(STAMP)
	$(VENV)/bin/cxbroker kafka fetch

lint: $(STAMP)
	$(VENV)/bin/ruff check cxbroker broker contracts producers consumers tests bench
	$(VENV)/bin/ruff format --check cxbroker broker contracts producers consumers tests bench
	$(VENV)/bin/lint-imports --no-cache

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# The unit tests (pure logic) run on every core (pytest-xdist); the integration tests
# share one real Kafka session cluster and run in one process.
test: setup lint typecheck
	$(PY) -m pytest -n auto tests/unit
	$(PY) -m pytest tests --ignore=tests/unit

# The unit tests alone: pure logic, no Kafka, no jars; one worker per core (pytest-xdist).
unit: $(STAMP)
	$(PY) -m pytest -n auto tests/unit

demo: setup
	$(VENV)/bin/cxbroker demo

bench: setup
	$(VENV)/bin/cxbroker bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
