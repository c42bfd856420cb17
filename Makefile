# crm_extended developer commands. Each one sets up what is missing first (dev/setup).
SHELL := /bin/bash
SIZE ?= S

.PHONY: help setup run test lint wheel pot bench dataset load screenshots stop clean

help:
	@echo "make run    set up, then serve Odoo with crm_extended and demo data on http://localhost:8069"
	@echo "make test   set up, fresh database, install crm_extended, run its tests (pytest-odoo)"
	@echo "make lint   pre-commit checks (ruff, pylint-odoo, prettier, OCA module checks)"
	@echo "make pot   regenerate crm_extended/i18n/crm_extended.pot (from the test database)"
	@echo "make wheel  build the add-on as a wheel (odoo-addon-crm_extended) in .dev/dist"
	@echo "make bench  benchmarks (SIZE=S|M|L)"
	@echo "make dataset  fill the benchmark database with the SIZE dataset"
	@echo "make load   multi-worker load run (JSON-RPC clients on loopback; SCENARIO=sales|telesales)"
	@echo "make screenshots  every screen as each role, 1440 and 1280 px wide, in .dev/screenshots (DB=, URL=, ROLES=)"
	@echo "make stop   stop the project's PostgreSQL cluster"
	@echo "dev/odoo ARGS...  odoo-bin with the project's configuration"

setup:
	dev/setup

run:
	dev/run

test:
	dev/test

lint:
	dev/setup --lint
	.dev/lint/bin/pre-commit run --all-files --show-diff-on-failure

pot:
	dev/odoo -d $(or $(DB),crm_extended_test) --modules=crm_extended --stop-after-init \
		--i18n-export=$(CURDIR)/crm_extended/i18n/crm_extended.pot --log-level=warn

wheel:
	dev/setup
	rm -rf .dev/dist
	.venv/bin/python -m pip wheel -q --no-deps --no-build-isolation ./crm_extended -w .dev/dist
	@ls .dev/dist

bench:
	dev/setup
	.venv/bin/python benchmarks/run.py --size $(SIZE)

dataset:
	dev/setup
	.venv/bin/python benchmarks/generate.py --size $(SIZE)

load:
	dev/setup
	.venv/bin/python benchmarks/load.py $(if $(SCENARIO),--scenario $(SCENARIO))

screenshots:
	dev/setup
	dev/screenshots $(if $(DB),--db $(DB)) $(if $(URL),--url $(URL)) $(if $(ROLES),--roles $(ROLES))

stop:
	bash -c '. dev/lib.sh && pg_stop'

clean: stop
	rm -rf .dev .venv node_modules
