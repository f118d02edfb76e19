"""BlasSVC answers as scikit-learn's SVC does, to single precision."""
import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.svm import SVC

from src.ml.svm import CHUNK, BlasSVC


@pytest.fixture(scope="module")
def data():
    return make_classification(n_samples=3 * CHUNK, n_features=20, n_informative=10, n_classes=5, random_state=0)


@pytest.mark.parametrize("shape", ["ovr", "ovo"])
def test_blas_svc_decision_function_equals_libsvm(data, shape):
    X, y = data
    params = dict(C=3.0, gamma="scale", decision_function_shape=shape)
    ours, theirs = BlasSVC(**params).fit(X, y), SVC(**params).fit(X, y)
    np.testing.assert_allclose(ours.decision_function(X), theirs.decision_function(X), rtol=0, atol=1e-3)


def test_blas_svc_refuses_other_kernels(data):
    X, y = data
    with pytest.raises(ValueError, match="RBF"):
        BlasSVC(kernel="linear").fit(X[:200], y[:200])


def test_blas_svc_probabilities_equal_libsvms(data):
    X, y = data
    params = dict(C=3.0, gamma="scale", probability=True, random_state=0)
    with pytest.warns(FutureWarning):
        theirs = SVC(**params).fit(X, y)
    ours = BlasSVC(**params).fit(X, y)
    probabilities = ours.predict_proba(X)
    np.testing.assert_allclose(probabilities, theirs.predict_proba(X), rtol=0, atol=5e-3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1)
