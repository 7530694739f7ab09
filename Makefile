# LLC reproduction. Every target sets itself up (venv + pip, data links) on a fresh machine.
#   make reproduce [PROFILE=auto|smoke|cpu|gpu]   run the notebooks with papermill -> figures/
#   make test                                       unit tests + smoke end-to-end + nbval of every notebook
#   make seeds [PROFILE=cpu] [SEEDS="0 1 2"]        3 seeds of the claims' numbers -> figures/seeds.json
#   make bench                                      speed benchmarks (benchmarks/*.py), printed as ratios
#   make lab                                        JupyterLab on notebooks/ in the same environment
PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
PROFILE ?= auto
SHARED  ?= ../shared/datasets
export PYTHONUNBUFFERED := 1

NOTEBOOKS := 01_train_models 02_accuracy_vs_bits 03_code_heatmaps 04_taxonomy 05_linear_vs_hamming \
             06_retrieval 07_ood 99_paper_vs_reproduction

SEEDS   ?= 0 1 2
.PHONY: setup data test reproduce notebooks lab bench clean-smoke docs seeds

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

setup: $(BIN)/.installed data

data: $(BIN)/.installed
	$(BIN)/python -m llc_lib data --shared $(SHARED)

test: setup
	$(BIN)/python -m pytest -q tests
	LLC_PROFILE=smoke $(BIN)/python -m pytest -q --nbval-lax notebooks

# `reproduce` resolves the profile once (auto -> gpu if CUDA else cpu), takes a lock so that two runs in one
# clone cannot collide, and lets Make decide what is out of date from a manifest generated from the run graph
# (`python -m llc_lib manifest`): each executed notebook depends on the library modules it imports, the
# checkpoints of the specs it fits and the notebooks whose JSON it reads; each checkpoint is fitted through
# the CLI when missing (its file name is a hash of its recipe, so a changed recipe means a missing file).
reproduce: setup
	@prof=$$($(BIN)/python -c "from llc_lib.config import resolve_profile; print(resolve_profile('$(PROFILE)'))") \
	  || { echo "PROFILE=$(PROFILE) is not a profile: use auto, smoke, cpu or gpu"; exit 2; }; \
	mkdir -p runs; start=$$(date +%s); \
	flock -n -E 75 runs/.reproduce.lock $(MAKE) --no-print-directory notebooks PROF=$$prof; rc=$$?; \
	if [ $$rc = 75 ]; then echo "another 'make reproduce' is running in this clone (lock runs/.reproduce.lock); wait for it to finish, then run this again"; exit 75; fi; \
	[ $$rc = 0 ] && echo "make reproduce ($$prof): total wall time $$(( $$(date +%s) - start )) s"; \
	[ $$rc = 0 ] && [ $$prof = cpu ] && $(BIN)/python -m llc_lib docs --profile cpu; exit $$rc

# mean ± std over SEEDS of the headline and codebook numbers (outside `reproduce`: on the cpu profile each
# extra seed trains about 55 min); the paper-vs-reproduction report reads figures/seeds.json when present
seeds: setup
	$(BIN)/python -m llc_lib seeds --profile $(PROFILE) --seeds $(SEEDS)

# docs/results.md and the README's headline table, generated from the cpu profile's figures/*.json
docs: setup
	$(BIN)/python -m llc_lib docs --profile cpu

ifdef PROF
RUN      := runs/$(PROF)/notebooks
MANIFEST := $(RUN)/manifest.mk
PM       := $(BIN)/papermill --kernel python3 --log-output --progress-bar -p profile $(PROF)
EXECUTED := $(addprefix $(RUN)/,$(addsuffix .ipynb,$(NOTEBOOKS)))
notebooks: $(EXECUTED)

$(MANIFEST): $(wildcard llc_lib/*.py llc_lib/*/*.py notebooks/*.ipynb)
	@mkdir -p $(RUN)
	@$(BIN)/python -m llc_lib manifest --profile $(PROF) --run-dir $(RUN) --python $(BIN)/python > $@.tmp && mv $@.tmp $@
include $(MANIFEST)

# papermill writes to a temporary name first, so a failed run never looks up to date
$(EXECUTED): $(RUN)/%.ipynb:
	@echo "== notebooks/$*.ipynb ($(PROF))"; t=$$(date +%s); \
	$(PM) notebooks/$*.ipynb $@.tmp.ipynb > $(RUN)/$*.log 2>&1 || { tail -40 $(RUN)/$*.log; exit 1; }; \
	mv $@.tmp.ipynb $@; echo "   done in $$(( $$(date +%s) - t )) s"
endif

# speed goals live here, printed as ratios measured in one run (each script <= 5 min on 2 cores)
bench: setup
	$(BIN)/python benchmarks/bench_decode.py
	$(BIN)/python benchmarks/bench_retrieval.py
	$(BIN)/python benchmarks/bench_train.py

lab: setup
	$(BIN)/jupyter lab notebooks/ $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

clean-smoke:
	rm -rf runs/smoke
