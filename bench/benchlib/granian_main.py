"""`python -m benchlib.granian_main module:factory`: serve.py's production server with another app (bench)."""

from __future__ import annotations

import sys

import serve

if __name__ == "__main__":
    serve.clean_metrics_folder()
    serve.server(sys.argv[1] if len(sys.argv) > 1 else "serve:application").serve()
