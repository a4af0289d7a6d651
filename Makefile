# Two entry points do everything on a fresh CPU machine (see README.md):
#   make demo   set up, generate the 32 px demo set, train + evaluate, print the table
#   make test   set up, run the test suite (what CI runs through .ci/run)
VENV     ?= .venv
PY       := $(VENV)/bin/python
STAMP    := $(VENV)/.semiseg_mm-env
DATA     ?= data
# pytest workers; 2 on the 2-core CI machines
TEST_WORKERS ?= 2

.PHONY: install data demo test benchmark clean

$(STAMP): tools/install_env.sh setup.py requirements/runtime.txt requirements/tests.txt requirements/build.txt
	bash tools/install_env.sh $(VENV)
	@touch $(STAMP)

install: $(STAMP)

data: install
	$(PY) tools/make_synthetic.py --out $(DATA)

# only the set the demo trains on (seconds); `make data` writes them all
demo: install
	$(PY) tools/make_synthetic.py --out $(DATA) --only demo
	$(PY) tools/demo.py --data-root $(DATA)/synthetic_demo

test: install
	$(PY) -m pytest -n $(TEST_WORKERS) tests

benchmark: data
	$(PY) tools/label_efficiency.py --preset full --data-root $(DATA)/synthetic

clean:
	rm -rf work_dirs .pytest_cache
