# otsec: every command a person or CI needs. `make setup` is idempotent.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.otsec-installed

.PHONY: setup system-deps native demo test lint typecheck pytest bench bench-capture pcaps baselines clean

setup: system-deps $(STAMP) native

# The packet path compiled with mypyc into build/native/ (rebuilt only when a source
# changed; dissectors/_native.py falls back to plain Python while it is stale).
native: $(STAMP)
	@$(BIN)/python scripts/build_native.py

system-deps:
	@PYTHON=$(PYTHON) bash scripts/system-deps.sh

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: setup
	@bash scripts/demo.sh

test: setup lint typecheck pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

pytest: setup
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python tests/bench/bench.py $(BENCH_ARGS)

# Live capture: packets sent and received per backend and tcpdump at increasing rates on
# a veth pair between two network namespaces (root; about 6-10 minutes).
bench-capture: setup
	$(BIN)/python tests/bench/capture_bench.py $(BENCH_ARGS)

pcaps: setup
	$(BIN)/python pcaps/gen_plant.py --all

# The committed sample baseline (tests/test_scenarios.py checks it is what learning gives).
baselines: setup
	$(BIN)/otsec baseline learn pcaps/plant_baseline.pcap --config baselines/plant.toml \
	    -o baselines/plant.json --no-progress

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
