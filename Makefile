## LLC reproduction. Every target sets itself up (venv + pip, data links) on a fresh machine.
##   make reproduce [PROFILE=auto|smoke|cpu|gpu]   run the notebooks with papermill -> figures/
##   make test                                       make lint, unit tests + nbval of every notebook (smoke; CI)
##   make lint                                       ruff check + ruff format --check (pyproject.toml [tool.ruff])
##   make figures                                    the cpu figures from the committed weights/cpu: no training
##   make seeds [PROFILE=cpu] [SEEDS="0 1 2"]        3 seeds of the claims' numbers -> figures/seeds.json
##   make docs                                       generated pages and blocks, values on every page, ledger index
##   make bench                                      speed benchmarks (benchmarks/*.py), printed as ratios
##   make lab [PROFILE=smoke]                        JupyterLab on notebooks/ in the same environment
##   make clean / make distclean                     executed notebooks and caches / also runs/ and the venv
##   any target VENV=                                use $(PYTHON) as it is, no venv, no pip (offline machines)
##   any target TORCH_INDEX=URL                      torch wheels from that index, e.g. the CPU-only builds:
##                                                   TORCH_INDEX=https://download.pytorch.org/whl/cpu
##   any target CONSTRAINTS=                         set up without the exact versions of constraints.txt
.DEFAULT_GOAL := help
SHELL   := /bin/bash
PYTHON  ?= python3
VENV    ?= .venv
PROFILE ?= auto
SHARED  ?= ../shared/datasets
JOBS    ?= auto
TORCH_INDEX ?=
# the exact versions the venv is set up with (pip -c); empty: pyproject.toml's ranges only
CONSTRAINTS ?= constraints.txt
PIN      = $(if $(CONSTRAINTS),-c "$(CONSTRAINTS)")
export PYTHONUNBUFFERED := 1
# runs folder (checkpoints, executed notebooks, manifest, lock): $LLC_RUNS_DIR, else runs/. Paths may hold
# spaces: recipes quote them, and names Make parses as targets or prerequisites go through $(call esc,...)
RUNS    := $(or $(LLC_RUNS_DIR),runs)
space   := $(subst ,, )
esc      = $(subst $(space),\$(space),$1)

SEEDS   ?= 0 1 2
.PHONY: help setup data lint test reproduce figures notebooks lab bench clean clean-smoke distclean docs seeds

help:
	@sed -n 's/^## \{0,1\}//p' Makefile

ifeq ($(strip $(VENV)),)
# `make … VENV=`: use $(PYTHON) as it is, install nothing (offline machines whose Python has the packages);
# a missing package is named, with how to bring it
PY    := $(PYTHON)
STAMP := runs/.deps$(subst $(space),_,$(subst /,_,$(PYTHON)))
$(STAMP): pyproject.toml
	"$(PY)" -m llc_lib.core.deps core notebooks test
	@mkdir -p runs && touch "$@"
else
PY    := $(VENV)/bin/python
STAMP := $(call esc,$(VENV))/bin/.installed
# with TORCH_INDEX, only torch's and torchvision's pins apply there: that index need not hold the others' versions
$(STAMP): pyproject.toml $(call esc,$(CONSTRAINTS))
	test -x "$(PY)" || "$(PYTHON)" -m venv "$(VENV)"
	"$(PY)" -m pip install -q --upgrade pip
	$(if $(TORCH_INDEX),"$(PY)" -m pip install --index-url "$(TORCH_INDEX)" torch torchvision \
	  $(if $(CONSTRAINTS),-c <(grep -E '^torch(vision)?==' "$(CONSTRAINTS)")))
	"$(PY)" -m pip install --progress-bar on $(PIN) -e '.[dev]'
	"$(PY)" -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch "$@"
endif

setup: $(STAMP) data

data: $(STAMP)
	"$(PY)" -m llc_lib data --shared "$(SHARED)"

# lint: ruff's checks and its formatter in check mode (the rules: pyproject.toml, [tool.ruff]); any finding
# fails it, and so `make test` and CI (.ci/run)
lint: $(STAMP)
	"$(PY)" -m ruff check .
	"$(PY)" -m ruff format --check .

test: setup lint
	"$(PY)" -m pytest -q tests
	LLC_PROFILE=smoke "$(PY)" -m pytest -q --nbval-lax notebooks

# `reproduce` resolves the profile once (auto -> gpu if CUDA else cpu), takes a lock in the runs folder so
# that two runs on one folder cannot collide, and lets Make decide what is out of date from a manifest
# generated from the run graph (`python -m llc_lib manifest`): each executed notebook depends on the library
# modules it imports, the checkpoints of the specs it fits and the notebooks whose JSON it reads; each
# checkpoint is fitted through the CLI when missing (its file name is a hash of its recipe, so a changed
# recipe means a missing file).
# JOBS: independent checkpoints and notebooks run concurrently (auto = 4 on the gpu profile, where small
# models leave most of one GPU idle, else 1: on a CPU, parallel trainings only split the cores and the
# thread count is part of what makes a checkpoint reproducible).
# A PROFILE the notebooks do not take (llc_lib.config.profiles.notebook_profile) stops it in one line, exit code 2, before
# anything is written; other errors of that Python (a broken install) keep their traceback.
reproduce: setup
	@prof=$$("$(PY)" -c "import sys; from llc_lib.config.profiles import notebook_profile; \
	  sys.excepthook = lambda t, e, tb: print(f'make reproduce: {e}', file=sys.stderr) \
	  if issubclass(t, ValueError) else sys.__excepthook__(t, e, tb); print(notebook_profile(sys.argv[1]))" \
	  "$(PROFILE)") || exit 2; \
	mkdir -p "$(RUNS)"; start=$$(date +%s); \
	jobs=$(JOBS); [ "$$jobs" = auto ] && { [ $$prof = gpu ] && jobs=4 || jobs=1; }; \
	flock -n -E 75 "$(RUNS)/.reproduce.lock" $(MAKE) --no-print-directory -j$$jobs notebooks PROF=$$prof; rc=$$?; \
	if [ $$rc = 75 ]; then echo "another 'make reproduce' is running on this runs folder (lock $(RUNS)/.reproduce.lock); wait for it to finish, then run this again"; exit 75; fi; \
	[ $$rc = 0 ] && echo "make reproduce ($$prof): total wall time $$(( $$(date +%s) - start )) s"; \
	if [ $$rc = 0 ] && [ $$prof = cpu ]; then "$(PY)" -m llc_lib docs --profile cpu || rc=$$?; fi; \
	[ $$rc = 0 ] && { "$(PY)" -c "import sys; from llc_lib.config.profiles import get_profile; from llc_lib.config.folders \
	  import figures_dir; d = figures_dir(get_profile(sys.argv[1])); print(f'figures and their JSON: {d}/'); \
	  print(f'report: {d}/paper_vs_reproduction.md; executed notebooks: $(RUNS)/{sys.argv[1]}/notebooks/')" $$prof \
	  || rc=$$?; }; \
	exit $$rc

# the cpu profile's trained weights are committed (weights/cpu; MANIFEST.json gives their size): installed into the runs folder, they
# leave `reproduce` nothing to train, so every cpu figure is re-evaluated from them
figures: setup
	"$(PY)" -m llc_lib weights --profile cpu
	@$(MAKE) --no-print-directory reproduce PROFILE=cpu

# mean ± std over SEEDS of the headline and codebook numbers (outside `reproduce`: on the cpu profile each
# extra seed trains about an hour, docs/measurements/run_times_2026-12-02.md); the paper-vs-reproduction report
# reads figures/seeds.json when present, and notebooks 02 and 99 re-run when it changes
seeds: setup
	"$(PY)" -m llc_lib seeds --profile "$(PROFILE)" --seeds $(SEEDS)

# docs/results.md, every generated block and rendered value of README.md and docs/*.md, docs/measurements/README.md
docs: setup
	"$(PY)" -m llc_lib docs --profile cpu

ifdef PROF
RUN      := $(RUNS)/$(PROF)/notebooks
MANIFEST := $(call esc,$(RUN))/manifest.mk
PM       := "$(PY)" -m papermill --kernel python3 --log-output --progress-bar -p profile $(PROF) -p train True

# the manifest (llc_lib/manifest.py) holds the rule of `notebooks` (every notebook, from manifest.NOTEBOOKS), one
# rule per executed notebook and per checkpoint, and the profile's seed study where there is one; it names every
# file with its spaces escaped
$(MANIFEST): $(wildcard llc_lib/*.py llc_lib/*/*.py notebooks/*.ipynb)
	@mkdir -p "$(RUN)"
	@"$(PY)" -m llc_lib manifest --profile $(PROF) --run-dir "$(RUN)" --python "$(PY)" > "$@.tmp" \
	  && mv "$@.tmp" "$@" || { rm -f "$@.tmp"; exit 1; }
include $(MANIFEST)

# papermill writes to a temporary name first, so a failed run never looks up to date; its progress and the
# cells' output reach the terminal and the notebook's log. A plain pattern rule (the manifest names its
# targets): a static one gets $* wrong when the folder has an escaped space
$(call esc,$(RUN))/%.ipynb:
	@echo "== notebooks/$*.ipynb ($(PROF))"; t=$$(date +%s); \
	$(PM) notebooks/$*.ipynb "$@.tmp.ipynb" 2>&1 | tee "$(RUN)/$*.log"; \
	[ $${PIPESTATUS[0]} = 0 ] || { echo "notebooks/$*.ipynb failed; its log: $(RUN)/$*.log"; rm -f "$@.tmp.ipynb"; exit 1; }; \
	mv "$@.tmp.ipynb" "$@"; echo "   done in $$(( $$(date +%s) - t )) s"
endif

# speed goals live here, printed as ratios measured in one run (each script <= 5 min on 2 cores)
bench: setup
	"$(PY)" benchmarks/bench_decode.py
	"$(PY)" benchmarks/bench_retrieval.py
	"$(PY)" benchmarks/bench_train.py
	"$(PY)" benchmarks/bench_api.py

lab: setup
	LLC_PROFILE="$(filter-out auto,$(PROFILE))" "$(PY)" -m jupyter lab notebooks/ $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

# clean: executed notebooks, the smoke profile's runs and caches; trained checkpoints are kept
clean: clean-smoke
	rm -rf "$(RUNS)"/*/notebooks .pytest_cache
	find . -name __pycache__ -not -path "./$(VENV)/*" -prune -exec rm -rf {} +

# distclean: also every checkpoint (a cold cpu reproduce takes about 2 h again) and the venv
distclean: clean
	rm -rf "$(RUNS)" "$(VENV)"

clean-smoke:
	rm -rf "$(RUNS)/smoke"
