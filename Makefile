# crm_extended developer commands. Each one sets up what is missing first (dev/setup).
SHELL := /bin/bash
SIZE ?= S

.PHONY: help setup run test lint bench stop clean

help:
	@echo "make run    set up, then serve Odoo with crm_extended and demo data on http://localhost:8069"
	@echo "make test   set up, fresh database, install crm_extended, run its tests (pytest-odoo)"
	@echo "make lint   pre-commit checks (ruff, pylint-odoo, prettier, OCA module checks)"
	@echo "make bench  benchmarks (SIZE=S|M|L)"
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

bench:
	dev/setup
	.venv/bin/python benchmarks/run.py --size $(SIZE)

stop:
	bash -c '. dev/lib.sh && pg_stop'

clean: stop
	rm -rf .dev .venv node_modules
