# LLC reproduction. Every target sets itself up (venv + pip, data links) on a fresh machine.
#   make reproduce [PROFILE=auto|smoke|cpu|gpu]   run the notebooks with papermill -> figures/
#   make test                                       unit tests + smoke end-to-end + nbval of every notebook
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
LIB       := $(wildcard llc_lib/*.py)

.PHONY: setup data test reproduce notebooks lab bench clean-smoke

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

# `reproduce` resolves the profile once (auto -> gpu if CUDA else cpu) and lets Make decide which
# notebooks are out of date: each executed copy depends on its notebook, the library and its inputs.
reproduce: setup
	@prof=$$($(BIN)/python -c "from llc_lib.config import resolve_profile; print(resolve_profile('$(PROFILE)'))") \
	  || { echo "PROFILE=$(PROFILE) is not a profile: use auto, smoke, cpu or gpu"; exit 2; }; \
	start=$$(date +%s); \
	$(MAKE) --no-print-directory notebooks PROF=$$prof && \
	echo "make reproduce ($$prof): total wall time $$(( $$(date +%s) - start )) s"

ifdef PROF
RUN := runs/$(PROF)/notebooks
PM  := $(BIN)/papermill --kernel python3 --log-output --progress-bar -p profile $(PROF)
EXECUTED := $(addprefix $(RUN)/,$(addsuffix .ipynb,$(NOTEBOOKS)))
notebooks: $(EXECUTED)

# papermill writes to a temporary name first, so a failed run never looks up to date
define run_nb
	@mkdir -p $(RUN)
	@echo "== $< ($(PROF))"; t=$$(date +%s); \
	$(PM) $< $@.tmp.ipynb > $(RUN)/$*.log 2>&1 || { tail -40 $(RUN)/$*.log; exit 1; }; \
	mv $@.tmp.ipynb $@; echo "   done in $$(( $$(date +%s) - t )) s"
endef

$(RUN)/01_train_models.ipynb: $(RUN)/%.ipynb: notebooks/%.ipynb $(LIB)
	$(run_nb)
$(RUN)/02_accuracy_vs_bits.ipynb $(RUN)/03_code_heatmaps.ipynb $(RUN)/04_taxonomy.ipynb \
  $(RUN)/06_retrieval.ipynb $(RUN)/07_ood.ipynb: \
  $(RUN)/%.ipynb: notebooks/%.ipynb $(LIB) $(RUN)/01_train_models.ipynb
	$(run_nb)
$(RUN)/05_linear_vs_hamming.ipynb: $(RUN)/%.ipynb: notebooks/%.ipynb $(LIB) $(RUN)/02_accuracy_vs_bits.ipynb
	$(run_nb)
$(RUN)/99_paper_vs_reproduction.ipynb: $(RUN)/%.ipynb: notebooks/%.ipynb $(LIB) \
  $(filter-out $(RUN)/99_paper_vs_reproduction.ipynb,$(EXECUTED))
	$(run_nb)
endif

# speed goals live here, printed as ratios measured in one run (each script <= 5 min on 2 cores)
bench: setup
	$(BIN)/python benchmarks/bench_decode.py
	$(BIN)/python benchmarks/bench_retrieval.py
	$(BIN)/python benchmarks/bench_train.py

lab: setup
	$(BIN)/jupyter lab notebooks/

clean-smoke:
	rm -rf runs/smoke
