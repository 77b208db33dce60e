PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= config/imgproxy.toml
# Metric-compatible free fonts for the families text layers ask for (docs/parameters.md).
FONT_PACKAGES := fonts-dejavu-core fonts-liberation fonts-urw-base35 fonts-open-sans

.PHONY: run test lint format bench samples gallery fonts clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,recognition]'
	touch $(STAMP)

# Installs the font packages as root where apt-get exists; elsewhere text uses the fallback font.
fonts:
	@missing=$$(for p in $(FONT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
		|| echo "fonts: could not install$$(echo " $$missing"); text layers use the fallback font"; \
	else \
		echo "fonts: missing$$(echo " $$missing") (install them as root); text layers use the fallback font"; \
	fi

run: $(STAMP) fonts
	$(BIN)/imgproxy serve --config $(CONFIG)

test: $(STAMP) fonts
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

samples: $(STAMP)
	$(BIN)/python scripts/make_samples.py samples

gallery: $(STAMP)
	$(BIN)/python scripts/make_gallery.py docs/gallery

clean:
	rm -rf $(VENV) var
