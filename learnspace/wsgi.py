"""WSGI entry for production servers: ``gunicorn -c python:learnspace.serving.gunicorn_conf learnspace.wsgi:app``."""
from __future__ import annotations

import os

from . import create_app

os.umask(0o077)  # secrets, logs and index files this process creates are its user's alone
app = create_app()
