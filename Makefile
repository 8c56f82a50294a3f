# `make test` and `make demo` set everything up themselves on a fresh machine:
# the venv with pinned requirements and the dev database server (go build).
# Each step says what it does and how long it takes the first time.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEVDB := .bin/devdb
DEVDB_SRC := $(wildcard tools/devdb/*.go) tools/devdb/go.mod tools/devdb/go.sum

.PHONY: test demo demo-reset devdb venv lint format i18n bench clean chromium audit

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@echo "make: installing the pinned requirements into $(VENV), first time only: a few minutes, mostly downloads…"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --progress-bar off --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	@echo "make: $(VENV) is ready"
	touch $@

devdb: $(DEVDB)

$(DEVDB): $(DEVDB_SRC) tools/devdb/patch-ferretdb.sh
	@echo "make: building the dev database server $(DEVDB), first time only: a few minutes…"
	mkdir -p .bin
	tools/devdb/build.sh $(DEVDB)

# The dashboard's browser test drives Debian's Chromium through Playwright (never
# `playwright install`: browser downloads are blocked here); fonts for Thai and Chinese.
chromium:
	test -x /usr/bin/chromium || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium fonts-thai-tlwg fonts-noto-cjk)

# The suite runs twice: on the dev database server, then (tests that need a real
# server deselected) on the in-process mongomock:// fallback, which takes the
# lock-free write path production takes on MongoDB.
test: venv devdb chromium
	@echo "make test: lint (ruff)…"
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) tools/audit_deps.py
	@echo "make test: the suite on the dev database server (a few minutes)…"
	$(PY) -m pytest -n 2 --dist loadfile -q
	@echo "make test: the suite again on MONGODB_URI=mongomock:// (a minute or two)…"
	MONGODB_URI=mongomock:// $(PY) -m pytest -n 2 --dist loadfile -q -m "not devdb_only"

demo: venv devdb
	@echo "make demo: starting the dev database, web app, worker and LINE simulator…"
	$(PY) tools/demo.py

# The demo keeps its database (and the seeded history) in .demo/ between runs.
demo-reset:
	rm -rf .demo

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

# Every benchmark at bounded sizes, each printing its target and ratio: 19 minutes on
# the busy 2-core development machine (load 8–21), less when quiet; bigger sizes by hand (docs/performance.md says how).
bench: venv devdb
	$(PY) bench/webhook_load.py
	$(PY) bench/webhook_throughput.py
	$(PY) bench/earn_throughput.py
	$(PY) bench/fanout.py
	$(PY) bench/segments.py --members 2000 --purchases 20000
	$(PY) bench/reports.py --members 500 --months 2
	$(PY) bench/merchants.py 100 100
	$(PY) bench/growth.py --sizes 250,1000 --events 40

clean:
	rm -rf $(VENV) .bin .pytest_cache .ruff_cache
