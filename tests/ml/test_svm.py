"""PairwiseSVC: libsvm's decisions, probabilities fitted on scikit-learn's supported API, the estimator contract."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.svm import SVC
from sklearn.utils.estimator_checks import check_estimator

from src.ml.evaluate import calibration_error
from src.ml.svm import CHUNK, PairwiseSVC, _platt


@pytest.fixture(scope="module")
def data():
    return make_classification(n_samples=3 * CHUNK, n_features=20, n_informative=10, n_classes=5, random_state=0)


def test_pairwise_svc_decides_each_pair_as_libsvm_does(data):
    X, y = data
    ours = PairwiseSVC(C=3.0, random_state=0).fit(X, y)
    theirs = SVC(C=3.0, gamma="scale", decision_function_shape="ovo").fit(X, y)
    np.testing.assert_allclose(ours.decision_values(X), theirs.decision_function(X), rtol=0, atol=1e-3)


def test_pairwise_svc_uses_no_deprecated_api(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PairwiseSVC(random_state=0).fit(X[:600], y[:600]).predict_proba(X[:10])


def test_platt_scaling_recovers_the_sigmoid_that_made_the_labels():
    rng = np.random.default_rng(0)
    decision = rng.normal(0, 2, 20_000)
    positive = rng.random(20_000) < 1 / (1 + np.exp(-1.5 * decision + 0.4))
    slope, offset = _platt(decision, positive)
    assert abs(slope + 1.5) < 0.1 and abs(offset - 0.4) < 0.1


def test_pairwise_svc_probabilities_are_calibrated_on_unseen_data(data):
    X, y = data
    model = PairwiseSVC(C=3.0, random_state=0).fit(X[:2000], y[:2000])
    probabilities = model.predict_proba(X[2000:])
    assert np.allclose(probabilities.sum(axis=1), 1)
    confidence, predicted = probabilities.max(axis=1), model.classes_[probabilities.argmax(axis=1)]
    # Neither always sure nor always hesitant: about as sure as it is right.
    assert 0.6 < confidence.mean() < 0.97
    assert calibration_error(confidence, predicted == y[2000:]) < 0.05


def test_flattened_pairwise_probabilities_are_less_sure_and_as_fitted_unflattened(data):
    X, y = data
    model = PairwiseSVC(C=3.0, random_state=0).fit(X[:2000], y[:2000])
    values = model.decision_values(X[2000:])

    fitted, flattened = model.couple(values), model.couple(values, flatten=2.5)

    np.testing.assert_array_equal(fitted, model.predict_proba(X[2000:]))
    assert np.allclose(flattened.sum(axis=1), 1)
    assert flattened.max(axis=1).mean() < fitted.max(axis=1).mean() - 0.05


# scikit-learn skips the checks for libraries the project does not use (pandas, the array API).
NOT_APPLICABLE = {"check_classifier_data_not_an_array", "check_array_api_input"}


def test_pairwise_svc_keeps_the_estimator_contract():
    results = check_estimator(
        PairwiseSVC(),
        expected_failed_checks={
            "check_methods_subset_invariance": "single-precision matrix products round differently in batches of "
            "other sizes (by about 1e-7)",
        },
        on_fail=None,
    )
    failed = {r["check_name"]: str(r["exception"]) for r in results if r["status"] == "failed"}
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert failed == {}
    assert skipped <= NOT_APPLICABLE
    assert len(results) > 40
