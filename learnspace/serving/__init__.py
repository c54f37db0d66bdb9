"""Serving the app in production: the WSGI entry and gunicorn's settings (see gunicorn_conf)."""
