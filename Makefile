# Gaming engagement MLOps platform. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
SERVERS_VENV := .venv-servers
PY := $(VENV)/bin/python
PIP_QUIET := --quiet --disable-pip-version-check
CODE := machine_learning tests benchmarks mlops

.DEFAULT_GOAL := help
.PHONY: help setup setup-app setup-servers setup-browser test unit-tests integration-tests \
        e2e-tests quality-checks format bench clean-runtime

help: ## Show the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_QUIET) --upgrade pip  # pip 23 cannot resolve mage-ai + mlflow
	$(PY) -m pip install $(PIP_QUIET) -r requirements-dev.txt
	$(PY) -m pip install $(PIP_QUIET) --no-deps -e .
	$(PY) -m pip check
	touch $@

$(SERVERS_VENV)/.installed: requirements-servers.txt
	test -x $(SERVERS_VENV)/bin/python || $(PYTHON) -m venv $(SERVERS_VENV)
	$(SERVERS_VENV)/bin/python -m pip install $(PIP_QUIET) --upgrade pip
	$(SERVERS_VENV)/bin/python -m pip install $(PIP_QUIET) -r requirements-servers.txt
	touch $@

setup-app: $(VENV)/.installed ## Create the application environment (.venv)
setup-servers: $(SERVERS_VENV)/.installed ## Create the servers' environment (.venv-servers: MLflow, moto)
setup: setup-app setup-servers ## Create both environments from nothing

setup-browser: ## Install headless Chromium from Debian's packages (browser tests)
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	@chromium --version

test: setup ## Run the whole suite (unit, integration, end-to-end)
	$(PY) -m pytest

unit-tests: setup-app ## Run the unit tests only (fast)
	$(PY) -m pytest tests/unit -q

integration-tests: setup ## Run the integration tests (start real MLflow and moto S3 servers)
	$(PY) -m pytest tests/integration -q

e2e-tests: setup ## Run the end-to-end tests (Mage pipelines against real servers)
	$(PY) -m pytest tests/e2e -q

quality-checks: setup-app ## isort, black and pylint (must pass before every commit)
	$(VENV)/bin/isort --check-only --diff $(CODE)
	$(VENV)/bin/black --check $(CODE)
	$(VENV)/bin/pylint machine_learning benchmarks mlops
	$(VENV)/bin/pylint tests --disable=missing-function-docstring,redefined-outer-name,protected-access,import-outside-toplevel

format: setup-app ## Apply isort and black
	$(VENV)/bin/isort $(CODE)
	$(VENV)/bin/black $(CODE)

bench: setup ## Run every benchmark script in benchmarks/ and print the figures
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean-runtime: ## Delete run-time state (runtime/: data, MLflow, Mage, logs)
	rm -rf runtime

RUN_DIR := runtime/run
GM := $(VENV)/bin/gaming-mlops

.PHONY: run stop status
run: setup ## Main job: start MLflow locally, train on simulated players (or DATA_PATH), promote, score a batch
	$(GM) up
	$(GM) simulate --players 30025 --seed 42 --out $(RUN_DIR)/training_players.csv
	$(GM) train --data $${DATA_PATH:-$(RUN_DIR)/training_players.csv} --model $${MODEL_KIND:-gradient_boosting}
	$(GM) promote
	$(GM) simulate --players 10000 --seed 7 --no-labels --out $(RUN_DIR)/batch_players.csv
	$(GM) predict --input $${BATCH_DATA_PATH:-$(RUN_DIR)/batch_players.csv} --output $(RUN_DIR)/predictions.csv
	$(GM) status
	@echo "MLflow UI: $${MLFLOW_TRACKING_URI:-http://127.0.0.1:5000}   predictions: $(RUN_DIR)/predictions.csv   stop with: make stop"

stop: ## Stop exactly what `make run` started
	$(GM) down

status: ## Say what runs
	$(GM) status
