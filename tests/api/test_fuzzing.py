"""Bad input, generated: schemathesis against the live service (on PostgreSQL and Redis) from its
OpenAPI document, and hypothesis on the image decoder and on the bytes a client may send as an image.
Bounded here; `python -m benchmarks.load --scenario fuzz` runs longer."""

from datetime import timedelta

import numpy as np
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from benchmarks.uploads import any_upload, encoded
from src import storage
from src.api.openapi import DOCUMENT
from src.ml import ImageError, decode_image
from tests.conftest import ADMIN, DocumentedClient, model_path, serving

# Hundreds of generated requests.
pytestmark = pytest.mark.slow


# The document the service serves at /api/openapi.json (test_service checks that they are the same).
# schemathesis's loader from a fixture does not run under pytest 9, so the live service is a fixture
# of the test instead.
schema = schemathesis.openapi.from_dict(DOCUMENT)


@pytest.fixture
def live_service(make_app, postgres_settings, redis_settings):
    with serving(make_app(**postgres_settings, **redis_settings)) as base_url:
        yield base_url


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_get_documented_answers_and_never_a_server_error(case, live_service):
    # Every check but one: a string the schema allows is rarely a valid image or base64, so
    # schema-valid requests may rightly be refused.
    case.call_and_validate(
        base_url=live_service,
        headers=ADMIN,
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
        timeout=30,
    )


BOUNDED = settings(max_examples=150, deadline=timedelta(seconds=10), suppress_health_check=[HealthCheck.too_slow])
# Pillow warns about the damage it reads past before it gives up.
DAMAGE_WARNINGS = pytest.mark.filterwarnings("ignore::UserWarning:PIL")


@DAMAGE_WARNINGS
@BOUNDED
@given(any_upload)
def test_the_decoder_returns_a_grey_image_or_an_image_error_for_any_bytes(data):
    max_pixels = 200_000
    try:
        grey = decode_image(data, max_pixels=max_pixels)
    except ImageError:
        return
    assert grey.dtype == np.uint8
    assert grey.ndim == 2
    assert 0 < grey.size <= max_pixels


@pytest.fixture(scope="module")
def client_for_any_bytes():
    """One app for every example (hypothesis runs them in one call of the test)."""
    from src import create_app

    small_images = {"SECRET_KEY": "x", "MODEL_PATH": model_path(), "DATABASE_URL": "sqlite://", "MAX_PIXELS": 200_000}
    app = create_app({"TESTING": True, **small_images})
    app.test_client_class = DocumentedClient
    with app.app_context():
        storage.init_db()
    return app.test_client()


@DAMAGE_WARNINGS
@settings(BOUNDED, max_examples=60)
@given(data=any_upload, content_type=st.sampled_from(["image/png", "image/jpeg", "image/gif", "image/x-anything"]))
def test_any_bytes_sent_as_an_image_are_stored_or_refused_not_a_server_error(client_for_any_bytes, data, content_type):
    # Stored, so that what is kept of the image (its pixels without metadata) is made from damaged files too.
    response = client_for_any_bytes.post("/api/predict", data=data, headers={"Content-Type": content_type})

    assert response.status_code in (201, 400, 413, 415, 422), response.get_data(as_text=True)


@pytest.mark.parametrize("width, height", [(1, 192), (300, 1), (4, 800)])
def test_a_long_thin_strip_is_read_or_refused_never_a_server_error(client_for_any_bytes, width, height):
    strip = encoded(Image.new("L", (width, height), 200), "PNG")

    response = client_for_any_bytes.post("/api/predict?save=false", data=strip, headers={"Content-Type": "image/png"})

    assert response.status_code in (200, 422)
