"""The hotline app: `python serve.py` serves it (granian); the ops CLI (`flask --app app ivr ...`) builds
its own with create_app(serving=False)."""

from ivr import create_app

app = create_app()
