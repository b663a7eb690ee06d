# Set-up is automatic: every target creates .venv and installs the project if needed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
JOBS ?= 2
# Tested versions of every dependency; `make lock` refreshes it from the newest releases.
CONSTRAINTS := constraints.txt
LATEST_VENV := .venv-latest
# `make realbench`: its own venv with gunicorn, psycopg and redis-py (the realbench extra)
RB_VENV := .venv-realbench
RB_STAMP := $(RB_VENV)/.installed

.PHONY: run test validate bench realbench lint format clean lock test-latest

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e ".[dev,dask,fast]"
	@touch $(STAMP)

run: $(STAMP)  ## run the flagship stack, print its summary and write its HTML report
	$(VENV)/bin/simperf report models/web_stack.yaml --out results/web_stack.html
	@echo "simperf is installed in $(VENV): run '. $(VENV)/bin/activate' to put it on PATH"

test: $(STAMP)  ## the test suite (validation against theory included, short horizons)
	$(PY) -m pytest -n $(JOBS) -q

validate: $(STAMP)  ## long statistical validations (and a short realbench)
	@$(MAKE) --no-print-directory $(RB_STAMP) || echo "realbench venv not installed: its test will skip"
	$(PY) -m pytest -n $(JOBS) -q -m "validate and not realbench"
	@# alone, after the rest: a real server's latencies must not share its cores with tests
	REALBENCH_PYTHON=$(RB_VENV)/bin/python $(PY) -m pytest -q -m realbench tests/validation/test_realbench.py

bench: $(STAMP)  ## hot-path speed against a hand-written SimPy model, richer models against mm1
	$(PY) experiments/engine_speed.py --models

$(RB_STAMP): pyproject.toml $(CONSTRAINTS)
	@test -x $(RB_VENV)/bin/python || $(PYTHON) -m venv $(RB_VENV)
	$(RB_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(RB_VENV)/bin/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[realbench]"
	@touch $(RB_STAMP)

realbench: $(RB_STAMP)  ## measure gunicorn+Redis+PostgreSQL on loopback, calibrate, predict (~11 min)
	@command -v redis-server >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	  || { echo "realbench needs PostgreSQL and Redis: apt-get install -y postgresql redis-server"; exit 2; }
	$(RB_VENV)/bin/python -m realbench.bench $(REALBENCH_ARGS)

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
	.venv-lock/bin/python -m pip install --quiet ".[dev,dask,fast]"
	{ echo "# Tested versions installed by make; refresh with make lock."; \
	  .venv-lock/bin/python -m pip freeze --exclude simperf; } > $(CONSTRAINTS)
	rm -rf .venv-lock

test-latest:  ## the suite on the newest releases of every dependency (no constraints)
	@test -x $(LATEST_VENV)/bin/python || $(PYTHON) -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LATEST_VENV)/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e ".[dev,dask,fast]"
	$(LATEST_VENV)/bin/python -m pytest -n $(JOBS) -q

clean:
	rm -rf $(VENV) $(LATEST_VENV) $(RB_VENV) results .pytest_cache .ruff_cache
