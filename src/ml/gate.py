"""The gate a retrained model passes before it is served: the candidate and the model in use measured
side by side, on the MNIST test set through the whole path and on the samples of writers held back
from its training, and the candidate promoted only if it is no worse."""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .evaluate import encode_png, read_all, scores
from .model import DigitModel

MAX_MNIST_DROP = 0.001
"""How much lower the candidate's MNIST test accuracy may be than the current model's: 0.1 point."""
HELD_BACK_SHARE = 0.2
"""The share of writers whose samples are held back from training to test on."""


def held_back(writers: Sequence[str], share: float = HELD_BACK_SHARE) -> np.ndarray:
    """Which samples to test on rather than train on: all those of about `share` of the writers, at
    least one writer when there are two or more. Writers are ranked by a hash of their id, so that
    the same ones stay held back from one retrain to the next."""
    distinct = sorted(set(writers), key=lambda writer: hashlib.sha256(writer.encode()).hexdigest())
    chosen = set(distinct[: max(1, round(len(distinct) * share))]) if len(distinct) >= 2 else set()
    return np.array([writer in chosen for writer in writers], bool)


def sample_accuracy(model: DigitModel, images: np.ndarray, labels: np.ndarray) -> float | None:
    """The share of normalised samples (n, 28, 28) whose most probable digit is their label."""
    if not len(labels):
        return None
    return float((model.read(images).digits.argmax(axis=1) == labels).mean())


@dataclass(frozen=True)
class Verdict:
    """Both models' figures, and whether the candidate is to be served."""

    current: dict
    candidate: dict
    promote: bool
    reasons: list[str]

    def figures(self) -> dict:
        """What a version's card keeps of the gate."""
        return {"current": self.current, "candidate": self.candidate, "promoted": self.promote, "reasons": self.reasons}


def measure(
    model: DigitModel,
    mnist_pngs: list[bytes],
    mnist_labels: np.ndarray,
    held_images: np.ndarray,
    held_labels: np.ndarray,
    mnist: float | None = None,
) -> dict:
    return {
        "version": model.version,
        "mnist_test": scores(read_all(model, mnist_pngs), mnist_labels)["accuracy"] if mnist is None else mnist,
        "mnist_test_digits": int(len(mnist_labels)),
        "held_back": sample_accuracy(model, held_images, held_labels),
        "held_back_samples": int(len(held_labels)),
    }


def judge(
    current: DigitModel,
    candidate: DigitModel,
    mnist_images: np.ndarray,
    mnist_labels: np.ndarray,
    held_images: np.ndarray,
    held_labels: np.ndarray,
    candidate_mnist: float | None = None,
) -> Verdict:
    """Promote the candidate if its MNIST test accuracy is at most MAX_MNIST_DROP below the current
    model's and its accuracy on the held-back samples is at least the current model's.

    `candidate_mnist`: the candidate's accuracy on these MNIST digits, if its training measured it
    already (as `train.train` does, the same way), to spare reading them all a second time."""
    pngs = [encode_png(image) for image in mnist_images]
    now = measure(current, pngs, mnist_labels, held_images, held_labels)
    new = measure(candidate, pngs, mnist_labels, held_images, held_labels, candidate_mnist)
    reasons = []
    if new["mnist_test"] < now["mnist_test"] - MAX_MNIST_DROP - 1e-12:
        reasons.append(
            f"MNIST test accuracy fell by {(now['mnist_test'] - new['mnist_test']) * 100:.2f} points "
            f"(at most {MAX_MNIST_DROP * 100:.1f} allowed)"
        )
    if new["held_back"] is not None and new["held_back"] < now["held_back"]:
        reasons.append(f"held-back samples accuracy fell by {(now['held_back'] - new['held_back']) * 100:.2f} points")
    return Verdict(current=now, candidate=new, promote=not reasons, reasons=reasons)


def table(verdict: Verdict) -> str:
    """The two models' figures side by side, and the verdict."""

    def percent(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2%}"

    now, new = verdict.current, verdict.candidate
    rows = [
        ("", "in use", "candidate"),
        ("version", now["version"], new["version"]),
        (f"MNIST test ({now['mnist_test_digits']:,} digits)", percent(now["mnist_test"]), percent(new["mnist_test"])),
        (f"held-back samples ({now['held_back_samples']:,})", percent(now["held_back"]), percent(new["held_back"])),
    ]
    widths = [max(len(row[k]) for row in rows) for k in range(3)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    if verdict.promote:
        lines.append("verdict: promote (no worse on MNIST test, by at most 0.1 point, nor on the held-back samples)")
    else:
        lines.append("verdict: keep the model in use: " + "; ".join(verdict.reasons))
    return "\n".join(lines)
