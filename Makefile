# Two entry points: `make bench` (the main job) and `make test`. Each sets up .venv first,
# installing the CPU build of torch before anything that depends on torch.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup bench test report
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@echo "[setup 1/4] creating $(VENV)"
	$(PY) -m venv $(VENV)
	@echo "[setup 2/4] upgrading pip"
	$(BIN)/python -m pip install -q --upgrade pip
	@echo "[setup 3/4] installing torch (CPU build, about 200 MB)"
	$(BIN)/python -m pip install --progress-bar on torch==2.13.0
	@echo "[setup 4/4] installing the project and its dependencies"
	$(BIN)/python -m pip install --progress-bar on -e '.[dev]'
	@$(BIN)/python -c "import torch, sys; sys.exit(0 if '+cpu' in torch.__version__ or not torch.version.cuda else 'a CUDA build of torch got installed: ' + torch.__version__)"
	@echo "[setup] done"
	touch $@

# trains and evaluates into runs/two_obj (git-ignored), then compares with results/two_obj
bench: setup
	$(BIN)/python -m bench.run suite=two_obj

# the browser test drives Debian's chromium; installed here when missing (as root or by sudo)
test: setup
	@command -v chromium >/dev/null 2>&1 || { echo "[test] installing chromium (browser test)"; \
	  SUDO=$$(test "$$(id -u)" = 0 || echo "sudo -n"); \
	  { $$SUDO apt-get update -q && $$SUDO env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -q chromium; } >/dev/null \
	  || echo "[test] chromium not installed: the browser test is skipped"; }
	$(BIN)/python -m pytest -q

# rebuilds the report of runs/two_obj (what `make bench` wrote) from its records
report: setup
	$(BIN)/python -m bench.report suite=two_obj
