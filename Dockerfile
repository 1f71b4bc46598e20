# The hotline web service: gunicorn serving app:app with the flow and pre-synthesized audio baked in.
# Mount another flow with -v /srv/flows.yaml:/config/flows.yaml -e IVR_FLOWS=/config/flows.yaml
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8080

WORKDIR /app
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin ivr

# Dependencies in their own layer: only the web service's (no speech engines), straight from pyproject.toml.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY ivr ./ivr
COPY app.py gunicorn.conf.py flows.yaml ./
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
CMD ["sh", "-c", "flask --app app ivr db upgrade && exec gunicorn -c gunicorn.conf.py app:app"]
