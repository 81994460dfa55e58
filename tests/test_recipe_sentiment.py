"""The sentiment recipe's parts: the data, the sparse logistic fit, the bag of embeddings'
input, the seed's three-sentence gradient."""

import numpy as np
import pytest
import scipy.sparse as sp

import gradkit as gk
from gradkit.recipes import sentiment
from gradkit.recipes.shared.linear import Sparse, fit_logistic


def test_the_sentences_load_whole_and_balanced():
    texts, y, source = sentiment.load_sentences()
    assert len(texts) == 3000
    assert np.bincount(source).tolist() == [1000, 1000, 1000]
    assert np.bincount(y).tolist() == [1500, 1500]
    # Two IMDb sentences hold U+0085, which splitlines() would break apart.
    assert sum("\x85" in t for t in texts) == 2
    assert not any("\t" in t or t.endswith("\r") for t in texts)


def test_a_missing_data_folder_is_refused(tmp_path):
    from gradkit.recipes import ConfigError

    with pytest.raises(ConfigError, match="sentiment.Config: data must be a folder holding"):
        sentiment.Config(data=str(tmp_path))


def test_sparse_product_has_derivatives_of_every_order():
    A = sp.random(6, 5, density=0.4, random_state=1, format="csr")
    S = Sparse(A)
    w = np.random.default_rng(0).standard_normal(5)
    gk.check_grads(lambda v: gk.numpy.sum(gk.numpy.tanh(S @ v) ** 2), (w,), order=2,
                   modes=("rev",))
    np.testing.assert_allclose(np.asarray(S @ w), A.toarray() @ w, rtol=1e-14)


def test_gradkit_logistic_regression_equals_scikit_learn_on_sparse_features():
    from sklearn.linear_model import LogisticRegression

    texts, y, _ = sentiment.load_sentences()
    keep = np.r_[0:150, 1000:1150]
    Xa, _, _ = sentiment._features("tfidf", texts[keep], texts[:2])
    ours = fit_logistic(Xa, y[keep], 10.0, tol=1e-10).x
    ref = LogisticRegression(C=10.0, tol=1e-12, max_iter=100000).fit(Xa, y[keep])
    np.testing.assert_allclose(ours["w"], ref.coef_[0], atol=1e-5)
    np.testing.assert_allclose(ours["b"], ref.intercept_[0], atol=1e-5)


def test_padded_ids_and_weights_give_each_row_its_mean():
    counts = sp.csr_matrix(np.array([[2, 0, 1, 0], [0, 0, 0, 3], [1, 1, 1, 1]]))
    ids, weights = sentiment._padded(counts, 5)
    E = np.random.default_rng(0).standard_normal((5, 3))  # row 0 is the padding
    mean = (E[ids] * weights[..., None]).sum(axis=1)
    dense = counts.toarray()
    np.testing.assert_allclose(mean, (dense / dense.sum(1, keepdims=True)) @ E[1:])


def test_the_seeds_doubled_derivative_fails_check_grads():
    toy = sentiment.seed_example()
    assert toy["check_grads"] == {"seed": "fails", "correct": "passes"}
    seed, correct = np.array(toy["seed_gradient"]), np.array(toy["correct_gradient"])
    assert np.all(np.abs(seed) < np.abs(correct))  # shrunk by the second p (1 - p) < 1/4
