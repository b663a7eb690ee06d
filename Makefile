# Set-up is automatic: every target creates .venv and installs the project if needed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
JOBS ?= 2

.PHONY: run test validate bench lint format clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,dask]"
	@touch $(STAMP)

run: $(STAMP)  ## run the flagship scenario and print its summary
	$(VENV)/bin/simperf run models/web_tier.yaml

test: $(STAMP)  ## the test suite (validation against theory included, short horizons)
	$(PY) -m pytest -n $(JOBS) -q

validate: $(STAMP)  ## long statistical validations (heavier loads, coverage studies)
	$(PY) -m pytest -n $(JOBS) -q -m validate

bench: $(STAMP)  ## hot-path speed against a hand-written SimPy model
	$(PY) experiments/engine_speed.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) results .pytest_cache .ruff_cache
