"""What people send, generated from MNIST test digits, is read about as well as MNIST itself."""

import pytest

from benchmarks.engine import accuracy
from benchmarks.variants import SINGLE_DIGIT_VARIANTS, number_samples, single_digit_samples

# Reads MNIST test digits in nine variants, and numbers made of them.
pytestmark = pytest.mark.slow

SAMPLE = slice(0, 300)


@pytest.fixture(scope="module")
def plain_accuracy(model, mnist_test) -> float:
    """The sample read as plain MNIST PNGs, once for every variant."""
    images, labels = mnist_test[0][SAMPLE], mnist_test[1][SAMPLE]
    return accuracy(model, single_digit_samples("plain MNIST PNG", images, labels))[0]


@pytest.mark.parametrize("variant", list(SINGLE_DIGIT_VARIANTS))
def test_each_variant_of_a_digit_is_read_within_a_point_and_a_half_of_mnist(model, mnist_test, plain_accuracy, variant):
    images, labels = mnist_test[0][SAMPLE], mnist_test[1][SAMPLE]
    digits, _ = accuracy(model, single_digit_samples(variant, images, labels, seed=7))
    assert digits >= plain_accuracy - 0.015


def test_numbers_of_several_digits_are_read_digit_by_digit(model, mnist_test):
    images, labels = mnist_test[0][SAMPLE], mnist_test[1][SAMPLE]
    digits, numbers = accuracy(model, number_samples(images, labels, seed=7))
    assert digits >= 0.98 and numbers >= 0.95
