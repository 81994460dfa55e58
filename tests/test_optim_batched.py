"""minimize_rows: independent L-BFGS runs in one batch."""

import numpy as np
import pytest
from scipy.optimize import rosen, rosen_der

from gradkit.errors import GradkitError
from gradkit.optim.batched import minimize_rows


def _rosen_rows(shift):
    def fun(x, rows):
        z = x - shift[rows] + 1.0  # row i's minimum at shift[i]
        return (np.array([rosen(v) for v in z]), np.stack([rosen_der(v) for v in z]))
    return fun


def test_each_row_reaches_its_own_minimum():
    shift = np.array([[1.0, 1.0, 1.0], [2.0, -1.0, 0.5], [0.0, 0.0, 0.0], [3.0, 3.0, -2.0]])
    calls = []

    def fun(x, rows):
        calls.append(rows.copy())
        return _rosen_rows(shift)(x, rows)

    res = minimize_rows(fun, np.zeros((4, 3)), gtol=1e-9, ftol=0.0, max_iter=500)
    np.testing.assert_allclose(res.x, shift, atol=1e-6)
    assert res.converged.all() and res.nfev == len(calls)
    assert all(np.all(np.diff(r) > 0) for r in calls)  # each call: a sorted subset of rows
    assert min(len(r) for r in calls) < 4  # finished rows are not evaluated any more


def test_rows_do_not_share_step_sizes():
    # Scales 1 and 1e4 apart: a joint run would need one step for both.
    scales = np.array([1.0, 1e4])

    def fun(x, rows):
        s = scales[rows][:, None]
        return (s[:, 0] * np.sum((x - 1) ** 2, axis=1), 2 * s * (x - 1))

    res = minimize_rows(fun, np.zeros((2, 2)), gtol=1e-8)
    np.testing.assert_allclose(res.x, 1.0, atol=1e-8)
    assert res.nit.max() <= 5


def test_non_finite_trials_are_rejected_and_bad_input_refused():
    def fun(x, rows):  # infinite left of 0.5: the line search must back off
        v = np.where(x[:, 0] > 0.5, (x[:, 0] - 2) ** 2, np.inf)
        return v, (2 * (x[:, :1] - 2))

    res = minimize_rows(fun, np.full((1, 1), 3.0))
    assert res.x[0, 0] == pytest.approx(2.0, abs=1e-6)
    with pytest.raises(GradkitError, match="not finite at the starting point of row 0"):
        minimize_rows(fun, np.zeros((1, 1)))
    with pytest.raises(GradkitError, match="finite 2-D array"):
        minimize_rows(fun, np.zeros(3))
    with pytest.raises(GradkitError, match="max_iter must be a positive integer"):
        minimize_rows(fun, np.ones((1, 1)), max_iter=0)
