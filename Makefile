# Everything a fresh machine with Python 3.11 and make needs: `make run`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MNIST_DIR ?= ../shared/data/mnist
export MNIST_DIR

.PHONY: setup run serve test train evaluate benchmark retrain

$(BIN)/activate: requirements.txt requirements-test.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-test.txt -c constraints.txt
	touch $(BIN)/activate

setup: $(BIN)/activate

run: setup
	$(BIN)/python run.py

# nginx in front of gunicorn, on this machine's PostgreSQL and Redis (serve.py).
serve: setup
	$(BIN)/python serve.py

test: setup
	$(BIN)/python -m pytest

train: setup
	$(BIN)/python -m src.ml.train

# A candidate trained on MNIST plus the corrected samples, served only if the gate passes (exit 3 if not).
retrain: setup
	$(BIN)/flask --app src retrain $(RETRAIN_ARGS)

evaluate: setup
	$(BIN)/python -m src.ml.evaluate

benchmark: setup
	$(BIN)/python -m benchmarks.engine

# Refresh the committed copy of jQuery from the npm package pinned in package.json.
.PHONY: vendor
vendor:
	npm ci
	cp node_modules/jquery/dist/jquery.min.js src/static/vendor/jquery.min.js
	cp node_modules/jquery/LICENSE.txt src/static/vendor/jquery.LICENSE.txt
