# Yilian (医联) — two commands: `make demo` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
UV := .venv/bin/uv
VENDOR := src/yilian/web/static/vendor
DEMO_DB ?= var/demo.db

.PHONY: demo test test-sqlite test-postgres lint venv assets browser lock serve clean bench

venv: .venv/.synced
.venv/.synced: requirements.lock pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	test -x $(UV) || .venv/bin/pip install --quiet "uv==0.9.30"
	$(UV) pip sync --quiet --python $(PY) requirements.lock
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
	touch $@

# Front-end libraries come from the npm registry at install time; the app serves them itself.
assets: $(VENDOR)/.copied
$(VENDOR)/.copied: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/echarts.min.js
	touch $@

# Debian's Chromium and a CJK font for the browser tests (never a browser download).
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi -e wqy -e "noto sans cjk"; then \
	  echo "installing Debian chromium and a CJK font…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
	fi

lock:
	$(UV) pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock

DEMO_ENV := YILIAN_ENV=demo YILIAN_DATABASE_URL=sqlite:///$(DEMO_DB)
DEMO_RESIDENTS ?= 30000

# First run: a synthetic county (a year of care) plus the small workflow network and demo logins.
# Later runs reuse var/demo.db (delete it for a fresh demo).
demo: venv assets
	mkdir -p var
	@if [ ! -f $(DEMO_DB) ]; then \
	  $(DEMO_ENV) .venv/bin/yilian db upgrade && \
	  $(DEMO_ENV) .venv/bin/yilian simulate county --preset target-2025 --residents $(DEMO_RESIDENTS) --year 2025 >/dev/null && \
	  $(DEMO_ENV) .venv/bin/yilian settle group --year 2025 >/dev/null && \
	  $(DEMO_ENV) .venv/bin/yilian indicators snapshot --period 2025 >/dev/null; \
	fi
	$(DEMO_ENV) .venv/bin/yilian db upgrade
	$(DEMO_ENV) .venv/bin/yilian demo load
	$(DEMO_ENV) .venv/bin/yilian serve

test: venv assets browser
	scripts/test.sh

test-sqlite: venv assets
	YILIAN_TEST_DB=sqlite $(PY) -m pytest

test-postgres: venv assets
	YILIAN_TEST_DB=postgres $(PY) -m pytest

lint: venv
	.venv/bin/ruff check src tests bench
	.venv/bin/mypy
	.venv/bin/lint-imports

clean:
	rm -rf .venv node_modules $(VENDOR) .pytest_cache .mypy_cache .ruff_cache
