# Two entry points for a fresh machine: `make run` (the main job) and `make test`.
#
# Both install the exact versions of the lock, requirements-lock.txt (what `run` needs) and
# requirements-dev-lock.txt (with the dev extra, for `test`), as pip constraints: a new
# release of a dependency cannot change what a fresh machine installs. The lock pins pip and
# the build backend (setuptools) too; the backend is used without build isolation for the
# same reason.
#   make lock         make the lock again: the newest versions pyproject.toml allows, on PyPI
#   make test-latest  the tests on those newest versions, in .venv-latest, without the lock
# PYTEST_ARGS picks tests or options, e.g. `make test PYTEST_ARGS="-x tests/records"`.
PYTHON ?= python3
PYTEST_ARGS ?=
VENV := .venv
BIN := $(VENV)/bin
LOCK := requirements-lock.txt
LOCK_DEV := requirements-dev-lock.txt
LATEST := .venv-latest
# `make lock` reads this index only: no pip configuration, no local wheel directories.
LOCK_INDEX ?= https://pypi.org/simple
LOCK_VENV := .venv-lock
LOCK_PIP := env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL -u PIP_CONSTRAINT \
	PIP_CONFIG_FILE=/dev/null $(LOCK_VENV)/bin/python -m pip
# A lock line for each installed distribution but metasift (pip included: the first thing a
# fresh venv installs), under a header.
HEADER := $(LOCK_VENV)/bin/python -c 'import sys; print( \
	"\# Exact versions (pip constraints) made by `make lock` from PyPI with Python", \
	"%d.%d; do not edit." % sys.version_info[:2])'
FREEZE := $(LOCK_VENV)/bin/python -m pip freeze --all --exclude-editable

.PHONY: run test test-latest lock lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade -c $(LOCK) pip

$(VENV)/.installed: pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install -c $(LOCK) setuptools
	$(BIN)/python -m pip install --no-build-isolation -c $(LOCK) -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(LOCK_DEV) | $(BIN)/python
	$(BIN)/python -m pip install -c $(LOCK_DEV) setuptools
	$(BIN)/python -m pip install --no-build-isolation -c $(LOCK_DEV) -e ".[dev]"
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	rm -rf build/admsc-skin
	mkdir -p build
	cp -r examples/admsc-skin build/admsc-skin
	$(BIN)/metasift run --project build/admsc-skin --offline

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The newest versions pyproject.toml allows, installed afresh each time; the versions that
# differ from the lock are listed before the tests run.
test-latest:
	test -x $(LATEST)/bin/python || $(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --upgrade pip
	$(LATEST)/bin/python -m pip install --upgrade --upgrade-strategy eager -e ".[dev]"
	@echo "versions not in $(LOCK_DEV):"
	@$(LATEST)/bin/python -m pip freeze --exclude-editable | grep -vxFf $(LOCK_DEV) || true
	$(LATEST)/bin/python -m pytest $(PYTEST_ARGS)

# Resolved in a fresh venv from the one index, runtime first, then the dev extra constrained
# by it, so that the two files agree on every version they share.
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_PIP) install --index-url $(LOCK_INDEX) --upgrade pip
	$(LOCK_PIP) install --index-url $(LOCK_INDEX) "setuptools>=69" -e .
	($(HEADER) && $(FREEZE)) > $(LOCK)
	$(LOCK_PIP) install --index-url $(LOCK_INDEX) -c $(LOCK) -e ".[dev]"
	($(HEADER) && $(FREEZE)) > $(LOCK_DEV)
	rm -rf $(LOCK_VENV)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) $(LATEST) $(LOCK_VENV) build
