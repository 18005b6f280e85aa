# Every target bootstraps .venv on first use, so a clean clone needs only Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# the demo's captures: empty = $$AGENTHFT_DATA or ../shared/data where they hold captures, else
# the sample capture that ships with the package
DATA ?=

.PHONY: demo test lint bench bench-compare soak wheel wheel-check clean

# the compiled data path's sources too: an edited .pyx is rebuilt by the next target, not run stale
$(STAMP): pyproject.toml setup.py $(wildcard src/agenthft/*/*.pyx src/agenthft/*/*.pxd src/agenthft/*/*/*.pyx src/agenthft/*/*/*.pxd)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/agenthft demo $(if $(DATA),--data $(DATA))

# three workers on two cores: the suite waits on sockets and subprocesses a third of its time
test: $(STAMP)
	$(BIN)/pytest -n 3 --dist worksteal

soak: $(STAMP)
	$(BIN)/pytest -m soak -s

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/mypy

bench: $(STAMP)
	@for b in bench/[!_]*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# NautilusTrader and hftbacktest beside ours (bench/backtest.py), in their own venv: NautilusTrader
# pins uvloop 0.22.1, agenthft 0.23.0 (agenthft runs on either)
BENCH_VENV := .venv-bench
bench-compare:
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q --upgrade pip
	$(BENCH_VENV)/bin/pip install -q nautilus_trader==1.221.0 hftbacktest==2.4.4
	$(BENCH_VENV)/bin/pip install -q --no-deps -e .
	$(BENCH_VENV)/bin/pip install -q msgspec==0.22.0 picows==2.3.1 aiohttp==3.14.5 sortedcontainers==2.4.0 hdrhistogram==0.10.8 pyarrow==26.0.1 rich==15.0.0
	$(BENCH_VENV)/bin/python bench/backtest.py

# The wheel a user installs (pip install, pipx install, uv tool install take the same), with its
# data files: venue TOMLs, scenarios, the sample capture
wheel: $(STAMP)
	rm -rf dist
	$(BIN)/pip wheel -q --no-deps -w dist .
	@ls -l dist/*.whl

# The wheel as a user meets it: installed into a fresh venv outside the checkout, run from an
# empty folder with no ../shared beside it (no data folder: the demo falls back to the sample)
wheel-check: wheel
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/pip" install -q "$$(ls "$$PWD"/dist/agenthft-*.whl)"; \
	mkdir -p "$$tmp/empty/here"; cd "$$tmp/empty/here"; \
	test ! -e ../shared; \
	env -u AGENTHFT_DATA "$$tmp/venv/bin/agenthft" --version; \
	env -u AGENTHFT_DATA AGENTHFT_CACHE="$$tmp/cache" "$$tmp/venv/bin/agenthft" demo --duration 5 --out "$$tmp/results"; \
	echo "wheel-check: the installed wheel ran the demo from $$tmp/empty/here (exit 0)"

clean:
	rm -rf $(VENV) $(BENCH_VENV) .mypy_cache .pytest_cache .ruff_cache build dist src/*.egg-info
