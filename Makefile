# Two set-up commands that work on a fresh machine with Python 3.11 and the package registries:
#   make run   - build the environment, create the demo nodes, serve http://127.0.0.1:8000
#   make test  - build the environment (with test extras), run the whole suite
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)

.PHONY: run test env lock bench clean

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing locked dependencies into $(VENV) (first time: a few minutes)"
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -r requirements.lock
	@$(BIN)/python -m pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

env: $(STAMP)

run: env
	@$(BIN)/grotius demo --dir var/demo --host 127.0.0.1 --port 8000

test: env
	@$(BIN)/python -m pytest -q -n 2 --dist loadgroup $(PYTEST_ARGS)

# Regenerate the lock from pyproject.toml (core + test, spark and finance-ml extras) in a scratch venv.
lock:
	rm -rf /tmp/grotius-lock && $(PYTHON) -m venv /tmp/grotius-lock
	/tmp/grotius-lock/bin/pip install --quiet --upgrade pip
	/tmp/grotius-lock/bin/pip install --quiet -e '.[test,spark,finance-ml]'
	/tmp/grotius-lock/bin/pip freeze --exclude-editable | grep -v '^grotius' > requirements.lock

clean:
	rm -rf $(VENV) var
