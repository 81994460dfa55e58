"""Benchmark gradkit.numeric against numdifftools and scipy.differentiate.

Run with ``python bench/numeric.py``; the peers live in a separate environment::

    .venv-bench/bin/pip install numdifftools "scipy>=1.15"
    .venv-bench/bin/python bench/numeric.py

The suite is the issue's: 15 functions at 5 points each (75 cases). Relative error is
``|d - exact| / |exact|`` (absolute where the exact value is 0); a NaN counts in "NaN" and
is left out of the error columns, a result flagged unsuccessful counts with its error.
"coverage" is the fraction of cases whose reported error estimate is at least the true
error. Every library runs with its default settings; ``nfev`` counts the points at which
``f`` was evaluated. scipy.differentiate has no second derivative of a scalar function,
so its n = 2 row uses ``scipy.differentiate.hessian`` on a function of one coordinate.

At the end, if ``bench/numeric_sampled.py`` exists, its ``main()`` runs too.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from gradkit.numeric import derivative
from gradkit.numeric.suite import accuracy_suite

SUITE = accuracy_suite()  # name: (f, f', f'', points, accepts complex input)


class Counted:
    """``f`` that counts the points it is evaluated at."""

    def __init__(self, f):
        self.f = f
        self.count = 0

    def __call__(self, x):
        self.count += np.size(x)
        return self.f(x)


def _cases():
    for name, (f, d1, d2, points, _) in SUITE.items():
        yield name, f, d1, d2, np.array(points, dtype=float)


# Each runner returns (estimates, error estimates, evaluations) for the 5 points of one
# function; a failure (exception) gives NaN.

def gradkit_runner(method, **options):
    def run(f, x, n):
        fc = Counted(f)
        res = derivative(fc, x, n=n, method=method, **options)
        assert int(np.sum(res.nfev)) == fc.count
        return res.df, res.error, res.nfev
    return run


def numdifftools_runner(method):
    import numdifftools as nd

    def run(f, x, n):
        out = np.full((3, x.size), np.nan)
        for i, xi in enumerate(x):
            fc = Counted(f)
            try:
                r = nd.Derivative(fc, n=n, method=method, full_output=True)(xi)
                out[:2, i] = float(r.estimate), float(r.error_estimate)
            except Exception:  # noqa: BLE001  (a peer's failure is a NaN in the table)
                pass
            out[2, i] = fc.count
        return out
    return run


def scipy_runner():
    import scipy.differentiate as sd

    def run(f, x, n):
        if n == 1:
            fc = Counted(f)
            r = sd.derivative(fc, x)
            return r.df, r.error, r.nfev
        out = np.full((3, x.size), np.nan)
        for i, xi in enumerate(x):
            fc = Counted(lambda v: f(v[0]))
            r = sd.hessian(fc, np.array([xi]))
            out[:, i] = r.ddf[0, 0], r.error[0, 0], fc.count
        return out
    return run


def evaluate(run, n):
    """Relative errors, relative error estimates and evaluations over the suite."""
    err, est, nfev = [], [], []
    for _, f, d1, d2, x in _cases():
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            df, error, count = (np.asarray(a, dtype=float) for a in run(f, x, n))
        exact = (d1 if n == 1 else d2)(x)
        scale = np.where(exact == 0, 1.0, np.abs(exact))
        err.append(np.abs(df - exact) / scale)
        est.append(np.abs(error) / scale)
        nfev.append(np.broadcast_to(count, x.shape))
    return np.concatenate(err), np.concatenate(est), np.concatenate(nfev)


def row(library, method, n, run):
    t0 = time.perf_counter()
    try:
        err, est, nfev = evaluate(run, n)
    except Exception as exc:  # noqa: BLE001
        return f"| {library} | {method} | {n} | error: {type(exc).__name__}: {exc} |||||||"
    ms = 1e3 * (time.perf_counter() - t0)
    finite = err[~np.isnan(err)]
    covered = np.mean(est >= err)  # NaN compares False: not covered
    return (f"| {library} | {method} | {n} | {finite.max():.1e} | {np.median(finite):.1e} | "
            f"{np.percentile(finite, 90):.1e} | {int(np.isnan(err).sum())} | "
            f"{nfev.mean():.1f} | {covered:.0%} | {ms:.0f} |")


def main() -> None:
    import numpy
    import scipy

    versions = [f"numpy {numpy.__version__}", f"scipy {scipy.__version__}"]
    rows = []
    for n in (1, 2):
        methods = ["central", "forward", "backward"] + (["complex"] if n == 1 else [])
        rows += [row("gradkit", m, n, gradkit_runner(m)) for m in methods]
    rows.insert(4, row("gradkit", "forward, step=1e-5 (textbook)", 1,
                       gradkit_runner("forward", step=1e-5)))
    try:
        import numdifftools

        versions.append(f"numdifftools {numdifftools.__version__}")
        rows += [row("numdifftools", "central", n, numdifftools_runner("central"))
                 for n in (1, 2)]
        rows.append(row("numdifftools", "complex", 1, numdifftools_runner("complex")))
    except ImportError:
        rows.append("| numdifftools | not installed |||||||||")
    if hasattr(importlib.util.find_spec("scipy.differentiate"), "name"):
        rows += [row("scipy.differentiate", "default", n, scipy_runner()) for n in (1, 2)]
    else:
        rows.append("| scipy.differentiate | needs SciPy >= 1.15 |||||||||")
    print(f"Numerical derivatives on the 75-case suite ({', '.join(versions)})\n")
    print("| library | method | n | worst | median | p90 | NaN | mean nfev | coverage | ms |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))

    sampled = Path(__file__).with_name("numeric_sampled.py")
    if sampled.exists():
        sys.path.insert(0, str(sampled.parent))
        print()
        importlib.import_module("numeric_sampled").main()


if __name__ == "__main__":
    main()
