"""Model versions served without downtime: gunicorn's worker processes on PostgreSQL switch to the version
put in use, and back, within seconds, under load, without a failed request; the folder of versions
without PostgreSQL; and the versions `/api/model` lists."""

import json
import threading
import time

import pytest
import requests

from benchmarks.uploads import b64, written
from src import versions
from src.ml import load_model
from tests.api.conftest import schema_url
from tests.api.test_production import environment, gunicorn

# Starts gunicorn and loads model versions under load.
pytestmark = pytest.mark.slow

SWITCH_SECONDS = 5
CLIENTS = 8


def keep_version(app, model_path, **card_changes) -> str:
    """Keep the model file at `model_path` as a version of the deployment (unpromoted); its name."""
    card = {**json.loads(model_path.with_suffix(".json").read_text()), **card_changes}
    with app.app_context():
        versions.add_version(app, model_path.read_bytes(), card, promote=False)
    return card["version"]


class Load:
    """CLIENTS clients each sending predictions one after another; every answer with when it came."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.answers: list[tuple[float, int, str | None]] = []
        self.stop = threading.Event()
        images = [b64(written(digit)) for digit in "0123456789"]
        self.threads = [threading.Thread(target=self._client, args=(images[k:] + images[:k],)) for k in range(CLIENTS)]

    def _client(self, images) -> None:
        session = requests.Session()
        while not self.stop.is_set():
            for image in images:
                try:
                    response = session.post(
                        f"{self.base_url}/api/predict", json={"image": image, "save": False}, timeout=30
                    )
                    answer = (time.monotonic(), response.status_code, response.json().get("model"))
                except requests.RequestException as error:
                    answer = (time.monotonic(), 0, repr(error))
                self.answers.append(answer)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def between(self, start: float, end: float) -> list[tuple[float, int, str | None]]:
        return [answer for answer in self.answers if start <= answer[0] < end]


def test_gunicorn_workers_on_postgresql_switch_versions_under_load_without_a_failed_request(
    tmp_path, make_app, postgres_settings, postgres_schema, redis_settings, small_model
):
    app = make_app(**postgres_settings)
    base = app.extensions["served_model"].base.version
    retrained = keep_version(app, small_model)
    env = environment(
        tmp_path,
        DATABASE_URL=schema_url(postgres_schema),
        WEB_CONCURRENCY="2",
        RATELIMIT_ENABLED="false",
        **redis_settings,
    )

    with gunicorn(env, tmp_path / "gunicorn.log") as (master, base_url), Load(base_url) as load:
        time.sleep(2)
        switched = time.monotonic()
        with app.app_context():
            versions.use_version(app, retrained)
        time.sleep(SWITCH_SECONDS + 2)
        rolled_back = time.monotonic()
        with app.app_context():
            versions.use_version(app, base)
        time.sleep(SWITCH_SECONDS + 2)
        ended = time.monotonic()
        card = requests.get(f"{base_url}/api/model").json()

    assert [answer for answer in load.answers if answer[1] != 200] == [], "no request fails"
    assert {answer[2] for answer in load.between(0, switched)} == {base}
    assert {answer[2] for answer in load.between(switched, switched + SWITCH_SECONDS)} <= {base, retrained}
    assert {answer[2] for answer in load.between(switched + SWITCH_SECONDS, rolled_back)} == {retrained}
    assert {answer[2] for answer in load.between(rolled_back + SWITCH_SECONDS, ended)} == {base}
    assert len(load.between(switched + SWITCH_SECONDS, rolled_back)) > CLIENTS
    assert card["version"] == base
    assert [(v["version"], v["promoted"], v["in_use"]) for v in card["versions"]] == [
        (base, True, True),
        (retrained, True, False),
    ], "a version chosen with `flask model use` counts as promoted"


def test_versions_without_postgresql_are_files_in_model_dir_and_survive_a_new_app(make_app, small_model, tmp_path):
    app = make_app()
    retrained = keep_version(app, small_model)
    with app.app_context():
        versions.use_version(app, retrained)

    restarted = make_app()
    answer = restarted.test_client().post("/api/predict", json={"image": b64(written("4")), "save": False})

    assert answer.json["model"] == retrained
    assert (tmp_path / "models" / "in-use").read_text() == retrained
    assert sorted(path.name for path in (tmp_path / "models" / "versions").iterdir()) == [
        f"{retrained}.joblib",
        f"{retrained}.json",
    ]
    assert load_model(small_model).version == retrained


@pytest.mark.parametrize("name", ["../../etc/passwd", ".hidden", "svm-hog-000000000000"])
def test_only_a_version_that_is_kept_can_be_put_in_use(app, name):
    with app.app_context(), pytest.raises(versions.UnknownVersion):
        versions.use_version(app, name)

    assert app.test_client().get("/api/model").json["versions"][0]["in_use"] is True
