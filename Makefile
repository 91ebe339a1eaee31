# Two commands bootstrap everything on a fresh machine (Python 3.11, make, a C compiler):
#   make conformance   run the suite against the bundled reference replica
#   make test          run the project's own tests
# Both create .venv and install the project (with its dev tools) into it on first use.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PROFILE ?= ci
PYTEST_ARGS ?=
# The bundled replica as several processes, each with several workers (docs/spec.md section 15):
#   make conformance REPLICA_PROCESSES=2 REPLICA_WORKERS=3
REPLICA_PROCESSES ?= 1
REPLICA_WORKERS ?= 1
REPLICA_SHAPE := $(if $(filter-out 1,$(REPLICA_PROCESSES) $(REPLICA_WORKERS)),--replica-cmd '{python} -m reference_replica --listen 127.0.0.1:0 --storage-allow {storage} --processes $(REPLICA_PROCESSES) --workers $(REPLICA_WORKERS)')
BENCH_ARGS ?=

.PHONY: all venv conformance test protos protos-check lint mutants variants bench clean

all: test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

# The main job: start the embedded reference replica and run the suite against it.
conformance: $(STAMP)
	$(PY) -m conformance run --conformance-profile $(PROFILE) $(REPLICA_SHAPE) $(PYTEST_ARGS)

# The project's own tests (unit, integration, the mutant kill matrix).
test: $(STAMP)
	$(PY) protos/generate.py --check
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

protos: $(STAMP)
	$(PY) protos/generate.py

protos-check: $(STAMP)
	$(PY) protos/generate.py --check

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(VENV)/bin/buf lint protos
	$(PY) protos/generate.py --check

mutants: $(STAMP)
	$(PY) -m tests.mutants.matrix

# The legal-variant matrix: the suite must pass every legal variant of the reference replica.
variants: $(STAMP)
	$(PY) -m tests.variants.matrix

# Every bench prints its ratios with the baselines measured in the same run;
# BENCH_ARGS=--strict fails on a missed target, BENCH_ARGS=--quick is a smoke run.
bench: $(STAMP)
	$(PY) bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis conformance-artifacts
