# Everything a fresh machine with Python 3.11 and make needs: `make run`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup setup-test run serve test test-fast lint train evaluate benchmark retrain

# What the service needs; the tests' and benchmarks' tools (a browser driver, fuzzers) only for them.
$(VENV)/service-installed: requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt -c constraints.txt
	touch $@

$(VENV)/tests-installed: $(VENV)/service-installed requirements-test.txt
	$(BIN)/pip install --quiet -r requirements-test.txt -c constraints.txt
	touch $@

setup: $(VENV)/service-installed

setup-test: $(VENV)/tests-installed

run: setup
	$(BIN)/python run.py

# nginx in front of gunicorn, on this machine's PostgreSQL and Redis (serve.py).
serve: setup
	$(BIN)/python serve.py

test: setup-test
	$(BIN)/python -m pytest

lint: setup-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The inner loop: no browser, no PostgreSQL, nothing slow (the markers are in pytest.ini).
test-fast: setup-test
	$(BIN)/python -m pytest -m "not browser and not postgres and not slow"

train: setup
	$(BIN)/python -m src.ml.train

# A candidate trained on MNIST plus the corrected samples, served only if the gate passes (exit 3 if not).
retrain: setup
	$(BIN)/flask --app src retrain $(RETRAIN_ARGS)

evaluate: setup
	$(BIN)/python -m src.ml.evaluate

benchmark: setup-test
	$(BIN)/python -m benchmarks.engine

# Refresh the committed copy of jQuery from the npm package pinned in package.json.
.PHONY: vendor
vendor:
	npm ci
	cp node_modules/jquery/dist/jquery.min.js src/static/vendor/jquery.min.js
	cp node_modules/jquery/LICENSE.txt src/static/vendor/jquery.LICENSE.txt
