# imgproxy on a slim Python 3.11: `make docker` builds it, docs/deploy.md tells how to run it.

# The package as a wheel, its C modules (imgproxy/pipeline/*.c) compiled here: the
# image that runs it carries no compiler. Only the wheel leaves this stage, not the source.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev
COPY pyproject.toml setup.py README.md /src/
COPY imgproxy /src/imgproxy
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels /src

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Fonts for text layers: the Makefile's FONT_PACKAGES (metric-compatible free families).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        fonts-dejavu-core fonts-liberation fonts-urw-base35 fonts-open-sans fontconfig \
    && rm -rf /var/lib/apt/lists/*

COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels

WORKDIR /app
COPY config ./config
COPY samples ./samples
# A numeric user, so that orchestrators can check it is not root; it owns only the caches.
RUN groupadd --gid 10001 imgproxy \
    && useradd --uid 10001 --gid imgproxy --no-create-home --no-log-init --home-dir /app \
        --shell /usr/sbin/nologin imgproxy \
    && mkdir -p /app/var \
    && chown imgproxy:imgproxy /app/var
USER 10001:10001

# Every setting can be given as IMGPROXY_<SECTION>_<KEY>; these listen on every interface and keep
# the caches (and the SQLite job queue) in /app/var, where a volume keeps them across restarts.
ENV IMGPROXY_CONFIG=/app/config/imgproxy.toml \
    IMGPROXY_SERVER_HOST=0.0.0.0 \
    IMGPROXY_SERVER_PORT=8080 \
    IMGPROXY_CACHE_DIR=/app/var/cache
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ['IMGPROXY_SERVER_PORT'], timeout=2)"]
CMD ["imgproxy", "serve"]
