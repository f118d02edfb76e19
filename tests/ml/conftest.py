"""Fixtures for the engine's tests: MNIST test digits and the committed model."""

import numpy as np
import pytest

from src.ml import DEFAULT_MODEL_PATH, load_model, mnist


@pytest.fixture(scope="session")
def mnist_test(mnist_dir) -> tuple[np.ndarray, np.ndarray]:
    return mnist.load("test", mnist_dir)


@pytest.fixture(scope="session")
def model():
    return load_model(DEFAULT_MODEL_PATH)
