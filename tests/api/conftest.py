"""Canvas images the API tests send."""
import pytest

from tests.api.images import written


@pytest.fixture(scope="session")
def seven() -> bytes:
    return written("7")


@pytest.fixture(scope="session")
def number_2024() -> bytes:
    return written("2024", size=(560, 200))


@pytest.fixture(scope="session")
def blank() -> bytes:
    return written("")
