"""Stored digits as a training set, one sample per digit: 28x28 pixels and a label.

CSV in the layout of Kaggle's MNIST (`label,pixel0,...,pixel783`), or MNIST's own
IDX files (images and labels) in one zip, both written as they stream out, a batch of
digits at a time, in bounded memory.
"""

import struct
import zipfile
from collections.abc import Iterable, Iterator

import numpy as np

PIXELS = 28 * 28
IDX_IMAGES = "digits-images-idx3-ubyte"
IDX_LABELS = "digits-labels-idx1-ubyte"
BATCH_DIGITS = 2000


def _cell_text(end: bytes) -> np.ndarray:
    """Each grey level's decimal text and `end`, as a little-endian word padded with NUL bytes."""
    cells = np.zeros((256, 4), np.uint8)
    for level in range(256):
        text = str(level).encode() + end
        cells[level, : len(text)] = list(text)
    return cells.view("<u4").ravel()


# A batch of rows is looked up a word per pixel, then its padding deleted: some fifteen times quicker
# than the csv module.
CELL, LAST_CELL = _cell_text(b","), _cell_text(b"\n")


class ExportChanged(RuntimeError):
    """Predictions were deleted while the export was being written, so its header's count is wrong."""


def _batches(labelled_inputs: Iterable[tuple[str, bytes]]) -> Iterator[tuple[bytes, np.ndarray]]:
    """The labels (one ASCII digit per sample) and the samples' pixels, about BATCH_DIGITS at a time."""
    labels, inputs, count = [], [], 0
    for digit_labels, digit_inputs in labelled_inputs:
        labels.append(digit_labels.encode())
        inputs.append(digit_inputs)
        count += len(digit_labels)
        if count >= BATCH_DIGITS:
            yield b"".join(labels), np.frombuffer(b"".join(inputs), np.uint8).reshape(-1, PIXELS)
            labels, inputs, count = [], [], 0
    if labels:
        yield b"".join(labels), np.frombuffer(b"".join(inputs), np.uint8).reshape(-1, PIXELS)


def csv_chunks(labelled_inputs: Iterable[tuple[str, bytes]]) -> Iterator[bytes]:
    """The header, then the rows of a batch of digits at a time."""
    yield ",".join(["label", *(f"pixel{i}" for i in range(PIXELS))]).encode() + b"\n"
    for labels, pixels in _batches(labelled_inputs):
        rows = np.empty((len(pixels), 1 + PIXELS), "<u4")
        rows[:, 0] = np.frombuffer(labels, np.uint8).astype("<u4") | ord(",") << 8
        rows[:, 1:PIXELS] = CELL[pixels[:, :-1]]
        rows[:, PIXELS] = LAST_CELL[pixels[:, -1]]
        yield rows.tobytes().translate(None, b"\0")


class _Chunks:
    """An unseekable file for zipfile to write into; what it collects is taken as it comes."""

    def __init__(self):
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        taken, self.parts = b"".join(self.parts), []
        return taken


def idx_zip_chunks(total: int, labelled_inputs: Iterable[tuple[str, bytes]]) -> Iterator[bytes]:
    """A zip of the IDX images file (`total` digits) and the IDX labels file, in the same order.

    Raises ExportChanged, after what it wrote, when there were not `total` digits after all.
    """
    out = _Chunks()
    labels = bytearray()
    # Fastest deflate: IDX images are mostly zeros, which even level 1 shrinks several times.
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open(IDX_IMAGES, "w") as images:
            images.write(struct.pack(">IIII", 0x0803, total, 28, 28))
            for batch_labels, pixels in _batches(labelled_inputs):
                images.write(pixels.tobytes())
                labels += batch_labels
                if chunk := out.take():
                    yield chunk
        if len(labels) != total:
            raise ExportChanged(f"The export was to hold {total:,} digits and found {len(labels):,}.")
        with archive.open(IDX_LABELS, "w") as label_file:
            label_file.write(struct.pack(">II", 0x0801, len(labels)))
            label_file.write((np.frombuffer(labels, np.uint8) - ord("0")).tobytes())
    yield out.take()
