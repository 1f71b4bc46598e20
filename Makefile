# The two commands in README.md: `make run` and `make test`. Both set up .venv by themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
PORT ?= 8080
HOST ?= 127.0.0.1

# Locks with hashes, for any platform and Python ≥ 3.11 (markers where versions differ), each holding the one
# before it at the same versions: requirements/web.txt is the service's (the image installs it), run.txt adds
# the offline voice for `ivr synth` (what `make run` installs), dev.txt adds the production voice and the dev
# tools (what `make test` adds). `make lock` keeps what is pinned and adds what pyproject.toml newly needs;
# `make lock LOCK_ARGS=--upgrade` (or `LOCK_ARGS="--upgrade-package twilio"`) moves pins forward.
LOCK = $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" $(LOCK_ARGS)

.PHONY: run dev test lint typecheck pytest synth lock clean
# `make` alone: .venv as `make run` needs it (the service and the offline voice), without starting anything.
.DEFAULT_GOAL := $(RUN_STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Two stamps: `make test` after `make run` only adds the dev lock, `make run` after `make test` removes nothing.
# No .pyc files at install: Python writes those of the modules it imports, not of every module installed.
$(RUN_STAMP): requirements/run.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --no-compile --require-hashes -r requirements/run.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(DEV_STAMP): requirements/dev.txt $(RUN_STAMP)
	$(BIN)/pip install --quiet --no-compile --require-hashes -r requirements/dev.txt
	touch $@

dev: $(DEV_STAMP)

run: $(RUN_STAMP)
	@echo "Hotline on http://$(HOST):$(PORT)  (IVR_DEV=1: signatures NOT checked)"
	@echo "Try:  curl -s -X POST -d CallSid=CA1 -d From=%2B819012345678 http://$(HOST):$(PORT)/voice"
	@echo "Or walk the menu in the terminal:  $(BIN)/flask --app app ivr simulate"
	IVR_DEV=1 $(BIN)/flask --app app ivr db upgrade
	IVR_DEV=1 PUBLIC_BASE_URL=http://$(HOST):$(PORT) HOST=$(HOST) PORT=$(PORT) $(BIN)/python serve.py

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

pytest: $(DEV_STAMP)
	$(BIN)/python -m pytest -q

test: lint typecheck pytest

synth: $(RUN_STAMP)
	$(BIN)/flask --app app ivr synth

lock: $(DEV_STAMP)
	$(LOCK) pyproject.toml requirements/build.in -o requirements/web.txt
	$(LOCK) --extra synth -c requirements/web.txt pyproject.toml requirements/build.in -o requirements/run.txt
	$(LOCK) --extra dev -c requirements/run.txt pyproject.toml requirements/build.in -o requirements/dev.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
