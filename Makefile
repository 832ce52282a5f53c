# The two quick-start commands are `make demo` and `make test`; `make check` is what CI runs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: install demo test check lint typecheck format bench bench-ingest bench-metrics clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "IncidentLens needs Python 3.11 or newer"'
	@$(PYTHON) -m venv $(VENV) || { echo "error: '$(PYTHON) -m venv' failed; on Debian install python3-venv (apt-get install python3-venv)"; exit 1; }
	@$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

install: $(STAMP)

demo: install
	$(BIN)/incidentlens demo

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy

check: lint typecheck test

format: install
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: install
	$(BIN)/python benchmarks/bench_investigate.py

# Not part of `make test`: generates 1, 5 and 20 M spans (and as many log lines) in chdb; takes a while.
.PHONY: bench-scale
bench-scale: install
	$(BIN)/python benchmarks/bench_clickhouse_scale.py

# Not in the default tests: simulates bundles of 0.1-1 M log lines (minutes). BEFORE=../main/src adds a before column.
bench-ingest: install
	$(BIN)/python benchmarks/bench_ingest_speed.py --sizes 0.1,0.3,1 $(if $(BEFORE),--before-src $(BEFORE))

# Not in the default tests: 3 M metric samples as a Prometheus answer and a wide CSV, three ways each (a minute).
bench-metrics: install
	$(BIN)/python benchmarks/bench_metrics_ingest.py --samples 3000000

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist
