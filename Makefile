# The project's commands. `make test` builds .venv from scratch when it is missing.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
MPIEXEC = $(shell [ -x $(VENV)/bin/mpiexec ] && echo $(VENV)/bin/mpiexec || command -v mpiexec)
# One BLAS thread per rank: ranks, not threads, are the unit of parallelism here.
export OMP_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

# make train: the CNN on NP MPI ranks for EPOCHS epochs (any `distgrad train` flag via ARGS=).
NP      ?= 2
MODEL   ?= cnn
DATASET ?= mnist
EPOCHS  ?= 1
ARGS    ?=

.PHONY: venv train test test-unit test-mpi size clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# An MPI from PyPI only where the machine has none of its own.
	if command -v mpiexec >/dev/null 2>&1; then \
	  $(PY) -m pip install -q -e '.[dev]'; else $(PY) -m pip install -q -e '.[dev,mpich]'; fi
	touch $@

venv: $(VENV)/.installed

train: venv
	launch/mpirun.sh -n $(NP) -- $(PY) -m distgrad train --model $(MODEL) --dataset $(DATASET) --epochs $(EPOCHS) $(ARGS)

test: test-unit test-mpi

test-unit: venv
	$(PY) -m pytest -q tests --ignore=tests/mpi

# Each multi-rank test also means something at one rank: run them at 1, 2 and 3 ranks.
test-mpi: venv
	for n in 1 2 3; do $(MPIEXEC) -n $$n $(PY) -m pytest -q --with-mpi -p no:cacheprovider tests/mpi || exit 1; done

# Lines of Python per package (docstrings included): the core should grow slower than the API.
size:
	@for d in distgrad/*/; do printf '%-28s %6d\n' "$$d" "$$(cat $$d*.py $$d*/*.py 2>/dev/null | wc -l)"; done
	@printf '%-28s %6d\n' "distgrad/*.py" "$$(cat distgrad/*.py | wc -l)"
	@printf '%-28s %6d\n' "total" "$$(find distgrad -name '*.py' -exec cat {} + | wc -l)"

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
