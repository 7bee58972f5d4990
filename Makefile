# confine.lsm developer entry points. A newcomer needs two: `make demo` (the main job) and `make test` (every test).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
INVENTORY ?=
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: demo test venv host lab-up lab-down lab-status lint unit containers vms sanity

$(VENV)/.stamp: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

venv: $(VENV)/.stamp

host:
	bash scripts/host-deps.sh

## The main job: boot the lab (unless INVENTORY=... names your own), lower it, enforce, verify, report.
demo: host venv
	bash scripts/demo.sh $(INVENTORY)

## Every test tier: lint + sanity, unit, container scenarios, VM scenarios on real kernels.
test: host venv
	bash tests/run-all.sh

lint containers vms: host venv
	bash tests/run-all.sh $@

## Unit tests need no host packages and no root.
unit: venv
	bash tests/run-all.sh unit

## ansible-test sanity alone (part of the lint tier).
sanity: venv
	bash tests/sanity.sh

lab-up: host
	$(PYTHON) -m lab up
lab-down:
	$(PYTHON) -m lab down
lab-status:
	$(PYTHON) -m lab status
