# plmresearch developer tasks. Every target builds .venv first when it is missing.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
PLM   := $(VENV)/bin/plm

.PHONY: main setup test reproduce bench catalogue lab clean-venv
.DEFAULT_GOAL := main

# Developers' checkouts and CI have the public data mirror beside the repository;
# use it instead of the network when it is there (users download from the real URLs).
SHARED_DATA := $(abspath ../shared/datasets)
ifneq ($(wildcard $(SHARED_DATA)),)
export PLMRESEARCH_DATA_DIR ?= $(SHARED_DATA)
endif
# Batch jobs (tests, benchmarks, CLI runs) draw off-screen with Agg; `make lab` leaves the
# backend to Jupyter (the notebooks select the inline backend themselves).
BATCH := MPLBACKEND=$${MPLBACKEND:-Agg}

# Find a Python >= 3.12: python3.13/python3.12 on PATH, then pyenv's versions,
# then the usual install prefixes. Prints nothing when there is none.
FIND_PYTHON = for c in python3.13 python3.12 \
	  $$(command -v pyenv >/dev/null 2>&1 && ls -d "$$(pyenv root)"/versions/3.12*/bin/python3 "$$(pyenv root)"/versions/3.13*/bin/python3 2>/dev/null) \
	  $$(ls -d $$HOME/.pyenv/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV) \
	  /usr/local/bin/python3.13 /usr/local/bin/python3.12 /usr/bin/python3.13 /usr/bin/python3.12 python3; do \
	  p=$$(command -v $$c 2>/dev/null) || continue; \
	  $$p -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null && { echo $$p; break; }; \
	done

$(PY):
	@py=$$($(FIND_PYTHON)); \
	if [ -z "$$py" ]; then \
	  echo "error: plmresearch needs Python >= 3.12 and none was found." >&2; \
	  echo "Install python3.12 or python3.13 (e.g. 'pyenv install 3.12' or your OS package) and run make again." >&2; \
	  exit 1; \
	fi; \
	echo "Building $(VENV) with $$py ($$($$py -V))"; \
	$$py -m venv $(VENV) && \
	$(PY) -m pip install --quiet --upgrade pip && \
	$(PY) -m pip install --quiet -e '.[dev]' && \
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null

setup: $(PY)

## Quick start, command 1: build the environment and run the main job:
## every reproduction, published numbers next to ours (fast setting).
main: $(PY)
	$(BATCH) $(PLM) datasets list
	$(BATCH) $(PLM) reproduce --fast

catalogue: $(PY)
	$(PLM) datasets list

## Quick start, command 2: the whole test suite (notebooks run with few posterior draws).
test: $(PY)
	$(BATCH) PLMRESEARCH_FAST=1 $(PY) -m pytest -n 2 --dist loadfile --nbval-lax tests notebooks

reproduce: $(PY)
	$(BATCH) $(PLM) reproduce

bench: $(PY)
	@for b in benchmarks/*.py; do echo "== $$b"; $(BATCH) $(PY) $$b || exit 1; done

lab: $(PY)
	env -u MPLBACKEND $(VENV)/bin/jupyter lab notebooks/

clean-venv:
	rm -rf $(VENV)
