# Two entry points on a fresh machine: `make demo` and `make test`.
# Both bootstrap .venv from the pinned dependencies in pyproject.toml (idempotent:
# the stamp is rebuilt only when pyproject.toml changes).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/onenet-ota demo

test: $(STAMP)
	$(BIN)/python -m pytest -q host_tests

bench: $(STAMP)
	$(BIN)/onenet-ota bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .demo
