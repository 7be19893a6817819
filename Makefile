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

# Refresh the message catalogues after changing user-facing text, then translate the new entries: the core's
# (hub/translations) and each built-in plugin's own (plugins/NAME/translations, domain NAME; docs/plugins.md).
CATALOGUED_PLUGINS := jobcan csv_export kingoftime
BABEL_KEYWORDS := -k _l --project "Kintai Hub" --version 0.1.0 --no-location

babel: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg $(BABEL_KEYWORDS) -o hub/translations/messages.pot .
	$(BIN)/pybabel update -i hub/translations/messages.pot -d hub/translations --no-fuzzy-matching --width 100
	$(BIN)/pybabel compile -d hub/translations
	set -e; for plugin in $(CATALOGUED_PLUGINS); do \
	  dir=plugins/$$plugin/translations; \
	  $(BIN)/pybabel extract -F plugins/babel.cfg $(BABEL_KEYWORDS) -o $$dir/$$plugin.pot plugins/$$plugin; \
	  $(BIN)/pybabel update -i $$dir/$$plugin.pot -d $$dir -D $$plugin --no-fuzzy-matching --ignore-obsolete --width 100; \
	  $(BIN)/pybabel compile -d $$dir -D $$plugin; \
	done

clean:
	rm -rf $(VENV) build dist *.egg-info
