"""The service's domain errors: what went wrong in its own terms. src/api/problems.py gives each its
HTTP status; the storage's own are `DatabaseUnavailable` (src/database.py), `PredictionNotFound` and
`PredictionChanged` (src/storage.py)."""


class NoDigitFound(Exception):
    """The image was read but holds no digit: it is blank, or what is on it is not digits."""

    def __init__(self, message: str, marks: int):
        super().__init__(message)
        self.marks = marks
        """How many marks the image held that were not read as digits: 0 when it looks blank."""


class LabelMismatch(Exception):
    """A correction does not give one digit for each digit read."""


class ModelUnavailable(Exception):
    """The model file could not be loaded when the service started."""


class QuotaExceeded(Exception):
    """A client address has stored as much in the last hour as it may."""

    def __init__(self, detail: str, retry_after: int):
        super().__init__(detail)
        self.retry_after = retry_after


def describe_error(error: Exception) -> str:
    """The error's type and the first line of its message: drivers' messages run on with hints."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")
