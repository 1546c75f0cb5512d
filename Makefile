# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Real-model tests use a model store pulled once into the repo's cache.
TEST_HOME := $(CURDIR)/.cache/test-home
TORCH := torch==2.13.0
LLAMA_CPP_VERSION := 0.3.36
# llama-cpp-python builds llama.cpp from source (about 6-12 minutes on 2 cores): the wheel
# is built once into this folder, outside the checkout, and reused by every later install.
# Tuned for this CPU, but without AMX: CPUs report it in virtual machines that do not
# enable its registers, where llama.cpp's AMX kernels die of SIGILL.
WHEELS := $(HOME)/.cache/llmsh/wheels/noamx
NO_AMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16

.PHONY: run test install lint format models test-models bench clean

PLUGINS := plugins/llmsh-summarize plugins/llmsh-sweep

$(STAMP): pyproject.toml Makefile $(addsuffix /pyproject.toml,$(PLUGINS))
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# CPU build of torch first: a bare `torch` requirement would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install -q $(TORCH)
	ls $(WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1 || \
		CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
		CMAKE_ARGS="-DCMAKE_C_FLAGS='$(NO_AMX)' -DCMAKE_CXX_FLAGS='$(NO_AMX)'" $(BIN)/python -m pip wheel -q --no-cache-dir --no-deps -w $(WHEELS) llama-cpp-python==$(LLAMA_CPP_VERSION)
	$(BIN)/python -m pip install -q --find-links $(WHEELS) -e '.[dev,llama,http]'
	$(BIN)/python -m pip install -q $(addprefix -e ,$(PLUGINS))
	command -v tmux >/dev/null && command -v curl >/dev/null || (apt-get update -q && apt-get install -y -q tmux curl) || true
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
	$(BIN)/mypy llmsh tests/tui/fake.py

format: install
	$(BIN)/ruff check --fix llmsh tests bench plugins
	$(BIN)/ruff format llmsh tests bench plugins

test: install lint test-models
	LLMSH_TEST_STORE_HOME=$(TEST_HOME) $(BIN)/python -m pytest -q

bench: install
	for b in bench/*.py; do $(BIN)/python $$b; done

clean:
	rm -rf $(VENV) .cache build *.egg-info
