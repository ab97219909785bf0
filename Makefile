# The two commands a fresh machine needs: `make demo` and `make test`. Both set themselves up.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.DEFAULT_GOAL := check
.PHONY: install demo test pytest lint fmt format-check types check bench profile clean pushgateway

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## The main job on embedded defaults: simulator + embedded PostgreSQL, crawl, report.
demo: $(STAMP)
	$(BIN)/swr-etl demo

## Lint, type check, then the whole test suite (real PostgreSQL, simulator over real HTTP).
test: lint types pushgateway pytest

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
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
