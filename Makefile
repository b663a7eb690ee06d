# Set-up is automatic: every target creates .venv and installs the project if needed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
JOBS ?= 2
# Tested versions of every dependency; `make lock` refreshes it from the newest releases.
CONSTRAINTS := constraints.txt
LATEST_VENV := .venv-latest

.PHONY: run test validate bench lint format clean lock test-latest

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e ".[dev,dask]"
	@touch $(STAMP)

run: $(STAMP)  ## run the flagship stack, print its summary and write its HTML report
	$(VENV)/bin/simperf report models/web_stack.yaml -o results/web_stack.html
	@echo "simperf is installed in $(VENV): run '. $(VENV)/bin/activate' to put it on PATH"

test: $(STAMP)  ## the test suite (validation against theory included, short horizons)
	$(PY) -m pytest -n $(JOBS) -q

validate: $(STAMP)  ## long statistical validations (heavier loads, coverage studies)
	$(PY) -m pytest -n $(JOBS) -q -m validate

bench: $(STAMP)  ## hot-path speed against a hand-written SimPy model, richer models against mm1
	$(PY) experiments/engine_speed.py --models

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

lock:  ## re-pin constraints.txt to the newest releases (then run `make test` and commit it)
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	.venv-lock/bin/python -m pip install --quiet ".[dev,dask]"
	{ echo "# Tested versions installed by make; refresh with make lock."; \
	  .venv-lock/bin/python -m pip freeze --exclude simperf; } > $(CONSTRAINTS)
	rm -rf .venv-lock

test-latest:  ## the suite on the newest releases of every dependency (no constraints)
	@test -x $(LATEST_VENV)/bin/python || $(PYTHON) -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LATEST_VENV)/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e ".[dev,dask]"
	$(LATEST_VENV)/bin/python -m pytest -n $(JOBS) -q

clean:
	rm -rf $(VENV) $(LATEST_VENV) results .pytest_cache .ruff_cache
