# servicemap — two commands: `make run` and `make test`.
#
# Both install exactly the locked dependency tree (requirements.lock, with hashes) into
# .venv first; pyproject.toml keeps the ranges the code supports.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
LOCK := requirements.lock
UV_VERSION := 0.13.9
LOCK_FLAGS := --all-extras --universal --python-version 3.11 --generate-hashes --no-header
# The ogctests verifier of the OGC API lives in its own venv (its pins are not the app's).
OGCTESTS_VENV := .venv-ogctests
OGCTESTS_STAMP := $(OGCTESTS_VENV)/.installed-stamp
OGCTESTS_LOCK := requirements-ogctests.lock

.PHONY: run test lint bench data clean lock test-latest

# A changed lock (or pyproject) rebuilds the environment from scratch, so nothing that the
# lock no longer names lingers in it.
$(STAMP): $(LOCK) pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	@touch $(STAMP)

$(OGCTESTS_STAMP): $(OGCTESTS_LOCK)
	rm -rf $(OGCTESTS_VENV)
	$(PYTHON) -m venv $(OGCTESTS_VENV)
	$(OGCTESTS_VENV)/bin/python -m pip install --quiet --require-hashes --no-deps -r $(OGCTESTS_LOCK)
	$(OGCTESTS_VENV)/bin/python -m pip check
	@touch $(OGCTESTS_STAMP)

## run: install into .venv if needed and serve the API and map on http://127.0.0.1:8000
run: $(STAMP)
	$(VENV)/bin/servicemap serve --host 127.0.0.1 --port 8000

## test: install test dependencies and system services (PostGIS, Chromium), run every test
test: $(STAMP) $(OGCTESTS_STAMP)
	bash scripts/ensure-services.sh
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

## lock: refresh requirements.lock to the newest releases pyproject.toml allows, then rerun the suite
lock:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet uv==$(UV_VERSION)
	$(VENV)/bin/uv pip compile pyproject.toml requirements-build.in $(LOCK_FLAGS) --upgrade -o $(LOCK)
	$(VENV)/bin/uv pip compile requirements-ogctests.in $(subst --all-extras ,,$(LOCK_FLAGS)) --upgrade -o $(OGCTESTS_LOCK)
	$(MAKE) test

## test-latest: the suite against the newest releases, in a throwaway environment
test-latest: $(OGCTESTS_STAMP)
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/pip" install --quiet --upgrade pip setuptools wheel; \
	"$$tmp/venv/bin/pip" install --quiet --upgrade -e '.[test,bench]'; \
	"$$tmp/venv/bin/pip" list --format=freeze > "$$tmp/versions.txt"; \
	echo "test-latest: newest releases installed:"; cat "$$tmp/versions.txt"; \
	bash scripts/ensure-services.sh; \
	"$$tmp/venv/bin/ruff" check .; \
	"$$tmp/venv/bin/python" -m pytest -p no:cacheprovider

## bench: run every benchmark and print the figures
bench: $(STAMP)
	$(PY) bench/run_all.py

## data: rebuild data/ from the shared sources (SOURCE=path to the source data folder)
data: $(STAMP)
	$(VENV)/bin/servicemap data build --source $(SOURCE)

clean:
	rm -rf $(VENV) $(OGCTESTS_VENV) var test-artifacts .pytest_cache .ruff_cache
