# The two commands: `make run` serves the hub, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint babel clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/hub db upgrade
	$(BIN)/hub run

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Refresh the message catalogue after changing user-facing text, then translate the new entries.
babel: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l --project "Kintai Hub" --version 0.1.0 --no-location -o hub/translations/messages.pot .
	$(BIN)/pybabel update -i hub/translations/messages.pot -d hub/translations --no-fuzzy-matching --width 100
	$(BIN)/pybabel compile -d hub/translations

clean:
	rm -rf $(VENV) build dist *.egg-info
