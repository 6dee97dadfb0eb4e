# Two commands on a fresh machine: `make run` and `make test`. Both install what they need.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")

.PHONY: install node run test lint typecheck unit bench drill clean

$(UV):
	python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv

# Bytecode compiled once here (uv does not by default): where Python may not write __pycache__
# (PYTHONDONTWRITEBYTECODE, as in containers and sandboxes), every `forloeb` command would
# otherwise compile SQLAlchemy, pydantic, typer and the project from source: ~1 s each (bench/cli.py).
install: $(UV)
	$(UV) sync --frozen --compile-bytecode
	$(UV) run --frozen python -m compileall -q core models notifications services tasks flows deployments forloeb dashboard devtools

# npm, from package-lock.json: the BPMN viewer (bpmn-js) the dashboard serves from static/vendor (no
# CDN), and bpmn-moddle, the tests' second BPMN validator. Again only when package*.json change.
VIEWER := dashboard/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(VIEWER): node_modules/.package-lock.json
	rm -rf dashboard/static/vendor/bpmn-js
	mkdir -p dashboard/static/vendor/bpmn-js
	cp -r node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js node_modules/bpmn-js/dist/assets dashboard/static/vendor/bpmn-js/

node: $(VIEWER)

lint: install
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen lint-imports

typecheck: install
	$(UV) run --frozen mypy

# The integration tier runs twice: SQLite (as `make run`), then with both databases (app and Prefect
# server) on this PostgreSQL server (tests/conftest.py; every test skips where the server is not there).
# The second pass leaves out the whole-course drives marked `full_drive` (the same SQL as the shorter
# tests, 30-40 s each) except the two-track one, to keep `make test` under 10 minutes on 2 cores.
TEST_POSTGRES ?= postgresql://postgres@127.0.0.1:5432

# Three pytest processes at the same time: the integration tier on SQLite, the unit and web tiers
# (browser, schemathesis, argon2: mostly CPU), and the integration tier on PostgreSQL. The integration
# tiers mostly wait on their Prefect servers (load ~1 on 2 cores while one runs), so the three take
# little longer than the longest alone (one process for all of SQLite took 11.5 min with this
# session's tests, machine loaded). Each prints its output when all are done; any failing fails.
test: install lint typecheck node
	$(UV) run --frozen python -m devtools.testsetup
	logs=$$(mktemp -d); \
	FORLOEB_TEST_POSTGRES=$(TEST_POSTGRES) $(UV) run --frozen pytest tests/integration -m "not full_drive" >$$logs/postgres 2>&1 & pg=$$!; \
	$(UV) run --frozen pytest tests/unit tests/web >$$logs/web 2>&1 & web=$$!; \
	$(UV) run --frozen pytest tests/integration >$$logs/sqlite 2>&1; sqlite=$$?; \
	wait $$web; webrc=$$?; wait $$pg; postgres=$$?; \
	echo "--- unit and web tiers (SQLite) ---"; cat $$logs/web; \
	echo "--- integration tier on SQLite ---"; cat $$logs/sqlite; \
	echo "--- integration tier on PostgreSQL ---"; cat $$logs/postgres; rm -rf $$logs; \
	test $$sqlite -eq 0 && test $$webrc -eq 0 && test $$postgres -eq 0

# The unit tier alone: no Prefect server, no browser, no network (< 30 s).
unit: install node
	$(UV) run --frozen pytest tests/unit

run: install node
	$(UV) run --frozen python -m devtools.launcher

bench: install
	$(UV) run --frozen python bench/resume_latency.py
	$(UV) run --frozen python bench/burst.py
	$(UV) run --frozen python bench/dashboard.py
	$(UV) run --frozen python bench/cli.py

# SIGKILL of runner, Prefect server and dashboard in the middle of bursts of completions, on SQLite
# and PostgreSQL (127.0.0.1:5432); prints the table, writes bench/RESULTS-fault_drill.md (~25 min).
drill: install
	$(UV) run --frozen python bench/fault_drill.py

clean:
	rm -rf .forloeb .pytest_cache .mypy_cache .ruff_cache
