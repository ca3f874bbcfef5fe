# Two entry points on a fresh machine: `make demo` and `make test`.
# Both bootstrap .venv from the pinned dependencies in pyproject.toml (idempotent:
# the stamp is rebuilt only when pyproject.toml changes).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# The 32-bit WebAssembly MicroPython (npm) runs the pure-logic tests where small ints
# stop at 30 bits, as on the boards. Optional: without npm those tests are skipped.
WASM_PKG := @micropython/micropython-webassembly-pyscript@1.27.0
WASM_MJS := $(CURDIR)/.wasm/node_modules/@micropython/micropython-webassembly-pyscript/micropython.mjs

# The qemu Cortex-M3 and 32-bit unix firmware (onenet-ota firmware, cached under
# build/fw/): the toolchain is installed where the machine allows (Debian, root), and
# Debian's chromium for the simulator page's browser test; the qemu and page tests skip
# themselves, saying why, where theirs is missing.
.PHONY: demo test bench venv wasm toolchain firmware clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/onenet-ota demo

wasm:
	@test -f $(WASM_MJS) || { command -v npm >/dev/null 2>&1 && \
	  npm install --silent --no-audit --no-fund --prefix .wasm $(WASM_PKG) >/dev/null 2>&1; } || \
	  echo "npm unavailable: the WebAssembly (32-bit) checks will be skipped"

toolchain: $(STAMP)
	@$(BIN)/python -m onenet_ota_tools.fwbuild.toolchain

firmware: toolchain
	@$(BIN)/onenet-ota firmware --target all --heap 64k || echo "firmware not built: the qemu tests will say why"

test: $(STAMP) wasm firmware
	OTA_WASM_MJS=$(WASM_MJS) $(BIN)/python -m pytest -q host_tests

bench: $(STAMP) wasm firmware
	OTA_WASM_MJS=$(WASM_MJS) $(BIN)/onenet-ota bench --out docs/PERFORMANCE.md

clean:
	rm -rf $(VENV) .wasm .pytest_cache .hypothesis .demo build
