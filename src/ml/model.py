"""The digit classifier: one scikit-learn Pipeline ending in an SVM with probabilities, and its model card."""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from .augment import turned
from .features import HogFeatures, deskew
from .svm import PairwiseSVC

DEFAULT_MODEL_PATH = Path(__file__).resolve().parents[2] / "models" / "digits-svm.joblib"
"""The model the repository ships: what the commands and the service's configuration pass unless told
otherwise. The engine itself reads and writes only the paths its caller passes."""
NOT_A_DIGIT = 10
"""The class of marks that are not digits: letters, words, scribbles, shapes, pieces of pictures."""
SEVERAL_DIGITS = 11
"""The class of blobs that hold several digits run together, to be cut apart."""
DIGITS = np.arange(10)
TURNS = (6.0, -6.0)
"""Degrees, anticlockwise, by which `DigitModel.read_steadied` turns a mark it reads again."""


@dataclass(frozen=True)
class Readings:
    """What the model reads in each of n marks."""

    digits: np.ndarray
    """(n, 10): the probability of each digit, given that the mark is one digit."""
    one_digit: np.ndarray
    not_a_digit: np.ndarray
    several_digits: np.ndarray
    """(n,) each: the probabilities that the mark is one digit, no digit, or several digits run together."""


def build_pipeline(components: int = 100, random_state: int = 0, n_jobs: int | None = -1) -> Pipeline:
    """Deskew, HOG, PCA, then an RBF SVM whose pairwise probabilities are Platt-scaled and coupled."""
    return Pipeline(
        [
            ("deskew", FunctionTransformer(deskew)),
            ("hog", HogFeatures()),
            ("pca", PCA(n_components=components, random_state=random_state)),
            ("svm", PairwiseSVC(C=10.0, gamma="scale", cache_size=1000, n_jobs=n_jobs, random_state=random_state)),
        ]
    )


def card_path(model_path: Path) -> Path:
    return Path(model_path).with_suffix(".json")


def served_transform(step) -> Callable[[np.ndarray], np.ndarray]:
    """A fitted preprocessing step's transform as a plain function of an array.

    scikit-learn checks a step's input on every call (for data frames, feature names, fitted
    state): for the one digit a request usually holds, those checks cost more than PCA's matrix
    product. A function that converts its own input and an unwhitened PCA have nothing to check in
    the model's own arrays, so they run bare; any other step is called as usual.
    tests/ml/test_model.py holds the results to the Pipeline's.
    """
    if isinstance(step, FunctionTransformer) and not step.validate:
        function, arguments = step.func, step.kw_args or {}
        return lambda X: function(X, **arguments)
    if isinstance(step, PCA) and not step.whiten:
        mean, projection = step.mean_, step.components_.T
        return lambda X: (X - mean) @ projection
    return step.transform


def served_classifier(step) -> Callable[..., list[np.ndarray]]:
    """The fitted classifier's probabilities as a plain function of the served steps' output, once for each of
    its `flattenings` (1, the default: as fitted). For PairwiseSVC, from one computation of its decision values,
    without checking again the array the model's own steps made (see `served_transform`); any other classifier
    has no pairwise sigmoids to flatten, and gives its predict_proba each time."""
    if isinstance(step, PairwiseSVC):

        def classify(X: np.ndarray, flattenings: tuple[float, ...] = (1.0,)) -> list[np.ndarray]:
            values = step.decision_values(X)
            return [step.couple(values, flatten) for flatten in flattenings]

        return classify
    return lambda X, flattenings=(1.0,): [step.predict_proba(X)] * len(flattenings)


@dataclass(frozen=True)
class DigitModel:
    """A trained pipeline with its model card; `version` names the exact file."""

    pipeline: Pipeline
    card: dict
    version: str
    transforms: list = field(init=False, repr=False, compare=False)
    """The pipeline's steps before the classifier, as served (see `served_transform`)."""
    classify: Callable[..., list[np.ndarray]] = field(init=False, repr=False, compare=False)
    """The classifier's probabilities, as served (see `served_classifier`)."""

    def __post_init__(self):
        object.__setattr__(self, "transforms", [served_transform(step) for _, step in self.pipeline.steps[:-1]])
        object.__setattr__(self, "classify", served_classifier(self.pipeline[-1]))

    def predict_proba(self, digits: np.ndarray) -> np.ndarray:
        """Probabilities (n, classes) for normalised uint8 digits of shape (n, 28, 28), in the order of
        the pipeline's `classes_`."""
        return self.classify(self._features(digits))[0]

    def _features(self, digits: np.ndarray) -> np.ndarray:
        X = np.asarray(digits).reshape(len(digits), -1)
        for transform in self.transforms:
            X = transform(X)
        return X

    def read(self, marks: np.ndarray) -> Readings:
        """What the model reads in normalised marks of shape (n, 28, 28)."""
        return self._readings(self.predict_proba(marks))

    def read_flattened(self, marks: np.ndarray, flatten: float) -> tuple[Readings, Readings]:
        """As `read`, and the same marks read again with each pair of classes told apart less surely: the
        pairwise sigmoids `flatten` times flatter (`PairwiseSVC.couple`). Read once, coupled twice."""
        plain, flattened = self.classify(self._features(marks), (1.0, flatten))
        return self._readings(plain), self._readings(flattened)

    def read_steadied(self, marks: np.ndarray, unsure: float) -> Readings:
        """As `read`, but a mark whose likeliest class is less than `unsure` likely is read again turned
        by each of TURNS, and its probabilities are the mean of those readings and the first.

        Where the model hesitates, a slightly different view of the same mark often tips it the other
        way, right or wrong; averaging a few views keeps what they agree on. Only hesitant marks pay
        for the extra readings.
        """
        probabilities = self.predict_proba(marks)
        hesitant = np.flatnonzero(probabilities.max(axis=1) < unsure)
        if len(hesitant):
            views = np.stack([turned(marks[i], degrees) for i in hesitant for degrees in TURNS])
            again = self.predict_proba(views).reshape(len(hesitant), len(TURNS), -1)
            probabilities[hesitant] = (probabilities[hesitant] + again.sum(axis=1)) / (1 + len(TURNS))
        return self._readings(probabilities)

    def _readings(self, probabilities: np.ndarray) -> Readings:
        classes = self.pipeline.classes_
        by_digit = probabilities[:, np.searchsorted(classes, DIGITS)]
        one_digit = by_digit.sum(axis=1)
        return Readings(
            digits=by_digit / one_digit[:, None],
            one_digit=one_digit,
            not_a_digit=probabilities[:, classes == NOT_A_DIGIT].sum(axis=1),
            several_digits=probabilities[:, classes == SEVERAL_DIGITS].sum(axis=1),
        )


def file_version(model_path: Path) -> str:
    digest = hashlib.sha256(Path(model_path).read_bytes()).hexdigest()
    return f"svm-hog-{digest[:12]}"


def load_model(model_path: Path) -> DigitModel:
    model_path = Path(model_path)
    card = json.loads(card_path(model_path).read_text())
    return DigitModel(pipeline=joblib.load(model_path), card=card, version=card["version"])


def save_model(pipeline: Pipeline, card: dict, model_path: Path) -> DigitModel:
    model_path = Path(model_path)
    model_path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipeline, model_path, compress=3)
    card = {"version": file_version(model_path), **card}
    write_card(model_path, card)
    return DigitModel(pipeline=pipeline, card=card, version=card["version"])


def write_card(model_path: Path, card: dict) -> None:
    """The card beside the model file, as `load_model` reads it."""
    card_path(model_path).write_text(json.dumps(card, indent=2) + "\n")
