# Two entry points: `make bench` (the main job) and `make test`. Each sets up .venv first,
# installing the CPU build of torch before anything that depends on torch.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup bench test report
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	@$(BIN)/python -c "import torch, sys; sys.exit(0 if '+cpu' in torch.__version__ or not torch.version.cuda else 'a CUDA build of torch got installed: ' + torch.__version__)"
	touch $@

bench: setup
	$(BIN)/python -m bench.run suite=two_obj

test: setup
	$(BIN)/python -m pytest -q

report: setup
	$(BIN)/python -m bench.report suite=two_obj
