PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= config/imgproxy.toml
# Metric-compatible free fonts for text layers (docs/parameters.md; the Dockerfile installs
# them too), redis-server for the tests of Redis-backed jobs, chromium for the browser tests
# of the playground page, wrk for the benchmark's load and gifsicle for thumbor's animations in it.
FONT_PACKAGES := fonts-dejavu-core fonts-liberation fonts-urw-base35 fonts-open-sans
DEBIAN_PACKAGES := $(FONT_PACKAGES) redis-server chromium wrk gifsicle
IMAGE ?= imgproxy

.PHONY: run test fuzz lint format bench samples gallery docs system fonts docker clean

$(STAMP): pyproject.toml setup.py $(wildcard imgproxy/pipeline/*.c)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,recognition]'
	touch $(STAMP)

# Installs the Debian packages given as root where apt-get exists; without them text layers use
# the fallback font and the Redis tests are skipped.
define apt_install
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
		|| echo "system: could not install$$(echo " $$missing")"; \
	else \
		echo "system: missing$$(echo " $$missing") (install them as root)"; \
	fi
endef

system:
	$(call apt_install,$(DEBIAN_PACKAGES))

# What serving needs of the system: the fonts of text layers.
fonts:
	$(call apt_install,$(FONT_PACKAGES))

# The playground is on here (config/imgproxy.toml keeps the built-in default, off) unless the
# environment says otherwise.
run: $(STAMP) fonts
	IMGPROXY_PLAYGROUND_ENABLED=$${IMGPROXY_PLAYGROUND_ENABLED:-true} $(BIN)/imgproxy serve --config $(CONFIG)

test: $(STAMP) system
	$(BIN)/pytest -q

fuzz: $(STAMP) system
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-50000} $(BIN)/pytest -q tests/web/test_fuzz.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP) system
	$(BIN)/python -m benchmarks.run

samples: $(STAMP)
	$(BIN)/python scripts/make_samples.py samples

gallery: $(STAMP)
	$(BIN)/python scripts/make_gallery.py docs/gallery

# README's and docs/parameters.md's parameter tables, docs/config.md and config/imgproxy.toml.
docs: $(STAMP)
	$(BIN)/python -m imgproxy.docs

# The Docker image (docs/deploy.md), where a Docker engine answers; elsewhere it says why not.
docker:
	@if ! command -v docker >/dev/null 2>&1; then \
		echo "docker: the docker command is not installed here; build the image on a machine with Docker: docker build -t $(IMAGE) ." >&2; \
		exit 1; \
	elif ! docker info >/dev/null 2>&1; then \
		echo "docker: no Docker engine answers here ('docker info' failed); build the image where one runs: docker build -t $(IMAGE) ." >&2; \
		exit 1; \
	fi
	docker build -t $(IMAGE) .

clean:
	rm -rf $(VENV) var build imgproxy/pipeline/*.so
