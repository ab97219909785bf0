# The two commands a fresh machine needs: `make demo` and `make test`. Both set themselves up.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# The manifest checkers live in their own venv: checkov pulls in ~150 packages the project does not use.
TOOLS_VENV ?= .venv-tools
TOOLS_STAMP := $(TOOLS_VENV)/.installed-stamp
TOOLS := checkov==3.3.30 kubernetes-validate==1.37.0
# Every Kubernetes resource in deploy/ (kustomization.yaml is kustomize's, not the API server's).
MANIFESTS := $(filter-out deploy/kustomization.yaml,$(wildcard deploy/*.yaml))

.DEFAULT_GOAL := check
.PHONY: install demo test pytest lint fmt format-check types manifests chromium pushgateway check bench profile clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## The main job on embedded defaults: simulator + embedded PostgreSQL, crawl, report.
demo: $(STAMP)
	$(BIN)/swr-etl demo

$(TOOLS_STAMP): Makefile
	@test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check $(TOOLS)
	@touch $(TOOLS_STAMP)

## Lint, type check, the manifests, then the whole test suite (real PostgreSQL, simulator over real HTTP).
test: chromium pushgateway lint types manifests pytest

## deploy/: valid for the Kubernetes API (strict: no unknown fields) and clean under checkov.
manifests: $(TOOLS_STAMP)
	$(TOOLS_VENV)/bin/kubernetes-validate --strict --quiet $(MANIFESTS)
	$(TOOLS_VENV)/bin/checkov --framework kubernetes --directory deploy --compact --quiet --skip-download


## The HTML report test renders in a real headless browser: Debian's chromium, installed when missing.
chromium:
	@command -v chromium >/dev/null || { test "$$(id -u)" = 0 || { echo "chromium missing: run make chromium as root" >&2; exit 1; }; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

## The Prometheus Pushgateway the metrics tests push to: Debian's package, installed (as root) when missing.
pushgateway:
	@command -v prometheus-pushgateway >/dev/null || { \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-pushgateway; }

pytest: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check pipeline migrations tests bench

format-check: $(STAMP)
	$(BIN)/ruff format --check pipeline migrations tests bench

fmt: $(STAMP)
	$(BIN)/ruff format pipeline migrations tests bench
	$(BIN)/ruff check --fix pipeline migrations tests bench

types: $(STAMP)
	$(BIN)/mypy

## The one gate: format, lint, types, tests.
check: format-check test

bench: $(STAMP)
	@# Bytecode compiled ahead, as the container image's pip install does (this machine sets
	@# PYTHONDONTWRITEBYTECODE, which would otherwise make every measured process compile the package).
	$(BIN)/python -m compileall -q pipeline bench migrations
	$(BIN)/python -m bench.run $(BENCH_ARGS)

## Where the crawl's CPU goes: py-spy on a crawl of the large workload (PROFILE_ARGS="--crawl 2 ...").
profile: $(STAMP)
	$(BIN)/python -m compileall -q pipeline bench migrations
	$(BIN)/python -m bench.profile $(PROFILE_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS_VENV) .pytest_cache .mypy_cache .ruff_cache
