# Churn with XGBoost: data -> model bundle -> local stack or AWS. `make help` lists targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON     ?= python3
VENV       := .venv
BIN        := $(VENV)/bin
PY         := $(BIN)/python
CHECKOV    := .venv-checkov/bin/checkov
# uv installs both virtualenvs from lock files. Its version is pyproject's [tool.uv] required-version
# (uv enforces it; CI's setup-uv reads it); make bootstraps it into .venv-uv unless UV names one.
UV_VERSION := $(shell sed -n 's/^required-version = "==\(.*\)"/\1/p' pyproject.toml)
UV         ?= .venv-uv/bin/uv
UV_DEP     := $(filter .venv-uv/bin/uv,$(UV))

DATA       ?= url            # url (the lab's dataset, synthetic when offline) | PATH | URL | synthetic
PRESET     ?= default        # default | notebook (the lab's recipe)
BACKEND    ?= local          # local | sagemaker
MODEL      ?= build/model
HOST       ?= 127.0.0.1
PORT       ?= 8080
MODEL_PORT ?= 8081
TUNE       ?=
HOURS      ?= 24             # make drift: the window, last N hours
REGION     ?= us-east-1
NAME       ?= churn
# Remote state for a team: terraform/bootstrap creates the bucket; `STATE_BUCKET=… make init`
# writes the S3 backend. Empty (the default) keeps local state.
STATE_BUCKET ?=
STATE_KEY    ?= $(strip $(NAME))/terraform.tfstate
BACKEND_HCL  := build/backend.hcl
BACKEND_ARGS ?=# extra -backend-config=KEY=VALUE arguments (a profile, or a test's endpoint)
TFVARS     := build/model.auto.tfvars.json
TF_DIR     := terraform
TF         := terraform -chdir=$(TF_DIR)
APPROVE    := $(if $(AUTO_APPROVE),-auto-approve)
TF_VARS    := -var region=$(strip $(REGION)) -var name_prefix=$(strip $(NAME)) $(if $(wildcard $(TFVARS)),-var-file=$(abspath $(TFVARS)))

# Offline provider mirror when the machine has one (scripts/tf_cli_config.sh decides).
export TF_CLI_CONFIG_FILE := $(CURDIR)/build/terraform.rc
export SAGEMAKER_SUPPRESS_V2_WARNING := 1
# Bytecode of every import (the virtualenvs included: uv installs no .pyc) is cached under
# build/pycache, not beside the sources: each of the tests' many Python processes would
# otherwise compile numpy, pandas, boto3... again (about 5 s of CPU each).
export PYTHONPYCACHEPREFIX := $(CURDIR)/build/pycache
# A PYTHONDONTWRITEBYTECODE from the environment would turn that cache off.
unexport PYTHONDONTWRITEBYTECODE
# uv uses the machine's python3 (PYTHON), never an interpreter it would download.
export UV_PYTHON_DOWNLOADS := never

.PHONY: help install lock lint tf-docs tools data report train score serve demo package test bench \
        init plan apply apply-base destroy smoke deploy deploy-model rollback publish approve evaluate-endpoint drift fmt clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

install: $(VENV)/.installed ## Create .venv from uv.lock: the project with its AWS and dev extras

# --frozen: exactly the versions in uv.lock, no resolution (make lint checks the lock is current).
$(VENV)/.installed: pyproject.toml uv.lock $(UV_DEP)
	$(UV) sync --frozen --extra aws --extra dev --python $(PYTHON)
	touch $@

# checkov pins an old boto3: it gets a virtualenv of its own, from hashed pins.
.venv-checkov/.installed: requirements-checkov.txt $(UV_DEP)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) .venv-checkov
	$(UV) pip sync --quiet --python .venv-checkov/bin/python --require-hashes requirements-checkov.txt
	touch $@

# uv is one static binary: pip unpacks its wheel into a plain folder (no virtualenv with its own
# pip to build first: 4 s instead of 8 s on a fresh clone). pip runs from its own installed
# bytecode: under build/pycache it would compile itself first (2 s more on a fresh clone).
.venv-uv/bin/uv: pyproject.toml
	rm -rf .venv-uv
	env -u PYTHONPYCACHEPREFIX $(PYTHON) -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-warn-script-location \
	  --target .venv-uv 'uv==$(UV_VERSION)'
	touch $@

lock: $(UV_DEP) ## Re-resolve uv.lock and requirements-checkov.txt after a change to pyproject.toml or requirements-checkov.in
	$(UV) lock --python $(PYTHON)
	$(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes requirements-checkov.in -o requirements-checkov.txt

lint: install ## ruff, ruff format --check, mypy, terraform fmt -check, module READMEs current, uv.lock current
	$(UV) lock --check --offline --python $(PYTHON)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	terraform fmt -check -recursive terraform
	$(PY) scripts/tf_docs.py --check

tf-docs: install ## Regenerate the tables of terraform/modules/*/README.md from the modules' .tf files
	$(PY) scripts/tf_docs.py

build/terraform.rc: scripts/tf_cli_config.sh
	sh scripts/tf_cli_config.sh $@

tools: ## Debian packages the tests and benchmarks drive: Chromium, wrk, Node.js (npm)
	@bash scripts/install_tools.sh

# The deploy-role check's IAM policy evaluator (iam-simulate, tests only), from its lock file.
# Without npm it is left out, and the check skips with the reason.
IAM_EVALUATOR := tests/rehearsal/iam/node_modules/.installed
$(IAM_EVALUATOR): tests/rehearsal/iam/package.json tests/rehearsal/iam/package-lock.json | tools
	if command -v npm >/dev/null; then npm ci --prefix tests/rehearsal/iam --no-audit --no-fund --loglevel=error && touch $@; fi

data: install ## Fetch (or generate) and validate the raw dataset into build/data/churn.csv
	$(PY) -m ml data --data $(strip $(DATA))

report: install ## Exploration report of the raw data: build/report/index.html
	$(PY) -m ml report --data $(strip $(DATA))

train: install ## Train and bundle into build/model (BACKEND=local|sagemaker, PRESET, DATA, TUNE=1)
	$(PY) -m ml train --backend $(strip $(BACKEND)) --data $(strip $(DATA)) --preset $(strip $(PRESET)) --out $(MODEL) $(if $(TUNE),--tune) $(if $(filter sagemaker,$(strip $(BACKEND))),--name $(strip $(NAME)))

score: install ## Score a raw CSV: make score INPUT=customers.csv OUTPUT=scored.csv [EXPLAIN=1] [NO_FORMULA_GUARD=1]
	$(PY) -m ml score --backend $(strip $(BACKEND)) --model $(MODEL) --input $(INPUT) --output $(OUTPUT) $(if $(EXPLAIN),--explain) $(if $(NO_FORMULA_GUARD),--no-formula-guard) $(if $(filter sagemaker,$(strip $(BACKEND))),--name $(strip $(NAME)))

serve: install ## Serve an existing bundle: model server + local API + web page
	$(PY) -m ml stack --model $(MODEL) --host $(HOST) --port $(PORT) --model-port $(MODEL_PORT)

demo: install ## The whole flow offline: data, train, bundle, then serve the page
	$(PY) -m ml train --data $(strip $(DATA)) --preset $(strip $(PRESET)) --out $(MODEL)
	$(PY) -m ml stack --model $(MODEL) --host $(HOST) --port $(PORT) --model-port $(MODEL_PORT)

package: install ## Build build/invoker.zip (handler + encoder + schema), deterministic
	$(PY) scripts/package_lambda.py --model $(MODEL) --out build/invoker.zip

# Workers of pytest-xdist for everything but the deploy rehearsal; tests/parallel.py groups the
# tests that share a fixture. One more than the 2 cores, beside the rehearsal's own process: much
# of the suite waits on terraform, servers and Chromium, and the rehearsal's makes mostly wait on
# provider polls.
TEST_WORKERS ?= 3
REHEARSAL_LOG := build/test-rehearsal.log
# Terraform and the AWS provider are Go programs; the provider allocates heavily while it builds
# its schema, for every terraform command the tests run. A lazier garbage collector saves
# about a fifth of their CPU for ~200 MB more memory each.
test: export GOGC := 400

# The deploy rehearsal (tests/rehearsal/) is the longest chain of the suite (~4 min of make
# steps, mostly provider waits): it starts first, in a pytest of its own, while make lint runs
# and the rest of the suite follows on TEST_WORKERS workers; its report is printed at the end.
# build/pycache is empty on a fresh clone, and the xdist workers, collecting at the same moment,
# would each compile the same libraries: one collection compiles them while make lint runs.
# (Warming moto's backends and the SageMaker SDK too cost more at this step than it saved later.)
test: install .venv-checkov/.installed build/terraform.rc tools $(IAM_EVALUATOR) ## Install everything, make lint, then every test (the rehearsal beside the rest, on TEST_WORKERS workers)
	rm -rf build/pytest-rehearsal
	$(PY) -m pytest -p tests.parallel --basetemp=build/pytest-rehearsal tests/rehearsal > $(REHEARSAL_LOG) 2>&1 & rehearsal=$$!; \
	  $(PY) -m pytest --collect-only -q -p no:cacheprovider --ignore=tests/rehearsal > /dev/null 2>&1 & warm=$$!; \
	  $(MAKE) --no-print-directory lint && lint=0 || lint=$$?; wait $$warm || true; rest=1; \
	  if [ $$lint = 0 ]; then $(PY) -m pytest -p tests.parallel -n $(TEST_WORKERS) --dist loadgroup --ignore=tests/rehearsal && rest=0 || rest=$$?; fi; \
	  wait $$rehearsal && rehearsed=0 || rehearsed=$$?; echo "--- the deploy rehearsal (tests/rehearsal/, $(REHEARSAL_LOG)):"; cat $(REHEARSAL_LOG); \
	  exit $$(( lint || rest || rehearsed ))

bench: install build/terraform.rc tools ## Benchmarks: one table, build/bench.json; BEFORE=<rev> adds that commit's model server; the 30 s load test
	$(PY) bench/run.py $(if $(BEFORE),--before $(strip $(BEFORE)))
	CHURN_LOAD_SECONDS=30 $(PY) -m pytest -q -s tests/reliability/test_load.py

fmt: ## Format Terraform
	terraform fmt -recursive terraform

init: build/terraform.rc ## terraform init: local state, or S3 with lock file when STATE_BUCKET=… (STATE_KEY, REGION)
ifneq ($(strip $(STATE_BUCKET)),)
	# terraform/backend.tf (git-ignored) declares the backend; build/backend.hcl holds its values.
	printf '%s\n' '# Written by make init (STATE_BUCKET set): state in S3, S3-native locking (Terraform >= 1.10).' \
	  'terraform {' '  backend "s3" {' '    use_lockfile = true' '    encrypt      = true' '  }' '}' > $(TF_DIR)/backend.tf
	mkdir -p $(dir $(BACKEND_HCL))
	printf 'bucket = "%s"\nkey    = "%s"\nregion = "%s"\n' '$(strip $(STATE_BUCKET))' '$(strip $(STATE_KEY))' '$(strip $(REGION))' > $(BACKEND_HCL)
	$(TF) init -input=false -backend-config=$(abspath $(BACKEND_HCL)) $(BACKEND_ARGS)
else
	$(TF) init -input=false
endif

# CHECK=1: -detailed-exitcode, so a plan with changes fails (exit 2): "is the stack what the code says?"
plan: init ## terraform plan with build/model.auto.tfvars.json when present (CHECK=1: fail when there are changes)
	$(TF) plan -input=false $(if $(CHECK),-detailed-exitcode) $(TF_VARS)

# SageMaker can roll a model update back by itself (a rollback alarm fired during a guarded
# update, or the new fleet never came up) and the AWS provider reports success (#48997). After
# the apply, failed or not (the endpoint's postcondition fails it on a rollback, before the old
# configuration is deleted), the endpoint's configuration is compared with the one Terraform
# applied, and a mismatch fails with what happened. apply-base and destroy's bucket apply never
# touch the endpoint: no check there (it would block the redeploy that fixes a rollback).
ROLLOUT_CHECK = $(PY) -m ml.sagemaker.rollout_check --region $(strip $(REGION))

apply: install init ## terraform apply with build/model.auto.tfvars.json when present (AUTO_APPROVE=1 skips the prompt), then check the endpoint runs the applied configuration
	$(TF) apply -input=false $(APPROVE) $(TF_VARS) || { status=$$?; $(ROLLOUT_CHECK) || true; exit $$status; }
	$(ROLLOUT_CHECK)

destroy: init ## Remove every AWS resource, the endpoint first (its meter stops there), then the rest
	$(PY) scripts/aws_cost.py destroy
	$(TF) destroy -input=false $(APPROVE) -target=module.endpoint $(TF_VARS)
	# The data bucket holds training data: allow deleting a non-empty bucket, then destroy all.
	$(TF) apply -input=false -auto-approve -target=module.data_bucket -var force_destroy=true $(TF_VARS)
	# SageMaker refuses to delete a model package group that still has versions.
	$(PY) -m ml registry --group $(strip $(NAME)) --region $(strip $(REGION)) purge
	$(TF) destroy -input=false $(APPROVE) -var force_destroy=true $(TF_VARS)

smoke: install ## POST an example customer to the deployed API and check a probability and its reasons come back
	$(PY) scripts/smoke.py --api-url "$$($(TF) output -raw api_url)" --model $(MODEL)

publish: install ## Upload a locally trained bundle to the data bucket and register it, pending approval (DATA: its data)
	$(PY) -m ml.sagemaker.publish --model $(MODEL) --name $(strip $(NAME)) --data $(strip $(DATA))

# The registry's commands; the group is the stack's NAME. NOTE and VERSION reach them through
# the environment (make exports command-line variables), so quotes or `$(…)` in them stay text.
REGISTRY = $(PY) -m ml registry --group $(strip $(NAME)) --region $(strip $(REGION)) --model $(MODEL)

approve: install ## Approve registry version VERSION (a number, or trained: the one make train/publish registered here) with NOTE="why", after comparing it with the champion (FORCE=1: even if it costs more)
	$(if $(strip $(VERSION)),,$(error VERSION is required: make approve VERSION=3 NOTE="why"))
	$(REGISTRY) approve "$${VERSION-}" --note "$${NOTE-}" $(if $(FORCE),--force)

deploy-model: install init ## Deploy registry version VERSION (default: the latest Approved) without training: handoff from the registry and S3, then make apply
	$(REGISTRY) handoff "$${VERSION-}"
	$(MAKE) apply

# SageMaker's view decides what serves (not Terraform's state: they differ after a rollback
# SageMaker made itself); the version left is marked Rejected only once the apply has succeeded.
rollback: install init ## Deploy the Approved version before the one serving; the one left becomes Rejected (NOTE="why")
	$(REGISTRY) rollback prepare --note "$${NOTE-}"
	$(MAKE) apply
	$(REGISTRY) rollback finish --note "$${NOTE-}"

evaluate-endpoint: install ## Score the test split through the deployed endpoint; print the metrics
	$(PY) -m ml.sagemaker.endpoint_eval --model $(MODEL)

drift: install ## Live score deciles and flagged share (CloudWatch, last HOURS) against the bundle: PSI and a verdict
	$(PY) -m ml drift --model $(MODEL) --hours $(strip $(HOURS)) --region $(strip $(REGION))

# Stage 1 of deploy touches only what training needs. A plain apply without the model's tfvars
# (a fresh CI runner has no build/) would plan the live endpoint, Lambda and API away.
# The role lives in module.endpoint (the model uses it): its policy is targeted, which brings
# the role and the bucket it names; the role_arn output follows. Training registers its model
# in the model package group, so the group comes in stage 1 too.
STAGE1_TARGETS := -target=module.data_bucket -target=module.endpoint.aws_iam_role_policy.this -target=module.model_registry
apply-base: init ## terraform apply of the data bucket, SageMaker role and model package group only (stage 1 of deploy; never touches a live endpoint)
	$(TF) apply -input=false $(APPROVE) $(STAGE1_TARGETS) $(TF_VARS)

# SMOKE=0 leaves the smoke test out (the rehearsal against moto, which cannot run the Lambda).
SMOKE ?= 1
# A laptop's first deploy in one command. It approves what it trained (and says so): a team
# approves with make approve after comparing, and deploys with make deploy-model (docs/releasing.md).
# The approval still compares with the champion, and refuses a costlier model without FORCE=1.
DEPLOY_NOTE := make deploy: trained, approved and deployed in one command
deploy: install ## apply-base -> train on SageMaker (registers a version) -> approve it -> deploy-model -> smoke (SMOKE=0: none)
	$(PY) scripts/aws_cost.py deploy $(if $(TUNE),--tune)
	$(MAKE) apply-base
	$(MAKE) train BACKEND=sagemaker
	@echo "make deploy approves the version it trained (a team runs make approve itself: docs/releasing.md)"
	$(MAKE) approve VERSION=trained NOTE="$(DEPLOY_NOTE)"
	$(MAKE) deploy-model VERSION=trained
	$(if $(filter 1,$(strip $(SMOKE))),$(MAKE) smoke,@echo "smoke test skipped (SMOKE=$(strip $(SMOKE)))")

clean: ## Remove build/ (bundles, reports, zips); keeps the virtualenvs
	rm -rf build
