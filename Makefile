# launchlab — the two commands of the README are `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test ui prefect-ui serve ui-check install clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=python3"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch is installed first, pinned to the CPU wheel, so nothing pulls a CUDA build. The embedding
# model is then exported to ONNX (fp32 + int8, models/onnx/, git-ignored) from its local weights, so
# the first run does not pay for it; without the export launchlab makes it on first use, or falls
# back to PyTorch.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	HF_HUB_OFFLINE=1 $(BIN)/python -m launchlab.embeddings.onnx_export || echo "warning: the ONNX export failed; launchlab will try again on first use, else embed with PyTorch"
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install launchlab with its test tools

run: $(STAMP)  ## install, then run a full launch cycle on the bundled demo data
	HF_HUB_OFFLINE=1 $(BIN)/launchlab run

test: $(STAMP)  ## install, then run the test suite
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

ui: $(STAMP)  ## open the MLflow UI on the project's store at http://127.0.0.1:5000
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db --default-artifact-root ./mlruns --host 127.0.0.1 --port 5000

prefect-ui: $(STAMP)  ## start a local Prefect server and UI at http://127.0.0.1:4200
	PREFECT_HOME=$(CURDIR)/.prefect $(BIN)/prefect server start --host 127.0.0.1

serve: $(STAMP)  ## start a local Prefect server (UI at http://127.0.0.1:4200) and serve the scheduled deployments
	HF_HUB_OFFLINE=1 $(BIN)/launchlab serve --start-server

# Not part of `make test`: it drives a real browser through a 300-review cycle (a few minutes).
ui-check: $(STAMP)  ## real-browser check of the Prefect and MLflow UIs (needs apt chromium + pip playwright); screenshots in out/ui-check/
	@test -x /usr/bin/chromium || { echo "error: /usr/bin/chromium not found; install it with: apt-get install -y chromium"; exit 2; }
	@$(BIN)/python -c "import playwright" 2>/dev/null || { echo "error: playwright is not installed; run: $(BIN)/python -m pip install playwright"; exit 2; }
	HF_HUB_OFFLINE=1 $(BIN)/python tests/browser/ui_check.py $(UI_CHECK_ARGS)

clean:  ## remove outputs (keeps .venv and mlruns)
	rm -rf out .pytest_cache
