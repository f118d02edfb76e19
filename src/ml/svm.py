"""An RBF support vector classifier whose decision function and probabilities run as matrix products."""
import warnings

import numpy as np
from sklearn.svm import SVC
from sklearn.utils.validation import check_is_fitted

CHUNK = 1000


class BlasSVC(SVC):
    """scikit-learn's SVC, trained by libsvm as usual, answering through BLAS.

    libsvm evaluates the kernel one support vector at a time, in double precision;
    the same sums taken as matrix products in single precision agree to about 1e-4
    and run several times faster, which is what lets a batch of digits be classified
    at thousands a second. Only the RBF kernel with three or more classes is supported.

    With probability=True, libsvm fits a sigmoid to each pair of classes' decision
    values by internal cross-validation (Platt), and predict_proba couples the ten
    pairwise probabilities into one distribution (Wu, Lin and Weng 2004, method 2),
    as libsvm does, solving the coupling's small linear system directly.
    """

    def fit(self, X, y, sample_weight=None):
        with warnings.catch_warnings():
            # scikit-learn 1.9 deprecates probability=True in favour of CalibratedClassifierCV,
            # whose calibrators see one-vs-rest vote counts and so give every digit about the
            # same confidence; pairwise Platt scaling and coupling are what make these
            # probabilities mean something. The pinned 1.9.1 keeps it; 1.11 will not.
            warnings.filterwarnings("ignore", "The `probability` parameter|Attribute `prob[AB]_`", FutureWarning)
            super().fit(X, y, sample_weight)
            if self.probability:
                self.pair_sigmoids_ = np.stack([self.probA_, self.probB_])
        if self.kernel != "rbf" or len(self.classes_) < 3:
            raise ValueError("BlasSVC supports the RBF kernel with three or more classes only.")
        self.support_f32_ = self.support_vectors_.astype(np.float32)
        self.support_norms_ = (self.support_f32_**2).sum(axis=1)
        self.dual_coef_f32_ = self.dual_coef_.astype(np.float32)
        self.class_starts_ = np.concatenate([[0], np.cumsum(self.n_support_)])
        pairs = np.array([(i, j) for i in range(len(self.classes_)) for j in range(i + 1, len(self.classes_))])
        self.pairs_ = pairs
        classes = np.eye(len(self.classes_))
        self.pair_first_, self.pair_second_ = classes[pairs[:, 0]], classes[pairs[:, 1]]
        return self

    def decision_function(self, X):
        check_is_fitted(self, "pairs_")
        one_vs_one = self._one_vs_one(X)
        if self.decision_function_shape == "ovo":
            return one_vs_one
        # scikit-learn's one-vs-rest scores: votes won, plus the summed confidences
        # squashed into (-1/3, 1/3) so they only break ties.
        votes = (one_vs_one >= 0) @ self.pair_first_ + (one_vs_one < 0) @ self.pair_second_
        confidence = one_vs_one @ (self.pair_first_ - self.pair_second_)
        return votes + confidence / (3 * (np.abs(confidence) + 1))

    def predict_proba(self, X):
        if not self.probability:
            raise AttributeError("predict_proba needs probability=True")
        check_is_fitted(self, "pair_sigmoids_")
        one_vs_one = self._one_vs_one(X)
        # P(first class | one of the pair), clipped as libsvm clips it.
        slope, offset = self.pair_sigmoids_
        pairwise = np.clip(1 / (1 + np.exp(one_vs_one * slope + offset)), 1e-7, 1 - 1e-7)
        k, first, second = len(self.classes_), self.pairs_[:, 0], self.pairs_[:, 1]
        r = np.zeros((len(X), k, k))
        r[:, first, second] = pairwise
        r[:, second, first] = 1 - pairwise
        # Minimise sum over pairs of (r_ji p_i - r_ij p_j)^2 with the p summing to one:
        # the quadratic form Q, bordered by the constraint, solved for every row at once.
        system = np.zeros((len(X), k + 1, k + 1))
        system[:, :k, :k] = -np.transpose(r, (0, 2, 1)) * r
        system[:, np.arange(k), np.arange(k)] = (r**2).sum(axis=1)
        system[:, :k, k] = system[:, k, :k] = 1
        target = np.zeros((len(X), k + 1, 1))
        target[:, k] = 1
        probabilities = np.clip(np.linalg.solve(system, target)[:, :k, 0], 0, None)
        return probabilities / probabilities.sum(axis=1, keepdims=True)

    def _one_vs_one(self, X) -> np.ndarray:
        """libsvm's decision value for each pair of classes (i, j), for every row of X."""
        X = np.asarray(X, dtype=np.float32)
        # In chunks, so that the kernel matrix stays near a hundred megabytes.
        return np.concatenate([self._one_vs_one_chunk(X[start : start + CHUNK]) for start in range(0, len(X), CHUNK)])

    def _one_vs_one_chunk(self, X: np.ndarray) -> np.ndarray:
        """The decision value for (i, j): the kernel against class i's support vectors weighted by
        their coefficients for j, plus class j's weighted for i."""
        distances = (X**2).sum(axis=1)[:, None] - 2 * X @ self.support_f32_.T + self.support_norms_
        kernel = np.exp(-np.float32(self._gamma) * np.maximum(distances, 0, out=distances))
        starts = self.class_starts_
        # by_class[:, c, k]: class c's support vectors against the k-th other class.
        by_class = np.stack(
            [kernel[:, a:b] @ self.dual_coef_f32_[:, a:b].T for a, b in zip(starts[:-1], starts[1:])], axis=1
        )
        first, second = self.pairs_[:, 0], self.pairs_[:, 1]
        return by_class[:, first, second - 1] + by_class[:, second, first] + self.intercept_
