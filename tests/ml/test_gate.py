"""The gate's split of the samples: whole writers held back, the same ones from one retrain to the next."""

import numpy as np

from src.ml.gate import held_back


def test_a_writers_samples_are_all_held_back_or_all_trained_on():
    writers = [f"writer-{k % 10}" for k in range(100)]

    held = held_back(writers)

    held_writers = {w for w, h in zip(writers, held) if h}
    trained_writers = {w for w, h in zip(writers, held) if not h}
    assert len(held_writers) == 2 and not held_writers & trained_writers
    assert held.sum() == 20


def test_the_same_writers_are_held_back_whatever_the_order_and_as_more_arrive():
    writers = [f"writer-{k}" for k in range(10)]
    more = writers[::-1] + [f"new-{k}" for k in range(3)]

    first = {w for w, h in zip(writers, held_back(writers)) if h}
    later = {w for w, h in zip(more, held_back(more)) if h}

    assert first & later == first


def test_one_writer_alone_is_not_held_back():
    assert not held_back(["only"] * 5).any()
    assert held_back(["a", "b"]).sum() == 1
    assert held_back([]).shape == (0,) and held_back([]).dtype == np.bool_
