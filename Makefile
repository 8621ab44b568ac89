# Customer analytics template: every command an analyst or the scheduler needs.
# `make` (or `make help`) lists the targets.

SHELL       := /bin/bash
.DEFAULT_GOAL := help
PYTHON      ?= python3
VENV        := .venv
PY          := $(abspath $(VENV))/bin/python
KERNEL      := customer-analytics

# The install stamp is keyed on the dependency files: editing either one makes the
# next `make env` reinstall; otherwise a second call skips the install.
DEPS_HASH   := $(shell cat pyproject.toml requirements.lock 2>/dev/null | $(PYTHON) -c "import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest()[:16])")
STAMP       := $(VENV)/.installed-$(DEPS_HASH)

# Report options: make report PERIOD=2025-11 DATA=path CONFIG=file FORCE=1 SHOW_CODE=1 CHECK=1 LANG=zh ...
# Switches (FORCE, SHOW_CODE, CHECK, QUIET, VERBOSE) are on only for 1, yes or true: FORCE=0 is off.
PERIOD      ?=
DATA        ?=
CONFIG      ?=
FORCE       ?=
SHOW_CODE   ?=
# LANG=en|zh sets the report language; any other LANG (the shell's locale) is ignored
REPORT_LANG := $(filter en zh,$(LANG))
FROM        ?=
TO          ?=
CHECK       ?=
QUIET       ?=
VERBOSE     ?=
REPORTS     ?=
on           = $(filter 1 yes true,$(1))
REPORT_ARGS := $(if $(PERIOD),--period $(PERIOD)) $(if $(DATA),--data $(DATA)) \
               $(if $(CONFIG),--config $(CONFIG)) $(if $(call on,$(FORCE)),--force) \
               $(if $(call on,$(SHOW_CODE)),--show-code) $(if $(FROM),--from $(FROM)) $(if $(TO),--to $(TO)) \
               $(if $(call on,$(CHECK)),--check) $(if $(call on,$(QUIET)),--quiet) \
               $(if $(call on,$(VERBOSE)),--verbose) $(if $(REPORTS),--reports-dir $(REPORTS)) \
               $(if $(REPORT_LANG),--language $(REPORT_LANG))

.PHONY: help env report report-cdnow sample sample-warehouse bench-engine test lint format prose lab bench mutate lock clean

help: ## List every target (this message)
	@echo "Usage: make <target> [PERIOD=YYYY-MM|previous|latest] [DATA=path] [CONFIG=file] [FORCE=1] [SHOW_CODE=1]"
	@echo "                     [FROM=YYYY-MM TO=YYYY-MM] [CHECK=1] [QUIET=1] [VERBOSE=1] [REPORTS=folder] [LANG=en|zh]"
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

env: $(STAMP) ## Create or refresh .venv, install the package with dev extras, register the kernel

$(STAMP):
	@if [ -d $(VENV) ] && ! $(PY) -c "import sys" >/dev/null 2>&1; then \
		echo "==> .venv is stale (its interpreter no longer runs): recreating"; rm -rf $(VENV); fi
	@if [ ! -x $(PY) ]; then echo "==> creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); fi
	@$(PY) -c "import sys; assert sys.version_info >= (3, 11), 'Python 3.11+ is required, found ' + sys.version.split()[0]"
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (customer-analytics)" >/dev/null
	@rm -f $(VENV)/.installed-*
	@touch $@
	@echo "==> environment ready: $(PY) (kernel '$(KERNEL)')"

report: env ## Run all notebooks on the bundled sample and write reports/<period>/ and reports/index.html
	$(PY) -m customer_analytics report $(REPORT_ARGS)

report-cdnow: env ## Same report on the bundled real CDNOW data (config/cdnow.yaml)
	$(PY) -m customer_analytics report --config config/cdnow.yaml $(filter-out --config%,$(REPORT_ARGS))

sample: env ## Regenerate the synthetic sample in data/sample/ (seeded, identical for the same seed)
	$(PY) -m customer_analytics make-sample --out data/sample --seed 42

sample-warehouse: env ## Write the sample as table sales.transactions in data/warehouse.duckdb (for config/warehouse.yaml)
	$(PY) -m customer_analytics make-warehouse --out data/warehouse.duckdb

bench-engine: env ## Load + clean + RFM from partitioned Parquet at 1e7 and 1e8 lines (about 30 minutes; needs about 30 GB of free disk)
	cd benchmarks && $(PY) bench_engine.py --sizes 10000000 100000000 --baseline --spark

lint: env ## Lint the package, tests, benchmarks and notebooks with ruff
	$(VENV)/bin/ruff check lib tests benchmarks notebooks

format: env ## Format the code with ruff
	$(VENV)/bin/ruff format lib tests benchmarks

prose: env ## Write each section's method text from the catalog into the notebooks (after editing en.yaml)
	$(VENV)/bin/python tools/notebook_prose.py

test: env lint ## Lint, unit tests, notebooks under nbval, end-to-end runner tests
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest -n 2 --dist loadgroup --durations=25 tests
	$(VENV)/bin/pytest --nbval-lax --nbval-current-env -p no:randomly notebooks

lab: env ## Open JupyterLab on notebooks/ with the project kernel
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --MappingKernelManager.default_kernel_name=$(KERNEL) \
		$(if $(filter 0,$(shell id -u)),--allow-root)

bench: env ## Run the speed benchmarks (prints time and peak memory tables)
	$(PY) benchmarks/bench_cleaning.py
	$(PY) benchmarks/bench_rfm.py
	$(PY) benchmarks/bench_clustering.py
	$(PY) benchmarks/bench_report_input.py
	$(PY) benchmarks/bench_clv.py
	$(PY) benchmarks/bench_targeting.py
	$(PY) benchmarks/bench_associations.py

# Mutation check (slow, not part of `make test`): mutmut mutates experiments, rfm, cleaning (with its
# rules and reading modules) and clustering ([tool.mutmut] in pyproject.toml) in a scratch copy where lib/ is laid out as src/,
# runs the fast unit tests that cover each mutated function, and prints the survivors per module.
# MODULE=models.rfm limits the run to one module (MODULE=models.rfm.x_segment_summary to one function) and
# reruns those mutants; without MODULE a run continues where an interrupted one stopped.
# SAMPLE=600 runs a seeded random sample of the mutants instead (SEED=0) and prints the survival
# rate with its 95% interval. SURVIVORS=1 also reruns the mutants that survived (after new tests).
MODULE      ?=
SAMPLE      ?=
SEED        ?= 0
SURVIVORS   ?=
MUTATE_DIR  := .mutate
MUTMUT       = cd $(MUTATE_DIR) && OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 PYTHONPATH= nice -n 10 $(abspath $(VENV))/bin/mutmut
MUTANTS      = $(PY) ../tools/mutation_summary.py --names $(if $(filter 1 yes true,$(SURVIVORS)),survivors,pending) \
               $(if $(SAMPLE),--sample $(SAMPLE) --seed $(SEED)) $(abspath $(VENV))/bin/mutmut
mutate: env ## Mutation check of the analysis modules against the fast unit tests (slow; MODULE=models.rfm, SAMPLE=600, SURVIVORS=1)
	@mkdir -p $(MUTATE_DIR)
	rm -rf $(MUTATE_DIR)/src $(MUTATE_DIR)/tests $(MUTATE_DIR)/data $(MUTATE_DIR)/config
	cp -Rp lib $(MUTATE_DIR)/src && cp -Rp tests data config pyproject.toml $(MUTATE_DIR)/
	@# mutmut copies a source file only once: refresh the files it does not mutate (other modules, catalogs)
	[ ! -d $(MUTATE_DIR)/mutants/src ] || { cd $(MUTATE_DIR)/src && find . -type f ! -path '*/__pycache__/*' \
		! -path './customer_analytics/models/experiments/*' ! -path './customer_analytics/models/rfm.py' \
		! -path './customer_analytics/models/cleaning.py' ! -path './customer_analytics/models/clustering.py' \
		! -path './customer_analytics/models/rules.py' ! -path './customer_analytics/io/reading.py' \
		! -path './customer_analytics/io/canonical.py' ! -path './customer_analytics/io/engine_sources.py' \
		-exec cp -p --parents {} ../mutants/src/ \; ; }
ifneq ($(MODULE),)
	$(MUTMUT) run --max-children 2 "customer_analytics.$(MODULE)*"
else ifneq ($(SAMPLE)$(SURVIVORS),)
	@# generate the mutants of the code as it is now, then run the chosen ones (the pattern matches no
	@# mutant, so mutmut stops with "nothing matches" once they are generated; a real failure shows in the next run)
	-$(MUTMUT) run --max-children 2 "customer_analytics.generate-only*" >/dev/null 2>&1
	names=$$(cd $(MUTATE_DIR) && $(MUTANTS)); [ -z "$$names" ] || { $(MUTMUT) run --max-children 2 $$names; }
else
	$(MUTMUT) run --max-children 2
endif
	cd $(MUTATE_DIR) && $(PY) ../tools/mutation_summary.py $(if $(SAMPLE),--sample $(SAMPLE) --seed $(SEED)) $(abspath $(VENV))/bin/mutmut

lock: ## Re-resolve dependencies from pyproject.toml into requirements.lock
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --disable-pip-version-check '.[dev]'
	{ sed -n '1,3p' requirements.lock; .lock-venv/bin/pip freeze --exclude-editable | grep -v '^customer-analytics'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock && rm -rf .lock-venv
	@echo "==> requirements.lock updated; run 'make test' to check environment.yml still matches"

clean: ## Remove generated reports, caches and the virtual environment (never data/raw)
	rm -rf reports/20[0-9][0-9]-[0-9][0-9] reports/_failed reports/_interactive reports/.staging reports/index.html
	rm -rf .pytest_cache .ruff_cache .import_linter_cache .grimp_cache build lib/*.egg-info $(MUTATE_DIR)
	find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +
	rm -rf $(VENV)
