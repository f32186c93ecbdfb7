# Flightdeck: `make run` sets everything up and serves; `make test` sets up and runs every suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .stamps
VENDOR := static/vendor
STRICT ?= 0
HOST ?= 127.0.0.1
PORT ?= 5000
# Links in e-mails point here: the address `make run` serves, unless PUBLIC_URL is set. Served on every
# interface (HOST=0.0.0.0 or ::), that address reaches nobody: the machine's name stands in for it.
EVERY_INTERFACE := $(filter 0.0.0.0 ::,$(HOST))
LINK_HOST := $(if $(EVERY_INTERFACE),$(or $(shell hostname -f 2>/dev/null),127.0.0.1),$(HOST))
ifeq ($(origin PUBLIC_URL),undefined)
GUESSED_PUBLIC_URL := $(EVERY_INTERFACE)
endif
PUBLIC_URL ?= http://$(LINK_HOST):$(PORT)
export FLASK_APP := wsgi.py

.PHONY: setup setup-dev db run test bench lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMPS)/runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/dev: requirements-dev.txt $(STAMPS)/runtime
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@mkdir -p $(STAMPS) && touch $@

# Front-end libraries and the proposal PDF's fonts (Noto Sans and its CJK, Arabic and Hebrew siblings,
# regular and bold, as whole TTF files) come from npm (pinned by package-lock.json) and are copied
# into an ignored folder. axe-core (a development dependency) stays in node_modules: the browser suite
# injects it into every page it visits.
PDF_FONTS := noto-sans noto-sans-jp noto-sans-sc noto-sans-kr noto-sans-arabic noto-sans-hebrew
$(VENDOR)/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/htmx $(VENDOR)/bootstrap $(VENDOR)/tom-select $(VENDOR)/fonts
	for font in $(PDF_FONTS); do cp node_modules/@expo-google-fonts/$$font/{400Regular,700Bold}/*.ttf $(VENDOR)/fonts/; done
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx/
	cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/css/bootstrap.min.css.map $(VENDOR)/bootstrap/
	cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js node_modules/bootstrap/dist/js/bootstrap.bundle.min.js.map $(VENDOR)/bootstrap/
	cp node_modules/tom-select/dist/js/tom-select.complete.min.js node_modules/tom-select/dist/js/tom-select.complete.min.js.map $(VENDOR)/tom-select/
	cp node_modules/tom-select/dist/css/tom-select.bootstrap5.min.css node_modules/tom-select/dist/css/tom-select.bootstrap5.min.css.map $(VENDOR)/tom-select/
	@touch $@

setup: $(STAMPS)/runtime $(VENDOR)/.stamp

setup-dev: $(STAMPS)/dev $(VENDOR)/.stamp

## Upgrade the database (SQLite under instance/ unless DATABASE_URL is set) and load the demo when empty.
db: setup
	$(BIN)/flask db upgrade
	PUBLIC_URL='$(PUBLIC_URL)' $(BIN)/flask demo load --if-empty

run: db
	@echo "Flightdeck on http://$(LINK_HOST):$(PORT)  (demo logins in README.md; password flightdeck-demo)"
	$(if $(GUESSED_PUBLIC_URL),@echo "E-mail links point at $(PUBLIC_URL); set PUBLIC_URL to the address buyers and colleagues reach this server at.")
	PUBLIC_URL='$(PUBLIC_URL)' $(BIN)/flask run --host $(HOST) --port $(PORT)

## The import contracts (.importlinter), then every suite: unit, integration on SQLite and PostgreSQL,
## functional, browser. STRICT=1: a suite that cannot run (no PostgreSQL binaries, no Chromium) fails
## instead of being skipped.
test: setup-dev
	$(BIN)/lint-imports --no-cache
	FLIGHTDECK_STRICT=$(STRICT) $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup-dev
	$(BIN)/python -m bench

## ruff, then the import contracts: domains depend downward only (.importlinter).
lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: setup-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) $(STAMPS) $(VENDOR) node_modules .pytest_cache .ruff_cache
