# Ferry — the two commands are `make up` and `make test`; everything else is a step of theirs.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
KAFKA_LIBS := infra/kafka/libs/.resolved

.PHONY: up test setup venv jars env prometheus browser lint typecheck schemas dashboards unit integration e2e chaos bench soak down clean

up: setup ## set everything up and run the platform on its embedded defaults
	$(BIN)/ferry up

test: setup prometheus browser ## set everything up and run the whole suite
	$(BIN)/ferry schemas check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

setup: venv jars env

venv: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Ferry needs $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

jars: $(KAFKA_LIBS)

$(KAFKA_LIBS): infra/kafka/pom.xml
	@command -v java >/dev/null || { echo "Kafka needs Java 17+ (apt-get install openjdk-17-jre-headless)"; exit 1; }
	@command -v mvn >/dev/null || { echo "Resolving Kafka needs Maven (apt-get install maven)"; exit 1; }
	rm -rf infra/kafka/libs
	cd infra/kafka && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=libs
	@touch $@

prometheus:
	@bash infra/apt-install.sh "prometheus promtool" prometheus

browser:  # the console's browser test: Chromium and chromedriver
	@bash infra/apt-install.sh "chromium chromedriver" chromium chromium-driver

env: venv  # fresh secrets for the embedded defaults; adds what a newer Ferry needs
	@$(BIN)/python -m ferry.dotenv init .env

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

schemas:
	$(BIN)/ferry schemas check

dashboards: venv  ## regenerate infra/grafana/dashboards from the flow registry
	$(BIN)/python -m infra.grafana.build

unit:
	$(BIN)/pytest tests/unit

integration:
	$(BIN)/pytest tests/integration

e2e:
	$(BIN)/pytest tests/e2e

chaos: setup  ## the chaos tests, then chaos at volume (every service SIGKILLed 5 times), on 1 and 3 brokers
	$(BIN)/pytest tests/chaos
	$(BIN)/python -m bench.chaos
	$(BIN)/python -m bench.chaos --brokers 3

bench: setup $(BIN)/.bench-installed
	$(BIN)/python -m bench

soak: setup  ## 30 minutes at a steady rate: every service's memory and the sink's lag
	$(BIN)/python -m bench.soak

# The bench extra, then quixstreams without its pydantic caps (see pyproject.toml)
$(BIN)/.bench-installed: pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/pip install --quiet --no-deps 'quixstreams==3.28.1'
	@touch $@

clean:
	rm -rf $(VENV) infra/kafka/libs var
