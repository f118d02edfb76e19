"""Settings: defaults, then instance/config.py, then the environment, then a test's mapping; and the secret key."""

import pytest

from benchmarks.uploads import b64
from src import create_app
from src.config import sqlalchemy_uri
from src.ml import DEFAULT_MAX_PIXELS, DEFAULT_MODEL_PATH


@pytest.fixture
def instance(tmp_path, monkeypatch, no_service_environment):
    """An instance folder of the test's own."""
    folder = tmp_path / "instance"
    monkeypatch.setenv("INSTANCE_PATH", str(folder))
    return folder


def test_the_defaults(instance):
    app = create_app({"SECRET_KEY": "x"})

    assert app.config["DATABASE_URL"] == f"sqlite:///{instance / 'predictions.sqlite'}"
    assert app.config["CACHE_TYPE"] == "SimpleCache"
    assert app.config["MAX_CONTENT_LENGTH"] == 10 * 1024 * 1024
    assert app.config["MAX_PIXELS"] == DEFAULT_MAX_PIXELS
    assert app.config["ADMIN_TOKEN"] is None
    assert app.config["CLEAR_PREDICTIONS_ON_START"] is True
    assert app.config["MODEL_PATH"] == DEFAULT_MODEL_PATH
    assert app.config["RATELIMIT_ENABLED"] is False
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert instance.is_dir()


def test_environment_variables_override_the_defaults(instance, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/elsewhere.sqlite")
    monkeypatch.setenv("MAX_CONTENT_LENGTH", "12345")
    monkeypatch.setenv("CLEAR_PREDICTIONS_ON_START", "no")
    monkeypatch.setenv("ADMIN_TOKEN", "a-token-of-22-letters")

    app = create_app({"SECRET_KEY": "x"})

    assert app.config["DATABASE_URL"] == "sqlite:////tmp/elsewhere.sqlite"
    assert app.config["MAX_CONTENT_LENGTH"] == 12345
    assert app.config["CLEAR_PREDICTIONS_ON_START"] is False
    assert app.config["ADMIN_TOKEN"] == "a-token-of-22-letters"


def test_one_redis_url_shares_both_the_cache_and_the_rate_limits(instance, monkeypatch):
    monkeypatch.setenv("CACHE_REDIS_URL", "redis://redis.example:6379/0")
    monkeypatch.setenv("RATELIMIT_ENABLED", "true")
    monkeypatch.setenv("RATELIMIT_DEFAULT", "10 per second")

    app = create_app({"SECRET_KEY": "x"})

    assert app.config["CACHE_TYPE"] == "RedisCache"
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://redis.example:6379/0"
    assert (app.config["RATELIMIT_ENABLED"], app.config["RATELIMIT_DEFAULT"]) == (True, "10 per second")


def test_the_rate_limit_store_may_be_another_redis(instance, monkeypatch):
    monkeypatch.setenv("CACHE_REDIS_URL", "redis://cache.example:6379/0")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://limits.example:6379/1")

    app = create_app({"SECRET_KEY": "x"})

    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://limits.example:6379/1"


def test_a_malformed_environment_variable_is_named(instance, monkeypatch):
    monkeypatch.setenv("CLEAR_PREDICTIONS_ON_START", "perhaps")

    with pytest.raises(ValueError, match="CLEAR_PREDICTIONS_ON_START: 'perhaps' is not a yes/no value"):
        create_app({"SECRET_KEY": "x"})


def test_the_environment_overrides_the_instance_config(instance, monkeypatch):
    instance.mkdir()
    (instance / "config.py").write_text('ADMIN_TOKEN = "from the instance file"\nSECRET_KEY = "file key"\n')
    monkeypatch.setenv("ADMIN_TOKEN", "from the environment")
    monkeypatch.setenv("MAX_PIXELS", "1000")

    app = create_app()

    assert app.config["ADMIN_TOKEN"] == "from the environment"
    assert app.config["SECRET_KEY"] == "file key"
    assert app.config["MAX_PIXELS"] == 1000


def test_a_test_mapping_replaces_the_instance_config(instance, monkeypatch):
    instance.mkdir()
    (instance / "config.py").write_text('ADMIN_TOKEN = "from the instance file"\n')
    monkeypatch.setenv("ADMIN_TOKEN", "from the environment")

    monkeypatch.setenv("MAX_PIXELS", "1000")

    app = create_app({"SECRET_KEY": "x", "MAX_PIXELS": 5})

    assert app.config["ADMIN_TOKEN"] == "from the environment"
    assert app.config["MAX_PIXELS"] == 5


def test_without_a_configured_secret_key_one_is_made_once_and_kept(instance):
    first = create_app({})
    second = create_app({})

    key_file = instance / "secret_key"
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key_file.read_text()
    assert len(first.config["SECRET_KEY"]) == 64
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert [path.name for path in instance.iterdir()] == ["secret_key"]


def test_a_configured_secret_key_writes_no_file(instance):
    app = create_app({"SECRET_KEY": "configured"})

    assert app.config["SECRET_KEY"] == "configured"
    assert not (instance / "secret_key").exists()


@pytest.mark.parametrize(
    "database_url, uri",
    [
        ("postgresql://digits:secret@db.example/digits", "postgresql+psycopg://digits:secret@db.example/digits"),
        ("postgres://digits@db.example:5433/digits", "postgresql+psycopg://digits@db.example:5433/digits"),
        ("postgresql+psycopg://127.0.0.1/test", "postgresql+psycopg://127.0.0.1/test"),
        ("sqlite:////srv/digits.sqlite", "sqlite:////srv/digits.sqlite"),
    ],
)
def test_database_urls_become_sqlalchemy_urls_with_the_installed_driver(database_url, uri):
    assert sqlalchemy_uri(database_url) == uri


@pytest.mark.parametrize("token", ["x", "fifteen-letters"])
def test_an_admin_token_shorter_than_16_characters_is_refused(instance, monkeypatch, token):
    monkeypatch.setenv("ADMIN_TOKEN", token)

    with pytest.raises(ValueError, match=f"ADMIN_TOKEN has {len(token)} characters; it must have at least 16"):
        create_app({"SECRET_KEY": "x"})


@pytest.mark.parametrize(
    "setting, forwarded_proto, secure",
    [("false", None, False), ("true", None, True), ("false", "https", True)],
    ids=["http", "SESSION_COOKIE_SECURE", "https behind a proxy"],
)
def test_the_session_cookie_is_secure_when_set_or_served_over_https(
    make_app, monkeypatch, seven, setting, forwarded_proto, secure
):
    monkeypatch.setenv("SESSION_COOKIE_SECURE", setting)
    app = make_app(TRUSTED_PROXIES=1)
    headers = {"X-Forwarded-Proto": forwarded_proto} if forwarded_proto else {}

    response = app.test_client().post("/api/predict", json={"image": b64(seven)}, headers=headers)

    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("session=")
    assert ("; Secure" in cookie) is secure
