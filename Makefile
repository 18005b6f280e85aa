# Every target bootstraps .venv on first use, so a clean clone needs only Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= ../shared/data

.PHONY: demo test lint bench bench-compare soak clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/agenthft demo --data $(DATA)

test: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadfile

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

clean:
	rm -rf $(VENV) $(BENCH_VENV) .mypy_cache .pytest_cache .ruff_cache build src/*.egg-info
