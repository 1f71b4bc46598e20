# The two commands in README.md: `make run` and `make test`. Both set up .venv by themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8080
HOST ?= 127.0.0.1

.PHONY: run test lint typecheck pytest synth clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(STAMP)
	@echo "Hotline on http://$(HOST):$(PORT)  (IVR_DEV=1: signatures NOT checked)"
	@echo "Try:  curl -s -X POST -d CallSid=CA1 -d From=%2B819012345678 http://$(HOST):$(PORT)/voice"
	@echo "Or walk the menu in the terminal:  $(BIN)/flask --app app ivr simulate"
	IVR_DEV=1 $(BIN)/flask --app app ivr db upgrade
	IVR_DEV=1 PUBLIC_BASE_URL=http://$(HOST):$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py -b $(HOST):$(PORT) app:app

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

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
