# Loyalty Admin. `make run` and `make test` set everything up themselves.
SHELL := /bin/bash
PY := .venv/bin/python
export LOYALTY_TESTING ?=

.PHONY: setup run test lint format bench check-deploy clean

setup:
	@bash scripts/setup.sh

run: setup
	@bash scripts/run.sh

test: setup
	@LOYALTY_TESTING=1 $(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/djlint templates --lint
	.venv/bin/lint-imports

format: setup
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .
	.venv/bin/djlint templates --reformat

bench: setup
	@bash scripts/bench.sh $(BENCH_ARGS)

check-deploy: setup
	@bash scripts/check_deploy.sh

clean:
	rm -rf .venv node_modules staticfiles
