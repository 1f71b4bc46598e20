"""WSGI entry point: `gunicorn app:app` serves it, `flask --app app ivr ...` is the ops CLI."""

from ivr import create_app

app = create_app()
