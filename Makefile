# The two commands in README.md: `make run` and `make test`. Both set up .venv by themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8080
HOST ?= 127.0.0.1

# Locks with hashes, for any platform and Python ≥ 3.11 (markers where versions differ): requirements/web.txt
# is the service's (the image installs it), requirements/dev.txt adds synthesis and the dev tools at the same
# versions. `make lock` keeps what is pinned and adds what pyproject.toml newly needs;
# `make lock LOCK_ARGS=--upgrade` (or `LOCK_ARGS="--upgrade-package twilio"`) moves pins forward.
LOCK = $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" $(LOCK_ARGS)

.PHONY: run test lint typecheck pytest synth lock clean

$(STAMP): requirements/dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

run: $(STAMP)
	@echo "Hotline on http://$(HOST):$(PORT)  (IVR_DEV=1: signatures NOT checked)"
	@echo "Try:  curl -s -X POST -d CallSid=CA1 -d From=%2B819012345678 http://$(HOST):$(PORT)/voice"
	@echo "Or walk the menu in the terminal:  $(BIN)/flask --app app ivr simulate"
	IVR_DEV=1 $(BIN)/flask --app app ivr db upgrade
	IVR_DEV=1 PUBLIC_BASE_URL=http://$(HOST):$(PORT) HOST=$(HOST) PORT=$(PORT) $(BIN)/python serve.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest -q

test: lint typecheck pytest

synth: $(STAMP)
	$(BIN)/flask --app app ivr synth

lock: $(STAMP)
	$(LOCK) pyproject.toml requirements/build.in -o requirements/web.txt
	$(LOCK) --extra dev -c requirements/web.txt pyproject.toml requirements/build.in -o requirements/dev.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
