"""A prediction changed by two requests at once: each request acts on the prediction as it read it, and
one that finds it deleted or replaced meanwhile changes nothing and says so (404, 409), never a 500."""

import threading

import pytest

from benchmarks.uploads import b64, written
from src.api import auth
from tests.api.conftest import predict, stored_total
from tests.conftest import ADMIN


@pytest.fixture
def meanwhile(monkeypatch):
    """meanwhile(action): the next request waits, just after it has read the prediction it acts on, for
    `action` (another request, on a thread of its own as a server would run it) to be answered: as if the
    two had come at the same instant."""

    def arrange(action):
        read, pending = auth.get_prediction, [action]

        def read_then_act(*args, **kwargs):
            prediction = read(*args, **kwargs)
            if pending:
                other = threading.Thread(target=pending.pop())
                other.start()
                other.join()
            return prediction

        monkeypatch.setattr(auth, "get_prediction", read_then_act)

    return arrange


def samples_total(client) -> int:
    return client.get("/api/samples", headers=ADMIN).json["total"]


def test_a_correction_of_a_prediction_deleted_meanwhile_is_404_and_makes_no_sample(app, client, seven, meanwhile):
    url = f"/api/predictions/{predict(client, seven)['id']}"
    meanwhile(lambda: client.delete(url))

    answer = client.patch(url, json={"label": "1"})

    assert answer.status_code == 404, answer.json
    assert answer.mimetype == "application/problem+json"
    assert client.get(url).status_code == 404
    assert stored_total(app) == samples_total(client) == 0


def test_a_correction_of_a_prediction_replaced_meanwhile_is_409_and_changes_nothing(client, number_2024, meanwhile):
    url = f"/api/predictions/{(made := predict(client, number_2024))['id']}"
    meanwhile(lambda: client.post("/api/predict", json={"image": b64(written("7")), "replaces": made["id"]}))

    answer = client.patch(url, json={"label": "2025"})

    assert answer.status_code == 409, answer.json
    assert "replaced" in answer.json["detail"]
    assert (client.get(url).json["number"], client.get(url).json["label"]) == ("7", None)
    assert samples_total(client) == 0


def test_a_correction_made_meanwhile_is_withdrawn_by_the_replacement(client, number_2024, meanwhile):
    url = f"/api/predictions/{(made := predict(client, number_2024))['id']}"
    corrections = []
    meanwhile(lambda: corrections.append(client.patch(url, json={"label": "2025"}).status_code))

    answer = client.post("/api/predict", json={"image": b64(written("7")), "replaces": made["id"]})

    assert (answer.status_code, corrections) == (200, [200])
    assert (client.get(url).json["number"], client.get(url).json["label"]) == ("7", None)
    assert samples_total(client) == 0


def test_a_replacement_of_a_prediction_deleted_meanwhile_is_404_and_stores_nothing(app, client, seven, meanwhile):
    made = predict(client, seven)
    meanwhile(lambda: client.delete(f"/api/predictions/{made['id']}"))

    answer = client.post("/api/predict", json={"image": b64(written("3")), "replaces": made["id"]})

    assert answer.status_code == 404, answer.json
    assert stored_total(app) == 0


def test_of_two_deletions_at_once_one_deletes_and_the_other_is_404(app, client, seven, meanwhile):
    url = f"/api/predictions/{predict(client, seven)['id']}"
    first = []
    meanwhile(lambda: first.append(client.delete(url).status_code))

    answer = client.delete(url)

    assert (first, answer.status_code) == ([204], 404)
    assert stored_total(app) == 0


@pytest.mark.parametrize("part", ["image", "input.png"])
def test_an_image_read_as_its_prediction_is_deleted_comes_whole(client, seven, meanwhile, part):
    url = f"/api/predictions/{predict(client, seven)['id']}"
    meanwhile(lambda: client.delete(url))

    answer = client.get(f"{url}/{part}")

    assert answer.status_code == 200
    assert answer.data.startswith(b"\x89PNG")


def test_a_correction_naming_a_version_corrected_meanwhile_is_412_and_the_other_correction_stays(
    database, seven, meanwhile
):
    client = database[1].test_client()
    url = f"/api/predictions/{predict(client, seven)['id']}"
    seen = {"If-Match": client.get(url).json["etag"]}
    first = []
    meanwhile(lambda: first.append(client.patch(url, json={"label": "1"}, headers=seen).status_code))

    answer = client.patch(url, json={"label": "4"}, headers=seen)

    assert (first, answer.status_code) == ([200], 412), answer.json
    assert answer.mimetype == "application/problem+json"
    assert "corrected by another request" in answer.json["detail"]
    assert client.get(url).json["label"] == "1"
    assert [s["label"] for s in client.get("/api/samples", headers=ADMIN).json["items"]] == [1]


@pytest.mark.parametrize("headers", [{}, {"If-Match": "*"}], ids=["without If-Match", "If-Match *"])
def test_a_correction_naming_no_version_applies_after_one_made_meanwhile(client, seven, meanwhile, headers):
    url = f"/api/predictions/{predict(client, seven)['id']}"
    meanwhile(lambda: client.patch(url, json={"label": "1"}))

    answer = client.patch(url, json={"label": "4"}, headers=headers)

    assert answer.status_code == 200, answer.json
    assert client.get(url).json["label"] == "4"
    assert [s["label"] for s in client.get("/api/samples", headers=ADMIN).json["items"]] == [4]
