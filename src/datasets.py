"""Stored digits as a training set, one sample per digit: 28x28 pixels and a label.

CSV in the layout of Kaggle's MNIST (`label,pixel0,...,pixel783`), or MNIST's own
IDX files (images and labels) in one zip, both written as they stream out.
"""
import csv
import io
import struct
import zipfile
from collections.abc import Iterable, Iterator

import numpy as np

PIXELS = 28 * 28
IDX_IMAGES = "digits-images-idx3-ubyte"
IDX_LABELS = "digits-labels-idx1-ubyte"


def csv_chunks(labelled_inputs: Iterable[tuple[str, bytes]]) -> Iterator[str]:
    """The header, then one chunk of rows per prediction."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["label", *(f"pixel{i}" for i in range(PIXELS))])
    for labels, inputs in labelled_inputs:
        pixels = np.frombuffer(inputs, dtype=np.uint8).reshape(-1, PIXELS)
        writer.writerows([label, *row] for label, row in zip(labels, pixels.tolist()))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


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
    """A zip of the IDX images file (`total` digits) and the IDX labels file, in the same order."""
    out = _Chunks()
    labels = bytearray()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open(IDX_IMAGES, "w") as images:
            images.write(struct.pack(">IIII", 0x0803, total, 28, 28))
            for digit_labels, inputs in labelled_inputs:
                images.write(inputs)
                labels.extend(int(label) for label in digit_labels)
                if chunk := out.take():
                    yield chunk
        with archive.open(IDX_LABELS, "w") as label_file:
            label_file.write(struct.pack(">II", 0x0801, len(labels)))
            label_file.write(bytes(labels))
    yield out.take()
