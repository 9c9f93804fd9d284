# Gaming engagement MLOps platform. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
SERVERS_VENV := .venv-servers
FUZZ_VENV := .venv-fuzz
PY := $(VENV)/bin/python
PIP_QUIET := --quiet --disable-pip-version-check
CODE := machine_learning tests benchmarks mlops mlflow-guard

.DEFAULT_GOAL := help
.PHONY: help setup setup-app setup-servers setup-fuzz setup-browser test unit-tests integration-tests \
        e2e-tests quality-checks format bench clean-runtime diagrams screenshots

help: ## Show the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_QUIET) --upgrade pip  # pip 23 cannot resolve mage-ai + mlflow
	$(PY) -m pip install $(PIP_QUIET) -r requirements-dev.txt
	$(PY) -m pip install $(PIP_QUIET) --no-deps -e .
	$(PY) -m pip check
	touch $@

$(SERVERS_VENV)/.installed: requirements-servers.txt mlflow-guard/pyproject.toml
	test -x $(SERVERS_VENV)/bin/python || $(PYTHON) -m venv $(SERVERS_VENV)
	$(SERVERS_VENV)/bin/python -m pip install $(PIP_QUIET) --upgrade pip
	$(SERVERS_VENV)/bin/python -m pip install $(PIP_QUIET) -r requirements-servers.txt
	# MLflow's Host and CORS protection (mlflow server --app-name host-guard; stdlib only)
	$(SERVERS_VENV)/bin/python -m pip install $(PIP_QUIET) --no-deps -e ./mlflow-guard
	touch $@

$(FUZZ_VENV)/.installed: requirements-fuzz.txt
	test -x $(FUZZ_VENV)/bin/python || $(PYTHON) -m venv $(FUZZ_VENV)
	$(FUZZ_VENV)/bin/python -m pip install $(PIP_QUIET) --upgrade pip
	$(FUZZ_VENV)/bin/python -m pip install $(PIP_QUIET) -r requirements-fuzz.txt
	$(FUZZ_VENV)/bin/python -m pip check
	touch $@

setup-app: $(VENV)/.installed ## Create the application environment (.venv)
setup-servers: $(SERVERS_VENV)/.installed ## Create the servers' environment (.venv-servers: MLflow, moto)
setup-fuzz: $(FUZZ_VENV)/.installed ## Create the fuzzing environment (.venv-fuzz: Schemathesis CLI)
setup: setup-app setup-servers setup-fuzz ## Create the environments from nothing

setup-browser: ## Install headless Chromium and Graphviz from Debian's packages (browser tests, diagrams)
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	@command -v dot >/dev/null || { apt-get update -qq && apt-get install -y -qq graphviz >/dev/null; }
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }  # load test
	@chromium --version
	@dot -V

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
	$(VENV)/bin/pylint machine_learning benchmarks mlops mlflow-guard/mlflow_guard
	$(VENV)/bin/pylint tests --disable=missing-function-docstring,redefined-outer-name,protected-access,import-outside-toplevel,import-error  # helper modules beside the tests are on pytest's path, not pylint's

format: setup-app ## Apply isort and black
	$(VENV)/bin/isort $(CODE)
	$(VENV)/bin/black $(CODE)

bench: setup ## Run every benchmark script, write benchmarks/RESULTS.md (BENCH_QUICK=1, BENCH_REPEATS=N, BENCH_ONLY=a,b)
	$(PY) benchmarks/run_all.py

diagrams: setup-app ## Regenerate the diagrams in images/ from the code (Mage metadata; needs Graphviz: setup-browser)
	$(PY) -m machine_learning.diagrams

screenshots: setup-app ## Refresh the UI screenshots in images/ from the running platform (after make run; needs setup-browser)
	$(PY) -m machine_learning.screenshots

AUDIT_VENV := runtime/pip-audit

$(AUDIT_VENV)/.installed: requirements-audit.txt
	test -x $(AUDIT_VENV)/bin/python || $(PYTHON) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/python -m pip install $(PIP_QUIET) --upgrade pip
	$(AUDIT_VENV)/bin/python -m pip install $(PIP_QUIET) -r requirements-audit.txt
	touch $@

.PHONY: audit
audit: setup $(AUDIT_VENV)/.installed ## pip-audit of every package installed in the three environments (needs a vulnerability database: PyPI's JSON API or OSV)
	@for venv in $(VENV) $(SERVERS_VENV) $(FUZZ_VENV); do \
	  echo "== $$venv"; \
	  $$venv/bin/python -m pip freeze --exclude-editable | grep -v '^-e' > $(AUDIT_VENV)/$${venv#.}.txt && \
	  $(AUDIT_VENV)/bin/pip-audit --strict --no-deps --disable-pip --progress-spinner off \
	    -r $(AUDIT_VENV)/$${venv#.}.txt || exit 1; \
	done

clean-runtime: ## Delete run-time state (runtime/: data, MLflow, Mage, logs)
	rm -rf runtime

GM := $(VENV)/bin/gaming-mlops

.PHONY: run stop status pipelines mage
LIFECYCLE_ARGS ?=

run: setup ## Main job: start MLflow, Mage and the Evidently UI on 127.0.0.1, run the simulated month through Mage
	$(GM) up
	$(GM) lifecycle $(LIFECYCLE_ARGS)
	@echo; $(GM) status; echo "stop everything with: make stop"

pipelines: setup ## Run the sequence through Mage again (prepare, train, select, batch inference, monitor, reports)
	$(GM) up
	$(GM) pipelines

mage: setup ## Start the Mage UI/API on 127.0.0.1:6789 (needs DEFAULT_OWNER_PASSWORD, not "admin")
	@test -n "$${DEFAULT_OWNER_PASSWORD}" -a "$${DEFAULT_OWNER_PASSWORD}" != "admin" || { echo "set DEFAULT_OWNER_PASSWORD (and DEFAULT_OWNER_EMAIL) first"; exit 1; }
	MAGE_DATA_DIR=$${MAGE_DATA_DIR:-runtime/mage_data} SCHEDULER_TRIGGER_INTERVAL=1 REQUIRE_USER_AUTHENTICATION=1 \
		$(PY) -m machine_learning.mage_server start mlops --host 127.0.0.1 --port 6789

stop: ## Stop exactly what `make run` started
	$(GM) down

status: ## Say what runs
	$(GM) status

# ------------------------------------------------------------------------------ deployment
# Containers (need a Docker engine with Compose v2) and Terraform (needs AWS credentials).
# The tested path is the local one above; `make deployment-tests` verifies all of this statically.
COMPOSE ?= docker compose
TF ?= terraform
IMAGE_TAG ?=
AWS_REGION ?= us-east-1
PROJECT_NAME ?= gaming-engagement
DEPLOY_IMAGES := mage mlflow evidently prediction
CHECKOV_VENV := runtime/checkov

.PHONY: compose-up compose-down compose-config deployment-tests terraform-fmt terraform-validate \
        checkov deploy-dev destroy-dev deploy-ecr destroy-ecr images-build images-push \
        deploy-prod destroy-prod

compose-up: ## docker-compose stack: Mage, Postgres, MLflow, Evidently UI, prediction, MinIO (needs .env)
	@test -f .env || { echo "copy .env.example to .env and set the passwords first"; exit 1; }
	$(COMPOSE) up --build --detach --wait
	@echo "Mage http://127.0.0.1:6789  MLflow http://127.0.0.1:5000  Evidently http://127.0.0.1:8001  prediction http://127.0.0.1:8080  MinIO http://127.0.0.1:9001"

compose-down: ## Stop the docker-compose stack (volumes are kept; `docker compose down -v` deletes them)
	$(COMPOSE) down

compose-config: ## Validate docker-compose.yml with .env (Docker Compose v2, no engine needed)
	$(COMPOSE) config --quiet

deployment-tests: setup-app ## Static checks of docker/, docker-compose.yml and infrastructure/ (fast)
	$(PY) -m pytest tests/deployment -q

terraform-fmt: ## Format the Terraform files
	$(TF) fmt -recursive infrastructure

terraform-validate: ## terraform init (downloads providers: needs internet) + validate, every stack
	@for stack in aws_dev aws_ecr aws_prod; do \
	  echo "== $$stack"; \
	  $(TF) -chdir=infrastructure/$$stack init -backend=false -input=false >/dev/null && \
	  $(TF) -chdir=infrastructure/$$stack validate || exit 1; \
	done

$(CHECKOV_VENV)/.installed: infrastructure/requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install $(PIP_QUIET) --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install $(PIP_QUIET) -r infrastructure/requirements-checkov.txt
	touch $@

checkov: $(CHECKOV_VENV)/.installed ## Checkov over infrastructure/ and docker/ (own venv: it pins an older boto3)
	$(CHECKOV_VENV)/bin/checkov --directory infrastructure --framework terraform --skip-download --compact --quiet
	$(CHECKOV_VENV)/bin/checkov --directory docker --framework dockerfile --skip-download --compact --quiet

deploy-dev: ## AWS dev: the S3 bucket for the local stack (terraform apply, asks first)
	$(TF) -chdir=infrastructure/aws_dev init -input=false
	$(TF) -chdir=infrastructure/aws_dev apply -var aws_region=$(AWS_REGION) -var project=$(PROJECT_NAME)

destroy-dev: ## Destroy the AWS dev bucket (it must be empty unless force_destroy=true)
	$(TF) -chdir=infrastructure/aws_dev destroy -var aws_region=$(AWS_REGION) -var project=$(PROJECT_NAME)

deploy-ecr: ## AWS: one ECR repository per image
	$(TF) -chdir=infrastructure/aws_ecr init -input=false
	$(TF) -chdir=infrastructure/aws_ecr apply -var aws_region=$(AWS_REGION) -var project=$(PROJECT_NAME)

destroy-ecr: ## Destroy the ECR repositories
	$(TF) -chdir=infrastructure/aws_ecr destroy -var aws_region=$(AWS_REGION) -var project=$(PROJECT_NAME)

images-build: ## Build the four images, tagged IMAGE_TAG (e.g. IMAGE_TAG=$$(git rev-parse --short HEAD))
	@test -n "$(IMAGE_TAG)" || { echo "set IMAGE_TAG (a commit, never latest)"; exit 1; }
	@for image in $(DEPLOY_IMAGES); do \
	  docker build -f docker/$$image/Dockerfile -t $(PROJECT_NAME)/$$image:$(IMAGE_TAG) . || exit 1; \
	done

images-push: images-build ## Build, log in to ECR and push the four images (IMAGE_TAG=...)
	@registry=$$($(TF) -chdir=infrastructure/aws_ecr output -raw registry) && \
	aws ecr get-login-password --region $(AWS_REGION) | docker login --username AWS --password-stdin $$registry && \
	for image in $(DEPLOY_IMAGES); do \
	  docker tag $(PROJECT_NAME)/$$image:$(IMAGE_TAG) $$registry/$(PROJECT_NAME)/$$image:$(IMAGE_TAG) && \
	  docker push $$registry/$(PROJECT_NAME)/$$image:$(IMAGE_TAG) || exit 1; \
	done

deploy-prod: ## AWS prod: VPC, ECS Fargate, RDS, ALB... (IMAGE_TAG=...; terraform.tfvars for the rest)
	@test -n "$(IMAGE_TAG)" || { echo "set IMAGE_TAG to the tag you pushed"; exit 1; }
	$(TF) -chdir=infrastructure/aws_prod init -input=false
	$(TF) -chdir=infrastructure/aws_prod apply -var image_tag=$(IMAGE_TAG)

destroy-prod: ## Destroy AWS prod: lifts deletion protection first (asks before each step)
	$(TF) -chdir=infrastructure/aws_prod apply -var image_tag=$${IMAGE_TAG:-unused} -var deletion_protection=false \
	  -target=aws_db_instance.postgres -target=aws_lb.this
	$(TF) -chdir=infrastructure/aws_prod destroy -var image_tag=$${IMAGE_TAG:-unused}
