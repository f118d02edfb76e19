"""The samples people's corrections made, for the API: a page at a time with how many there are of each
true digit, and the dataset they form. src/api reaches them only through here."""

from collections.abc import Iterator

from flask_sqlalchemy.pagination import Pagination

from src import storage


def samples_page(*, page: int, per_page: int) -> tuple[Pagination, dict[int, int]]:
    """A page of samples, newest first, and how many samples there are of each digit, 0 to 9."""
    counts = storage.sample_counts()
    return storage.find_samples(page=page, per_page=per_page), {digit: counts.get(digit, 0) for digit in range(10)}


def exported_samples() -> tuple[int, int]:
    """How many samples an export will hold, and the last one in it."""
    return storage.exported_samples()


def labelled_samples(last: int) -> Iterator[tuple[str, bytes]]:
    """Each sample up to `last`, oldest first, as (its digit, its 28x28 input)."""
    return ((str(label), data) for label, data, _ in storage.sample_rows(last))
