# Two entry points, each doing its own set-up from nothing: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export MPLBACKEND := Agg

.PHONY: demo test test-fast release system clean

# The environment: CPU torch 2.13.0 first (the wheel on this machine's disk), then the project.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check torch==2.13.0
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $@

# Debian packages the sandbox and the HTML tests need (root on a fresh machine).
system:
	@command -v bwrap > /dev/null && command -v chromium > /dev/null && fc-list :lang=zh 2> /dev/null | grep -q . || { \
	  apt-get update -q > /dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap chromium fonts-noto-cjk > /dev/null; }

demo: $(BIN)/.installed system
	$(BIN)/python -m autograder.demo

# Two test processes, one per core, each taking whole modules (their shared servers and classes stay together).
test: $(BIN)/.installed system
	$(BIN)/pytest -n 2 --dist loadfile

# Quick loop while developing: skip the slow (kernel / sandbox / model) tests.
test-fast: $(BIN)/.installed
	$(BIN)/pytest -m "not slow"

# Regenerate the student notebooks from source/ with nbgrader; SERVER=URL writes the class server's address into
# their self-check cells (e.g. make release SERVER=https://grader.example.edu).
release: $(BIN)/.installed
	$(BIN)/python -m autograder.release $(if $(SERVER),--server '$(SERVER)')

clean:
	rm -rf $(VENV) gradebook.db demo-out
