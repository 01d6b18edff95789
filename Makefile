# servicemap — two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint bench data clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench]'
	@touch $(STAMP)

## run: install into .venv if needed and serve the API and map on http://127.0.0.1:8000
run: $(STAMP)
	$(VENV)/bin/servicemap serve --host 127.0.0.1 --port 8000

## test: install test dependencies and system services (PostGIS, Chromium), run every test
test: $(STAMP)
	bash scripts/ensure-services.sh
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

## bench: run every benchmark and print the figures
bench: $(STAMP)
	$(PY) bench/run_all.py

## data: rebuild data/ from the shared sources (SOURCE=path to the source data folder)
data: $(STAMP)
	$(VENV)/bin/servicemap data build --source $(SOURCE)

clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache .ruff_cache
