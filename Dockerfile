# Production-like image of dataex: `pip install .` of this repository.
# Build and run with docker-compose.yml (it brings PostgreSQL 18).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Only what the wheel is built from (hatch: source root platform/dataex,
# contracts/ and migrations/ force-included, README.md is the readme).
WORKDIR /build
COPY pyproject.toml README.md ./
COPY platform ./platform
COPY contracts ./contracts
COPY migrations ./migrations
RUN pip install . \
    && cd / && rm -rf /build

# Unprivileged user; /data (keys) belongs to it, and a fresh named volume
# mounted there inherits that ownership.
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home dataex \
    && mkdir -p /data \
    && chown dataex:dataex /data
USER dataex
WORKDIR /data

ENV DATAEX_HOST=0.0.0.0 \
    DATAEX_PORT=8700 \
    DATAEX_DATA_DIR=/data

EXPOSE 8700
CMD ["dataex", "serve"]
