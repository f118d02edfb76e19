"""Fixtures shared by every test folder."""
import os
from pathlib import Path

import pytest

MNIST_DIR = Path(os.environ.get("MNIST_DIR", Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"))


def unavailable(reason: str):
    """Skip a test whose real dependency is missing, except in CI, where that is a failure."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI must have it)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists():
        unavailable(f"MNIST is not at {MNIST_DIR}; set MNIST_DIR")
    return MNIST_DIR
