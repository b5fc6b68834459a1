# Two commands on a fresh machine: `make demo` (the main job) and `make test` (the tests).
# Both create .venv and install what they need; torch's CPU build is installed first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := build/demo

.PHONY: install demo test test-slow lint bench bench-quick clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	@mkdir -p $(DEMO)
	$(BIN)/discover generate burgers $(DEMO)/burgers.nc --force
	$(BIN)/discover find $(DEMO)/burgers.nc --var u --holdout last:20% --json $(DEMO)/burgers.json --latex $(DEMO)/burgers.tex --force
	@echo "--- $(DEMO)/burgers.tex"; cat $(DEMO)/burgers.tex
	$(BIN)/discover validate $(DEMO)/burgers.json $(DEMO)/burgers.nc --plot $(DEMO)/validation.png --force
	$(BIN)/python -m discover.datasets sample smhi_45towns $(DEMO)/towns.nc --force
	$(BIN)/discover find $(DEMO)/towns.nc --var T --holdout last:20%,stations:9 --bootstrap 20 --json $(DEMO)/towns.json --latex $(DEMO)/towns.tex --force
	@echo "--- $(DEMO)/towns.tex"; cat $(DEMO)/towns.tex
	$(BIN)/discover validate $(DEMO)/towns.json $(DEMO)/towns.nc --leads 1d,2d,5d --plot $(DEMO)/towns.png --force

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check discover datasets tests benchmarks
	$(BIN)/ruff format --check discover datasets tests benchmarks

bench: $(STAMP)
	$(BIN)/python -m benchmarks

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks --quick

clean:
	rm -rf $(VENV) build .pytest_cache
