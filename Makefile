# Two commands set everything up on a fresh machine with Python 3.11:
#   make report   create .venv, install, render the default scenario
#   make test     create .venv, install, run the tests
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
DEFAULT_SCENARIO ?= data/scenarios/fintech-rag.yaml
# The stamp is rebuilt whenever the package metadata changes, so installs are idempotent.
STAMP := $(VENV)/.installed

.PHONY: report test install bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,notebook]'
	touch $(STAMP)

report: $(STAMP)
	mkdir -p reports
	$(BIN)/tco evaluate $(DEFAULT_SCENARIO)

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/engine.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
