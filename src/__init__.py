"""The digit recognition service: `create_app` builds the Flask application."""

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: dict | None = None, *, production: bool = False) -> "Flask":
    """Settings come from the defaults (with the production ones for the production entry point), then
    `instance/config.py`, then the environment, in the order Flask's documentation gives; a test's mapping
    replaces the instance file and comes last. INSTANCE_PATH moves the instance folder."""
    # Imported here, as in Flask's tutorial, so that importing the engine (`src.ml`) for training or
    # evaluation does not load Flask, SQLAlchemy and the rest of the service.
    from flask import Flask
    from werkzeug.middleware.proxy_fix import ProxyFix

    from src import api, cache, config, ratelimit, readings, retrain, security, storage, versions, views
    from src.api import problems
    from src.api.body import BoundedRequest

    instance_path = os.environ.get("INSTANCE_PATH") or None
    app = Flask(
        __name__,
        instance_path=instance_path and os.path.abspath(instance_path),
        instance_relative_config=True,
        template_folder="pages",
        static_folder="static",
    )
    app.request_class = BoundedRequest
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(config.defaults(app.instance_path))
    if production:
        app.config.from_mapping(config.PRODUCTION)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    app.config.from_mapping(config.from_environment(os.environ))
    if test_config is not None:
        app.config.from_mapping(test_config)
    config.check(app.config)
    config.derive(app.config)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = config.instance_secret_key(app.instance_path)

    if app.config["TRUSTED_PROXIES"]:
        proxies = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    storage.init_app(app)
    cache.init_app(app)
    readings.init_app(app)
    versions.init_app(app)
    retrain.init_app(app)
    ratelimit.init_app(app)
    security.init_app(app)
    problems.init_app(app)
    api.init_app(app)
    app.register_blueprint(views.bp)
    return app
