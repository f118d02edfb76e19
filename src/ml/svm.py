"""An RBF support vector classifier with calibrated probabilities, answering through BLAS."""

from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from scipy.optimize import minimize
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import SVC
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

CHUNK = 1000


class PairwiseSVC(ClassifierMixin, BaseEstimator):
    """An RBF SVM whose probabilities come from a sigmoid per pair of classes, coupled.

    libsvm trains one binary SVM per pair of classes. Each pair's decision values are turned
    into a probability by a sigmoid fitted on cross-validated decision values (Platt scaling),
    and the pairwise probabilities are coupled into one distribution over the classes (Wu, Lin
    and Weng 2004, method 2). This is what scikit-learn's ``SVC(probability=True)`` did before it
    was deprecated; its replacement, ``CalibratedClassifierCV``, calibrates one-vs-rest scores,
    which for an SVM are vote counts, so nearly every digit came out 99% sure, wrong ones
    included. The cross-validation folds are trained side by side with the final model.

    The decision values are computed as matrix products in single precision rather than by
    libsvm's loop over support vectors: they agree to about 1e-4 and a batch runs several times
    faster.

    Parameters
    ----------
    C : float, default=1.0
        Regularisation, as in ``sklearn.svm.SVC``.
    gamma : {"scale"} or float, default="scale"
        The RBF kernel's coefficient; "scale" is 1 / (n_features * X.var()), as in ``SVC``.
    calibration_folds : int, default=3
        Folds of the cross-validation whose decision values the sigmoids are fitted on.
    cache_size : float, default=200
        libsvm's kernel cache, in MB, for each SVM trained.
    n_jobs : int or None, default=None
        SVMs trained at once (the final one and one per fold); -1 for one per core.
    random_state : int, RandomState instance or None, default=None
        Shuffles the folds.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    gamma_ : float
        The kernel coefficient used.
    support_vectors_ : ndarray of shape (n_SV, n_features), float32
    support_norms_ : ndarray of shape (n_SV,), float32
        Each support vector's squared norm, for the kernel's distances.
    dual_coef_ : ndarray of shape (n_classes - 1, n_SV), float32
        As ``SVC.dual_coef_``.
    intercept_ : ndarray of shape (n_pairs,)
    n_support_ : ndarray of shape (n_classes,)
    pairs_ : ndarray of shape (n_pairs, 2)
        The classes (as indices into ``classes_``) of each pairwise SVM, in libsvm's order.
    sigmoids_ : ndarray of shape (2, n_pairs)
        Each pair's slope and offset: P(first class | one of the pair) = 1 / (1 + exp(slope * f + offset)).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> model = PairwiseSVC(C=10.0, random_state=0).fit(X, y)
    >>> model.predict_proba(X[:1]).round(2)
    array([[0.98, 0.01, 0.01]])
    """

    def __init__(self, C=1.0, gamma="scale", calibration_folds=3, cache_size=200, n_jobs=None, random_state=None):
        self.C = C
        self.gamma = gamma
        self.calibration_folds = calibration_folds
        self.cache_size = cache_size
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"PairwiseSVC needs samples of two classes or more; got {len(self.classes_)} class.")
        variance = X.var()
        self.gamma_ = (
            (1.0 / (X.shape[1] * variance) if variance else 1.0) if self.gamma == "scale" else float(self.gamma)
        )
        svm = SVC(C=self.C, kernel="rbf", gamma=self.gamma_, cache_size=self.cache_size, decision_function_shape="ovo")
        folds = min(self.calibration_folds, np.bincount(codes).min())
        if folds < 2:
            raise ValueError(f"Every class needs {self.calibration_folds} samples for the calibration folds.")
        splits = list(StratifiedKFold(folds, shuffle=True, random_state=self.random_state).split(X, codes))
        fitted = Parallel(n_jobs=self.n_jobs)(
            delayed(clone(svm).fit)(X[rows], codes[rows]) for rows in [np.arange(len(X))] + [t for t, _ in splits]
        )
        decision = np.empty((len(X), len(self.classes_) * (len(self.classes_) - 1) // 2))
        for (_, held_out), fold_svm in zip(splits, fitted[1:]):
            decision[held_out] = _Machine.of(fold_svm, self.gamma_).one_vs_one(X[held_out])
        machine = _Machine.of(fitted[0], self.gamma_)
        self.support_vectors_, self.support_norms_, self.dual_coef_ = (
            machine.support_vectors,
            machine.norms,
            machine.dual_coef,
        )
        self.intercept_, self.n_support_, self.pairs_ = machine.intercept, fitted[0].n_support_, machine.pairs
        in_pair = [np.isin(codes, pair) for pair in self.pairs_]
        self.sigmoids_ = np.array(
            [
                _platt(decision[rows, k], codes[rows] == pair[0])
                for k, (rows, pair) in enumerate(zip(in_pair, self.pairs_))
            ]
        ).T
        return self

    def predict_proba(self, X):
        check_is_fitted(self, "sigmoids_")
        X = validate_data(self, X, reset=False, dtype=np.float32)
        return self.couple(self.decision_values(X))

    def couple(self, decision_values: np.ndarray, flatten: float = 1.0) -> np.ndarray:
        """The probabilities of the classes, shape (n_samples, n_classes), from `decision_values`' output. With
        `flatten` above 1, each pair's sigmoid is that much flatter (its slope and offset divided by it): the
        classes are told apart less surely, and a sample read at the edge of a class weighs less."""
        return _couple(decision_values, self.sigmoids_ / flatten, self.pairs_, len(self.classes_))

    def decision_values(self, X) -> np.ndarray:
        """libsvm's decision value for each pair of classes, shape (n_samples, n_pairs), in the order of `pairs_`."""
        check_is_fitted(self, "sigmoids_")
        machine = _Machine(
            gamma=np.float32(self.gamma_),
            support_vectors=self.support_vectors_,
            norms=self.support_norms_,
            dual_coef=self.dual_coef_,
            starts=np.concatenate([[0], np.cumsum(self.n_support_)]),
            pairs=self.pairs_,
            intercept=self.intercept_,
        )
        return machine.one_vs_one(np.asarray(X, dtype=np.float32))

    def predict(self, X):
        probabilities = self.predict_proba(X)
        return self.classes_[probabilities.argmax(axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True  # the default C and gamma are not tuned to scikit-learn's toy data
        return tags


@dataclass(frozen=True)
class _Machine:
    """A fitted SVC's support vectors and coefficients in single precision, and its pairwise decision
    values computed from them as matrix products."""

    gamma: np.float32
    support_vectors: np.ndarray
    norms: np.ndarray
    dual_coef: np.ndarray
    starts: np.ndarray
    """Where each class's support vectors begin, and the last one's end."""
    pairs: np.ndarray
    intercept: np.ndarray

    @classmethod
    def of(cls, svm: SVC, gamma: float) -> "_Machine":
        support_vectors = svm.support_vectors_.astype(np.float32)
        classes = len(svm.n_support_)
        return cls(
            gamma=np.float32(gamma),
            support_vectors=support_vectors,
            norms=(support_vectors**2).sum(axis=1),
            dual_coef=svm.dual_coef_.astype(np.float32),
            starts=np.concatenate([[0], np.cumsum(svm.n_support_)]),
            pairs=np.array([(i, j) for i in range(classes) for j in range(i + 1, classes)]),
            intercept=svm.intercept_.copy(),
        )

    def one_vs_one(self, X: np.ndarray) -> np.ndarray:
        """libsvm's decision value for each pair of classes (i, j), for every row of X."""
        X = np.asarray(X, dtype=np.float32)
        # In chunks, so that the kernel matrix stays near a hundred megabytes.
        return np.concatenate([self._chunk(X[start : start + CHUNK]) for start in range(0, len(X), CHUNK)])

    def _chunk(self, X: np.ndarray) -> np.ndarray:
        """The decision value for (i, j): the kernel against class i's support vectors weighted by
        their coefficients for j, plus class j's weighted for i."""
        distances = (X**2).sum(axis=1)[:, None] - 2 * X @ self.support_vectors.T + self.norms
        kernel = np.exp(-self.gamma * np.maximum(distances, 0, out=distances))
        # by_class[:, c, k]: class c's support vectors against the k-th other class.
        by_class = np.stack(
            [kernel[:, a:b] @ self.dual_coef[:, a:b].T for a, b in zip(self.starts[:-1], self.starts[1:])], axis=1
        )
        first, second = self.pairs[:, 0], self.pairs[:, 1]
        return by_class[:, first, second - 1] + by_class[:, second, first] + self.intercept


def _platt(decision: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    """Platt's sigmoid fit, with his smoothed targets: (slope, offset) such that
    P(positive) = 1 / (1 + exp(slope * decision + offset))."""
    positives = positive.sum()
    negatives = len(positive) - positives
    target = np.where(positive, (positives + 1) / (positives + 2), 1 / (negatives + 2))

    def loss(parameters):
        slope, offset = parameters
        z = slope * decision + offset
        # The targets' negative log-likelihood under P = 1 / (1 + exp(z)), finite for any z, and its gradient.
        p = 1 / (1 + np.exp(np.clip(z, -500, 500)))
        gap = target - p
        return (np.logaddexp(0, z) - (1 - target) * z).sum(), np.array([(gap * decision).sum(), gap.sum()])

    start = np.array([0.0, np.log((negatives + 1) / (positives + 1))])
    result = minimize(loss, start, jac=True, method="L-BFGS-B")
    return float(result.x[0]), float(result.x[1])


def _couple(one_vs_one: np.ndarray, sigmoids: np.ndarray, pairs: np.ndarray, k: int) -> np.ndarray:
    """One distribution over the classes from the pairwise probabilities (Wu, Lin and Weng, method 2)."""
    slope, offset = sigmoids
    # P(first class | one of the pair), clipped as libsvm clips it.
    pairwise = np.clip(1 / (1 + np.exp(one_vs_one * slope + offset)), 1e-7, 1 - 1e-7)
    n, first, second = len(one_vs_one), pairs[:, 0], pairs[:, 1]
    r = np.zeros((n, k, k))
    r[:, first, second] = pairwise
    r[:, second, first] = 1 - pairwise
    # Minimise the sum over pairs of (r_ji p_i - r_ij p_j)^2 with the p summing to one:
    # the quadratic form Q, bordered by the constraint, solved for every row at once.
    system = np.zeros((n, k + 1, k + 1))
    system[:, :k, :k] = -np.transpose(r, (0, 2, 1)) * r
    system[:, np.arange(k), np.arange(k)] = (r**2).sum(axis=1)
    system[:, :k, k] = system[:, k, :k] = 1
    target = np.zeros((n, k + 1, 1))
    target[:, k] = 1
    probabilities = np.clip(np.linalg.solve(system, target)[:, :k, 0], 0, None)
    return probabilities / probabilities.sum(axis=1, keepdims=True)
