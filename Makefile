# Two entry points for a fresh machine: `make demo` (sample estate -> store -> plan -> report -> dashboard)
# and `make test` (everything the tests need, the static checks, then the tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test system-deps bench lint dist clean

$(BIN)/churnplan: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,spark,lint]'
	touch $@

setup: $(BIN)/churnplan

demo: setup
	$(BIN)/churnplan demo

system-deps:
	bash .ci/system-deps

test: system-deps setup
	BIN=$(BIN) bash .ci/lint
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python benchmarks/plan.py

# Static checks (ruff, import-linter, mypy); `make test` runs them before the tests.
lint: setup
	BIN=$(BIN) bash .ci/lint

# The sdist and the wheel (the wheel built from the sdist) in dist/.
dist: setup
	$(BIN)/python -m build --outdir dist .

clean:
	rm -rf $(VENV) churnplan.duckdb report dist build
