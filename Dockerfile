FROM python:3.11-slim

# Fonts for text layers (metric-compatible replacements of the reference's families).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        fonts-dejavu-core fonts-liberation fonts-urw-base35 fonts-open-sans fontconfig \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY imgproxy ./imgproxy
COPY config ./config
COPY samples ./samples
RUN pip install --no-cache-dir .

RUN useradd --system --home /app imgproxy && mkdir -p /app/var && chown imgproxy /app/var
USER imgproxy

ENV IMGPROXY_SERVER_HOST=0.0.0.0
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health')"
CMD ["imgproxy", "serve", "--config", "config/imgproxy.toml"]
