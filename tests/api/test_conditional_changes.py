"""Changes made from a stale view of a prediction: its entity tag (ETag, and `etag` in every answer that shows it)
changes with its reading and its correction, and a PATCH or DELETE whose If-Match names an older one is
refused with 412, changing nothing. Without If-Match a change applies to the prediction as it is."""

import pytest

from benchmarks.uploads import b64, written
from tests.api.test_samples import samples


@pytest.fixture
def seventeen(client) -> dict:
    """A stored prediction of "17", as its maker reads it back."""
    stored = client.post("/api/predict", json={"image": b64(written("17", size=(400, 280))), "source": "canvas"})
    assert (stored.status_code, stored.json["number"]) == (201, "17")
    return client.get(f"/api/predictions/{stored.json['id']}").json


def shown(client, prediction_id: str):
    return client.get(f"/api/predictions/{prediction_id}")


def read_again(client, prediction_id: str, number: str) -> None:
    """Replace the prediction's reading, as the page does when its drawing changes."""
    response = client.post(
        "/api/predict",
        json={"image": b64(written(number, size=(400, 280))), "source": "canvas", "replaces": prediction_id},
    )
    assert (response.status_code, response.json["number"]) == (200, number)


def test_a_prediction_answers_with_an_entity_tag_that_its_changes_change(client, seventeen):
    url = f"/api/predictions/{seventeen['id']}"
    first = shown(client, seventeen["id"])
    listed = client.get("/api/predictions").json["items"][0]

    corrected = client.patch(url, json={"label": "18"})

    assert first.headers["ETag"] == first.json["etag"] == listed["etag"]
    assert first.headers["ETag"].startswith('"') and first.headers["ETag"].endswith('"')
    assert corrected.headers["ETag"] == corrected.json["etag"] == shown(client, seventeen["id"]).headers["ETag"]
    assert corrected.headers["ETag"] != first.headers["ETag"]


def test_a_correction_made_for_a_reading_since_replaced_is_refused(client, seventeen):
    read_again(client, seventeen["id"], "19")

    stale = client.patch(
        f"/api/predictions/{seventeen['id']}", json={"label": "18"}, headers={"If-Match": seventeen["etag"]}
    )

    assert stale.status_code == 412
    assert stale.mimetype == "application/problem+json"
    assert "has changed since the version named in If-Match" in stale.json["detail"]
    now = shown(client, seventeen["id"]).json
    assert (now["number"], now["label"]) == ("19", None)
    assert samples(client) == []
    current = client.patch(
        f"/api/predictions/{seventeen['id']}", json={"label": "18"}, headers={"If-Match": now["etag"]}
    )
    assert (current.status_code, current.json["label"]) == (200, "18")


def test_a_correction_made_without_seeing_another_is_refused(client, seventeen):
    client.patch(f"/api/predictions/{seventeen['id']}", json={"label": "11"})

    stale = client.patch(
        f"/api/predictions/{seventeen['id']}", json={"label": "77"}, headers={"If-Match": seventeen["etag"]}
    )

    assert stale.status_code == 412
    assert shown(client, seventeen["id"]).json["label"] == "11"
    assert samples(client) == [(1, 1), (1, 7)]


@pytest.mark.parametrize(
    "if_match, status",
    [
        ("*", 200),
        ('"stale", {etag}', 200),
        ("W/{etag}", 412),  # If-Match compares strongly: a weak tag never matches
        ('"stale"', 412),
        ("", 412),  # an empty list of entity tags, which none matches
        ('"{etag}', 412),  # malformed: no entity tag, not no If-Match
    ],
)
def test_if_match_is_read_as_http_defines_it(client, seventeen, if_match, status):
    response = client.patch(
        f"/api/predictions/{seventeen['id']}",
        json={"label": "18"},
        headers={"If-Match": if_match.format(etag=seventeen["etag"])},
    )

    assert response.status_code == status
    assert shown(client, seventeen["id"]).json["label"] == ("18" if status == 200 else None)


def test_a_deletion_made_from_a_stale_view_is_refused(client, seventeen):
    read_again(client, seventeen["id"], "19")
    url = f"/api/predictions/{seventeen['id']}"

    stale = client.delete(url, headers={"If-Match": seventeen["etag"]})

    assert stale.status_code == 412
    assert shown(client, seventeen["id"]).status_code == 200
    assert client.delete(url, headers={"If-Match": shown(client, seventeen["id"]).json["etag"]}).status_code == 204
    assert shown(client, seventeen["id"]).status_code == 404
