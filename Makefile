# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Real-model tests use a model store pulled once into the repo's cache.
TEST_HOME := $(CURDIR)/.cache/test-home
TORCH := torch==2.13.0

.PHONY: run test install lint format models test-models bench clean

PLUGINS := plugins/llmsh-summarize plugins/llmsh-sweep

$(STAMP): pyproject.toml Makefile $(addsuffix /pyproject.toml,$(PLUGINS))
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# CPU build of torch first: a bare `torch` requirement would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m pip install -q $(addprefix -e ,$(PLUGINS))
	command -v tmux >/dev/null || (apt-get update -q && apt-get install -y -q tmux) || true
	touch $(STAMP)

install: $(STAMP)

models: install
	$(BIN)/llmsh models pull smollm2 minilm --if-missing

run: install models
	$(BIN)/llmsh

test-models: install
	LLMSH_HOME=$(TEST_HOME) $(BIN)/llmsh models pull smollm2 minilm --if-missing

lint: install
	$(BIN)/ruff check llmsh tests bench plugins
	$(BIN)/ruff format --check llmsh tests bench plugins
	$(BIN)/mypy llmsh/kernel

format: install
	$(BIN)/ruff check --fix llmsh tests bench plugins
	$(BIN)/ruff format llmsh tests bench plugins

test: install lint test-models
	LLMSH_TEST_STORE_HOME=$(TEST_HOME) $(BIN)/python -m pytest -q

bench: install
	for b in bench/*.py; do $(BIN)/python $$b; done

clean:
	rm -rf $(VENV) .cache build *.egg-info
