# Two entry points for a fresh machine (see README):
#   make example   set up, then write the report for the bundled example profile
#   make test      set up, then run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: example test test-fast bench setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@command -v pdftoppm >/dev/null 2>&1 || true
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

example: $(STAMP)
	$(BIN)/cruxfit report --output example-report.pdf
	@echo "Open example-report.pdf"

# Two processes (pytest-xdist): measured faster than one on two cores. Tests marked slow are
# the only ones allowed to sample (tests/conftest.py fails any other test that tries), so
# test-fast, which leaves out slow and heavy tests, samples nothing.
test: $(STAMP)
	$(BIN)/python -m pytest -n 2

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 -m "not slow and not heavy"

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) build *.egg-info example-report.pdf
