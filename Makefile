# The two commands of the README: `make demo` and `make test`. Both set everything up
# on a fresh machine (a virtual environment in .venv with the project installed).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup browser servers demo test lint bench package clean

$(STAMP): pyproject.toml requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/lakehouse demo

# The report test renders the HTML report in Debian's Chromium; install it when missing.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The cloud backends are tested on real local servers; Azurite comes from npm.
AZURITE := $(VENV)/node/node_modules/.bin/azurite-blob
$(AZURITE): | $(STAMP)
	npm install --silent --no-audit --no-fund --prefix $(VENV)/node azurite

servers: $(AZURITE)

test: setup browser servers
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: setup
	$(BIN)/python benchmarks/pipeline.py --order-lines 1000000

# The deployable artefact of each cloud, built reproducibly from requirements.txt into dist/
# (see infra_pulumi/package.py); the Pulumi programs in infra_pulumi/ deploy them.
package: setup
	$(BIN)/python -m infra_pulumi.package

clean:
	rm -rf $(VENV) .lake .pytest_cache .ruff_cache
