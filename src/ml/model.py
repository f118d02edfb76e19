"""The digit classifier: one scikit-learn Pipeline ending in an SVM with probabilities, and its model card."""
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
from sklearn import config_context
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from .features import HogFeatures, deskew
from .svm import BlasSVC

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
DEFAULT_MODEL_PATH = MODELS_DIR / "digits-svm.joblib"


def build_pipeline(components: int = 100, random_state: int = 0) -> Pipeline:
    """Deskew, HOG, PCA, then an RBF SVM whose pairwise probabilities are Platt-scaled and coupled."""
    return Pipeline(
        [
            ("deskew", FunctionTransformer(deskew)),
            ("hog", HogFeatures()),
            ("pca", PCA(n_components=components, random_state=random_state)),
            ("svm", BlasSVC(kernel="rbf", C=10.0, gamma="scale", probability=True, random_state=random_state)),
        ]
    )


def card_path(model_path: Path) -> Path:
    return Path(model_path).with_suffix(".json")


@dataclass(frozen=True)
class DigitModel:
    """A trained pipeline with its model card; `version` names the exact file."""

    pipeline: Pipeline
    card: dict
    version: str

    def predict_proba(self, digits: np.ndarray) -> np.ndarray:
        """Probabilities (n, 10) for normalised uint8 digits of shape (n, 28, 28)."""
        # uint8 pixels are always finite: scikit-learn's check for NaN and infinity in every
        # step's input is a quarter of the time the model takes for one digit.
        with config_context(assume_finite=True):
            return self.pipeline.predict_proba(np.asarray(digits).reshape(len(digits), -1))


def file_version(model_path: Path) -> str:
    digest = hashlib.sha256(Path(model_path).read_bytes()).hexdigest()
    return f"svm-hog-{digest[:12]}"


def load_model(model_path: Path = DEFAULT_MODEL_PATH) -> DigitModel:
    model_path = Path(model_path)
    card = json.loads(card_path(model_path).read_text())
    return DigitModel(pipeline=joblib.load(model_path), card=card, version=card["version"])


def save_model(pipeline: Pipeline, card: dict, model_path: Path = DEFAULT_MODEL_PATH) -> DigitModel:
    model_path = Path(model_path)
    model_path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipeline, model_path, compress=3)
    card = {"version": file_version(model_path), **card}
    card_path(model_path).write_text(json.dumps(card, indent=2) + "\n")
    return DigitModel(pipeline=pipeline, card=card, version=card["version"])
