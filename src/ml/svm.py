"""An RBF support vector classifier whose decision function runs as matrix products."""
import numpy as np
from sklearn.svm import SVC
from sklearn.utils.validation import check_is_fitted

CHUNK = 1000


class BlasSVC(SVC):
    """scikit-learn's SVC, trained by libsvm as usual, answering through BLAS.

    libsvm evaluates the kernel one support vector at a time; the same sums taken as
    two matrix products give the same decision values (to rounding) several times
    faster, which is what lets a batch of digits be classified at thousands a second.
    Only the RBF kernel with three or more classes is supported.
    """

    def fit(self, X, y, sample_weight=None):
        super().fit(X, y, sample_weight)
        if self.kernel != "rbf" or len(self.classes_) < 3:
            raise ValueError("BlasSVC supports the RBF kernel with three or more classes only.")
        # One column per pair of classes (i, j), in libsvm's order: the coefficients of
        # class i's support vectors against j, and of class j's against i.
        starts = np.concatenate([[0], np.cumsum(self.n_support_)])
        pairs = [(i, j) for i in range(len(self.classes_)) for j in range(i + 1, len(self.classes_))]
        weights = np.zeros((len(self.support_vectors_), len(pairs)))
        for column, (i, j) in enumerate(pairs):
            weights[starts[i] : starts[i + 1], column] = self.dual_coef_[j - 1, starts[i] : starts[i + 1]]
            weights[starts[j] : starts[j + 1], column] = self.dual_coef_[i, starts[j] : starts[j + 1]]
        self.pair_weights_ = weights
        self.support_norms_ = (self.support_vectors_**2).sum(axis=1)
        classes = np.eye(len(self.classes_))
        self.first_of_pair_ = classes[[i for i, _ in pairs]]
        self.second_of_pair_ = classes[[j for _, j in pairs]]
        return self

    def decision_function(self, X):
        check_is_fitted(self, "pair_weights_")
        X = np.asarray(X, dtype=np.float64)
        # In chunks, so that the kernel matrix stays near a hundred megabytes.
        one_vs_one = np.concatenate([self._kernel(X[start : start + CHUNK]) @ self.pair_weights_
                                     for start in range(0, len(X), CHUNK)]) + self.intercept_
        if self.decision_function_shape == "ovo":
            return one_vs_one
        # scikit-learn's one-vs-rest scores: votes won, plus the summed confidences
        # squashed into (-1/3, 1/3) so they only break ties; as matrix products.
        votes = (one_vs_one >= 0) @ self.first_of_pair_ + (one_vs_one < 0) @ self.second_of_pair_
        confidence = one_vs_one @ (self.first_of_pair_ - self.second_of_pair_)
        return votes + confidence / (3 * (np.abs(confidence) + 1))

    def _kernel(self, X: np.ndarray) -> np.ndarray:
        """exp(-gamma |x - s|^2) for every row x and support vector s, expanded into one product."""
        distances = (X**2).sum(axis=1)[:, None] - 2 * X @ self.support_vectors_.T + self.support_norms_
        return np.exp(-self._gamma * np.maximum(distances, 0, out=distances))
