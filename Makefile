# Set-up, demo and tests on a fresh Debian/Ubuntu machine: `make demo`, `make test`.
SHELL := /bin/bash
VENV := .venv
PYTHON := $(VENV)/bin/python
LIVEGEN := $(VENV)/bin/livegen
INSTALLED := $(VENV)/.installed
DEMO_DIR := demo-out

.PHONY: demo test system clean

system:
	@scripts/system-deps.sh

$(INSTALLED): pyproject.toml | system
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q -e '.[train,test]'
	touch $(INSTALLED)

demo: $(INSTALLED)
	$(LIVEGEN) train examples/chorales --out $(DEMO_DIR)/tiny-preset --size 64 --layers 1 --epochs 15 --seq-len 128
	$(LIVEGEN) generate --preset $(DEMO_DIR)/tiny-preset --prime livegen/demo/phrases/call-d-minor.mid \
		--bars 8 --seed 1 -o $(DEMO_DIR)/continuation.mid
	$(LIVEGEN) demo --preset chorale --out-dir $(DEMO_DIR)

# The real-port timing tests run in a process of their own, away from the in-process
# TensorFlow training tests whose threads would compete with them for the two cores. A
# real-port test that fails while JACK itself logs xruns runs once more (tests/conftest.py).
test: $(INSTALLED)
	$(PYTHON) -m pytest -q -m jack --reruns 2 --only-rerun JackXrunDuringTest
	$(PYTHON) -m pytest -q -m "not jack"

clean:
	rm -rf $(DEMO_DIR) .pytest_cache
