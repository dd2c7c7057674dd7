# The commands the README names. `make run` and `make test` work on a fresh machine.
# make run takes HOST and PORT (where runserver listens) and PUBLIC_BASE_URL (what links and QR
# codes point to; by default http://HOST:PORT); make test takes PYTEST_ARGS.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
DEV_ENV := DEBUG=1 PUBLIC_BASE_URL=$(PUBLIC_BASE_URL)
PYTEST_ARGS ?=

.PHONY: run test lint format bench venv messages clean

$(BIN)/python:
	@version=$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null); \
	case "$$version" in \
	  3.1[1-9]|3.[2-9][0-9]) ;; \
	  *) echo "This project needs Python 3.11 or newer; '$(PYTHON)' is $${version:-not a Python}." \
	       "Install python3.11, or run make PYTHON=/path/to/python3.11." >&2; exit 1;; \
	esac
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

run: venv
	$(DEV_ENV) $(BIN)/python manage.py migrate --no-input -v 0
	$(DEV_ENV) $(BIN)/python manage.py seed_demo --if-empty
	@echo
	@echo "  Consumer page, admin and demo logins are listed above."
	@echo "  Serving on http://$(HOST):$(PORT)/  (Ctrl-C to stop); links and QR codes point to $(PUBLIC_BASE_URL)"
	@echo
	$(DEV_ENV) $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: venv
	$(BIN)/pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: venv
	$(DEV_ENV) $(BIN)/python manage.py makemessages -l zh_Hans -l en --ignore=.venv --ignore=var --no-obsolete
	$(DEV_ENV) $(BIN)/python manage.py compilemessages --ignore=.venv

bench: venv
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) var
