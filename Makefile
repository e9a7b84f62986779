# Two entry points for a fresh machine: `make demo` (sample estate -> store -> plan -> report -> dashboard)
# and `make test` (everything the tests need, then the tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test system-deps bench clean

$(BIN)/churnplan: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,spark]'
	touch $@

setup: $(BIN)/churnplan

demo: setup
	$(BIN)/churnplan demo

system-deps:
	bash .ci/system-deps

test: system-deps setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python benchmarks/plan.py

clean:
	rm -rf $(VENV) churnplan.duckdb report
