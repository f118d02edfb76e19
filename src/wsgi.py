"""The production WSGI application, which gunicorn serves (`gunicorn.conf.py` names `src.wsgi:app`).

It is the service with the production defaults (rate limits on), and it refuses to start in
debug mode or with rate limits that each worker process would count on its own.
"""

from flask import Flask

from src import create_app


class UnsafeConfiguration(RuntimeError):
    """A setting the production entry point will not serve traffic with."""


def production_app() -> Flask:
    app = create_app(production=True)
    if app.debug:
        raise UnsafeConfiguration(
            "Debug mode is on (FLASK_DEBUG, or DEBUG in instance/config.py): it shows internals to "
            "anyone who makes an error happen, and the production entry point refuses to run with it. "
            "Unset it, or use `python run.py` for development."
        )
    if app.config["RATELIMIT_ENABLED"] and app.config["RATELIMIT_STORAGE_URI"].startswith("memory"):
        raise UnsafeConfiguration(
            "Rate limits need a store that every worker shares: set CACHE_REDIS_URL (or "
            "RATELIMIT_STORAGE_URI) to a redis:// URL, or RATELIMIT_ENABLED=false to serve without limits."
        )
    return app


app = production_app()
