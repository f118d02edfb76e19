"""Read the MNIST IDX files from a directory, checking them against the published hashes.

Files missing from the directory can be downloaded from a mirror of the official
distribution; whatever their source, they are used only if their decompressed content
matches the hashes below.
"""

import gzip
import hashlib
import os
import urllib.request
from pathlib import Path

import numpy as np

MIRROR = "https://storage.googleapis.com/cvdf-datasets/mnist/"
CONTENT_SHA256 = {
    "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
SPLITS = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


class MnistError(RuntimeError):
    """MNIST is missing or does not match its published hashes."""


def configured_dir() -> Path:
    """Where the commands and the tests look for MNIST unless told: MNIST_DIR, else the shared data
    folder beside the repository. The engine itself reads only the folder its caller passes."""
    return Path(os.environ.get("MNIST_DIR") or Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist")


def load(split: str, data_dir: Path, download: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Return (images, labels) of a split: uint8 arrays of shape (n, 28, 28) and (n,)."""
    images_name, labels_name = SPLITS[split]
    images = _read_idx(Path(data_dir), images_name, download)
    labels = _read_idx(Path(data_dir), labels_name, download)
    return images, labels


def hashes() -> dict[str, str]:
    """The SHA-256 of each file's decompressed content, as checked on load."""
    return dict(CONTENT_SHA256)


def _read_idx(data_dir: Path, name: str, download: bool) -> np.ndarray:
    path = data_dir / name
    if not path.exists():
        if not download:
            raise MnistError(f"{path} is missing: point MNIST_DIR at the MNIST files, or pass --download.")
        data_dir.mkdir(parents=True, exist_ok=True)
        urllib.request.urlretrieve(MIRROR + name, path)
    content = gzip.decompress(path.read_bytes())
    digest = hashlib.sha256(content).hexdigest()
    if digest != CONTENT_SHA256[name]:
        raise MnistError(f"{path} does not match the published MNIST content (sha256 {digest}).")
    dims = content[3]
    shape = [int.from_bytes(content[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(content, np.uint8, offset=4 + 4 * dims).reshape(shape)
