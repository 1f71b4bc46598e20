# The hotline web service: granian (serve.py) serving app:app with the flow and pre-synthesized audio baked in.
# Mount another flow with -v /srv/flows.yaml:/config/flows.yaml -e IVR_FLOWS=/config/flows.yaml
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8080

WORKDIR /app
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin ivr

# Dependencies in their own layer: only the web service's (no speech engines), exactly as locked, every file
# checked against its hash (`make lock` refreshes requirements/web.txt).
COPY requirements/web.txt ./requirements/web.txt
RUN pip install --require-hashes --no-deps -r requirements/web.txt

# The project itself, without dependencies: editable, so `ivr` is /app/ivr and its files sit beside app.py;
# `pip check` fails the build when pyproject.toml needs something the lock does not hold.
COPY pyproject.toml app.py serve.py flows.yaml ./
COPY ivr ./ivr
RUN pip install --no-deps --no-build-isolation -e . && pip check
COPY prompts ./prompts
COPY audio ./audio

# The default journal (SQLite) lives in /app/instance; set DATABASE_URL for PostgreSQL with several replicas.
RUN mkdir -p /app/instance && chown ivr /app/instance
USER ivr
EXPOSE 8080
ENV IVR_FLOWS=/app/flows.yaml
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=2)" || exit 1
# Migrating is idempotent, and replicas starting together take turns (an advisory lock on PostgreSQL).
CMD ["sh", "-c", "flask --app app ivr db upgrade && exec python serve.py"]
