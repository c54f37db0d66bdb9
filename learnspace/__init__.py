"""LearnSpace 网络学习空间: the application factory."""
from __future__ import annotations

import logging
import re
from pathlib import Path

from flask import Flask

from .config import load_config, resource_dir, validate


def create_app(config_overrides: dict | None = None) -> Flask:
    """Build the Flask app: wiring only, no database writes and no network at boot."""
    app = Flask(
        __name__,
        template_folder=str(resource_dir("templates")),
        static_folder=str(resource_dir("static")),
    )
    app.config.update(load_config())
    if config_overrides:
        app.config.update(config_overrides)
    validate(app.config)
    _configure_logging(app)
    proxies = app.config["LEARNSPACE"].trusted_proxies
    if proxies:
        # Behind HTTPS-terminating proxies: real client IPs (rate limits, audit) and https callback URLs.
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    # The wiring imports the domains here, not at module top: importing any learnspace.<x> runs this
    # __init__ first, and a top-level import of every domain would load the whole app for each of them.
    from . import error_pages, models  # noqa: F401  (models registers every table)
    from .extensions import csrf, db, login_manager, migrate

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # Recover transparently when PostgreSQL restarts between requests.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {}).setdefault("pool_pre_ping", True)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(resource_dir("migrations")))
    csrf.init_app(app)
    login_manager.init_app(app)
    error_pages.register_error_handlers(app)

    from . import storage
    from .accounts import oidc
    from .lessons import search_labels, search_source, verification, view_counts  # noqa: F401  (registers jobs)
    from .privacy import operations as privacy  # noqa: F401  (registers the export and deletion jobs)
    from .search import writer
    storage.init_app(app)
    oidc.init_app(app)
    search_source.register()
    search_labels.register()
    writer.init_app(app)
    from . import metrics
    metrics.init_app(app)

    from .accounts.views import bp as accounts_bp
    from .accounts.views import init_login
    from .admin.views import bp as admin_bp
    from .catalog.views import bp as catalog_bp
    from .comments.views import bp as comments_bp
    from .directory.views import bp as directory_bp
    from .health import bp as health_bp
    from .lessons.api import bp as uploads_bp
    from .lessons.playback import bp as playback_bp
    from .lessons.views import bp as lessons_bp
    from .moderation.views import bp as moderation_bp
    from .privacy.views import bp as privacy_bp
    from .search.views import bp as search_bp
    from .spaces.views import bp as spaces_bp
    from .stats.views import bp as stats_bp
    from .study.views import bp as study_bp

    init_login(app)
    _connect_domains(app)
    for blueprint in (health_bp, accounts_bp, spaces_bp, admin_bp, catalog_bp, lessons_bp, uploads_bp, playback_bp,
                      search_bp, directory_bp, study_bp, comments_bp, moderation_bp, stats_bp, privacy_bp):
        app.register_blueprint(blueprint)

    from .security import init_security_headers
    from .templating import init_templating
    init_templating(app)
    init_security_headers(app)
    return app


def _connect_domains(app: Flask) -> None:
    """Let higher domains answer lower ones, which never import them (see DESIGN.md, layers)."""
    from .accounts.signals import identity_confirmed
    from .catalog.signals import facets_changed
    from .comments.views import register_panels as comment_panels
    from .lessons import operations as lessons
    from .lessons import owner_space
    from .spaces import operations as spaces
    from .study.views import register_panels as study_panels

    identity_confirmed.connect(spaces.activate_on_identity_confirmed)
    facets_changed.connect(lessons.follow_catalogue_facets)
    owner_space.provide(app, spaces.OWNER_SPACE)
    study_panels(app)  # the study panel comes first on the lesson page, the comments last
    comment_panels(app)


class _DropQueryStrings(logging.Filter):
    """Keep names typed into search boxes out of the access log (personal data of minors)."""

    _query = re.compile(r"\?[^ \"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(self._query.sub("?…", a) if isinstance(a, str) else a for a in record.args)
        return True


def _configure_logging(app: Flask) -> None:
    from . import logs
    logs.configure(app)
    logs.init_app(app)
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, _DropQueryStrings) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(_DropQueryStrings())
    for noisy in ("jieba", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    Path(app.config["LEARNSPACE"].var_dir).mkdir(parents=True, exist_ok=True)
