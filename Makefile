# `make test` and `make demo` set everything up themselves on a fresh machine:
# the venv with pinned requirements and the dev database server (go build).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEVDB := .bin/devdb
DEVDB_SRC := $(wildcard tools/devdb/*.go) tools/devdb/go.mod tools/devdb/go.sum

.PHONY: test demo devdb venv lint format i18n bench clean audit

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $@

devdb: $(DEVDB)

$(DEVDB): $(DEVDB_SRC) tools/devdb/patch-ferretdb.sh
	mkdir -p .bin
	tools/devdb/patch-ferretdb.sh
	cd tools/devdb && go build -mod=vendor -o ../../$(DEVDB) .

test: venv devdb
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) tools/audit_deps.py
	$(PY) -m pytest -n 2 --dist loadfile -q

demo: venv devdb
	$(PY) tools/demo.py

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Extract user-facing strings and merge them into the three catalogues.
i18n: venv
	$(VENV)/bin/pybabel extract -F babel.cfg -k N_ -k n_:1,2 -o locale/messages.pot --no-location --sort-output .
	for lang in th en zh_Hant; do \
	  $(VENV)/bin/pybabel update -i locale/messages.pot -d locale -l $$lang --no-fuzzy-matching --width 100 --ignore-obsolete; \
	done
	$(VENV)/bin/pybabel compile -d locale --statistics

# Known vulnerabilities in the pinned requirements (skips, saying so, when offline).
audit: venv
	$(PY) tools/audit_deps.py

bench: venv devdb
	$(PY) bench/webhook_throughput.py
	$(PY) bench/earn_throughput.py

clean:
	rm -rf $(VENV) .bin .pytest_cache .ruff_cache
