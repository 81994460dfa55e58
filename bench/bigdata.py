"""The bigdata recipe against dask-ml's LogisticRegression, side by side on one cluster.

Run from the environment that has dask-ml (``.venv-bench``)::

    .venv-bench/bin/python bench/bigdata.py             # 4,000,000 x 20, 2 repeats
    .venv-bench/bin/python bench/bigdata.py --quick     # 1 repeat
    .venv-bench/bin/python bench/bigdata.py --rows 1000000

For 1 and then 2 workers, a fresh ``LocalCluster`` (worker processes, 1 thread each)
makes the recipe's data on its workers (``bigdata.on_cluster``: 250,000-row chunks,
persisted), and both fits run on it, alternately, ``repeats`` times (the fastest counts):

* gradkit: the recipe's fit (``bigdata.fit``: the feature moments in one pass, then
  gradkit's L-BFGS with one ``dask.compute`` of gradkit's value and gradient per
  evaluation), the recipe's tolerance;
* dask-ml: ``LogisticRegression(solver="lbfgs", C=1, fit_intercept=True)`` with its
  defaults (``tol=1e-4``, ``max_iter=100``); dask-glm normalises the features (one
  pass), then SciPy's L-BFGS-B with one ``dask.compute`` of loss and gradient per
  evaluation.

Both are compared with the in-memory optimum of scikit-learn's objective
(``bigdata.reference_fit``: SciPy's L-BFGS-B on one thread, polished by Newton steps) by
the largest relative difference of the coefficients (weights and intercept).

dask-ml's objective is not scikit-learn's (read in dask_glm: ``lbfgs`` is wrapped by
``normalize``, and ``L2.f`` is applied to every coefficient): the summed log-loss plus
``|beta|^2 / (2 C)`` where ``beta`` are the coefficients *of the standardised
features, intercept included*. The two optima differ by ``O(1/n)``; the table shows how
far dask-ml's own optimum (computed here in memory by Newton's method) lies from
scikit-learn's, so its distance at the end is its tolerance's, not its objective's.

Pass times: NumPy, ``bigdata.numpy_objective`` in memory (one thread); Dask, one gradkit
evaluation on the cluster (median of 5). The machine's load is printed: timings on a
busy machine are slower, for both.
"""

import _harness

_harness.prepare_environment()

import argparse  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from gradkit.recipes import bigdata  # noqa: E402
from gradkit.recipes.shared.figures import new_figure, save_figure  # noqa: E402

FIGURE = Path(__file__).resolve().parents[1] / "docs" / "recipes" / "bigdata-versus.png"


def _dask_ml_optimum(X, s, C: float) -> np.ndarray:
    """dask-ml's objective minimised in memory by Newton's method, as ``[w, b]``: the
    summed log-loss plus ``|beta|^2 / (2 C)``, ``beta`` the coefficients of
    ``[(x - mean) / std, 1]`` (dask_glm's ``normalize`` and ``L2``)."""
    from scipy.special import expit

    mean, std = X.mean(axis=0), X.std(axis=0)
    Z = np.hstack([(X - mean) / std, np.ones((len(s), 1))])
    beta = np.zeros(Z.shape[1])
    for _ in range(30):
        m = -s * (Z @ beta)
        g = Z.T @ (-s * expit(m)) + beta / C
        p = expit(Z @ beta)
        H = Z.T @ (Z * (p * (1 - p))[:, None]) + np.eye(len(beta)) / C
        step = np.linalg.solve(H, g)
        beta -= step
        if np.abs(step).max() <= 1e-15 * np.abs(beta).max():
            break
    w = beta[:-1] / std
    return np.append(w, beta[-1] - mean @ w)


class _Recorder:
    """Wraps dask_glm's ``fmin_l_bfgs_b`` to keep its iterates (normalised) and info."""

    def __init__(self, algorithms):
        self.algorithms = algorithms
        self.original = algorithms.fmin_l_bfgs_b
        self.iterates, self.info = [], {}

    def __call__(self, func, x0, **kwargs):
        self.iterates = [np.array(x0)]
        out = self.original(func, x0, callback=lambda xk: self.iterates.append(np.array(xk)),
                            **kwargs)
        self.info = out[2]
        return out

    def __enter__(self):
        self.algorithms.fmin_l_bfgs_b = self
        return self

    def __exit__(self, *exc):
        self.algorithms.fmin_l_bfgs_b = self.original


def _as_theta(beta_n: np.ndarray, mean, std) -> np.ndarray:
    """dask_glm's ``normalize`` undone: normalised coefficients to ``[w, b]``."""
    w = beta_n[:-1] / std
    return np.append(w, beta_n[-1] - mean @ w)


def _gradkit(X, s, cfg):
    import dask

    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mean, std = dask.compute(X.mean(axis=0), X.std(axis=0))
        r = bigdata.fit(X, s, cfg.C, gtol=cfg.gtol, max_iter=cfg.max_iter, mean=mean, std=std)
    r["seconds"] = time.perf_counter() - t0
    r["warnings"] = sorted({str(w.message).splitlines()[0] for w in caught})
    return r


def _dask_ml(X, s, mean, std):
    from dask_glm import algorithms
    from dask_ml.linear_model import LogisticRegression

    y = (s + 1) / 2
    t0 = time.perf_counter()
    with warnings.catch_warnings(), _Recorder(algorithms) as rec:
        warnings.simplefilter("ignore", FutureWarning)  # dask-ml's, with current Dask
        warnings.simplefilter("ignore", DeprecationWarning)  # dask-glm passes SciPy iprint
        model = LogisticRegression(solver="lbfgs", C=1.0, fit_intercept=True).fit(X, y)
    took = time.perf_counter() - t0
    theta = np.append(model.coef_, model.intercept_)
    return {"seconds": took, "theta": theta, "iterations": int(rec.info["nit"]),
            "evaluations": int(rec.info["funcalls"]),
            "iterates": np.stack([_as_theta(b, mean, std) for b in rec.iterates])}


def _in_memory(cfg) -> dict:
    """The in-memory figures: the reference, SciPy's L-BFGS-B with its defaults, a NumPy
    pass, dask-ml's own optimum (the data are freed on return)."""
    from scipy.optimize import minimize

    t0 = time.perf_counter()
    X, s = bigdata.in_memory(cfg, 0)
    out = {"made": time.perf_counter() - t0, "mean": X.mean(axis=0), "std": X.std(axis=0)}
    t0 = time.perf_counter()
    out["reference"] = bigdata.reference_fit(X, s, cfg.C)
    out["reference_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    out["plain"] = minimize(bigdata.numpy_objective, np.zeros(cfg.features + 1), jac=True,
                            args=(X, s, cfg.C), method="L-BFGS-B")
    out["plain_seconds"] = time.perf_counter() - t0
    theta0 = np.append(np.full(cfg.features, 0.01), 0.0)
    out["numpy_ms"] = _pass_ms(lambda: bigdata.numpy_objective(theta0, X, s, cfg.C))
    out["dask_ml_optimum"] = _dask_ml_optimum(X, s, cfg.C)
    return out


def _pass_ms(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times))


def _on(workers: int, cfg, ref: np.ndarray, mean, std, repeats: int) -> dict:
    import dask
    from distributed import Client, LocalCluster

    import gradkit as gk
    from gradkit.recipes.shared.linear import objective

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        X, s = bigdata.on_cluster(cfg, 0, client)
        dask.compute(X.sum(), s.sum())
        vg = gk.value_and_grad(lambda p: objective(p, X, s, cfg.C))
        p0 = {"w": np.full(cfg.features, 0.01), "b": np.zeros(())}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # distributed's large-graph note
            dask_ms = _pass_ms(lambda: dask.compute(*vg(p0)))
        best = {}
        for _ in range(repeats):
            for name, fit in (("gradkit", lambda: _gradkit(X, s, cfg)),
                              ("dask-ml", lambda: _dask_ml(X, s, mean, std))):
                r = fit()
                if name not in best or r["seconds"] < best[name]["seconds"]:
                    best[name] = r
    for r in best.values():
        r["rel_diff"] = bigdata.rel_diff(r["theta"], ref)
        r["curve"] = np.array([bigdata.rel_diff(t, ref) for t in r["iterates"]])
    best["dask_pass_ms"] = dask_ms
    return best


def _plot(results: dict, path: Path) -> None:
    fig, (a1, a2) = new_figure(1, 2, figsize=(10, 3.8))
    two = results[2]
    for name, style in (("gradkit", "o-"), ("dask-ml", "s-")):
        c = two[name]["curve"]
        a1.semilogy(np.arange(len(c)), np.maximum(c, 1e-17), style, ms=3,
                    label=f"{name} ({two[name]['evaluations']} evaluations)")
    a1.axhline(1e-6, color="k", lw=0.8, ls="--", label="goal 1e-6")
    a1.set_xlabel("L-BFGS iteration")
    a1.set_ylabel("largest relative coefficient difference\nfrom the in-memory optimum")
    a1.legend(fontsize=8)
    a1.set_title("distance from scikit-learn's optimum", fontsize=10)
    k = np.arange(2)
    for i, name in enumerate(("gradkit", "dask-ml")):
        a2.bar(k + (i - 0.5) * 0.38, [results[n][name]["seconds"] for n in (1, 2)], 0.38,
               label=name)
    a2.set_xticks(k, ["1 worker", "2 workers"])
    a2.set_ylabel("wall time of the fit (s)")
    a2.set_title("LocalCluster, 1 thread a worker", fontsize=10)
    a2.legend(fontsize=8)
    save_figure(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 repeat instead of 2")
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--no-plot", action="store_true", help=f"do not write {FIGURE.name}")
    args = parser.parse_args()
    import dask
    import dask_ml
    import distributed

    _harness.print_environment([("Dask", "dask"), ("distributed", "distributed"),
                                ("dask-ml", "dask-ml"), ("dask-glm", "dask-glm"),
                                ("SciPy", "scipy")], {}, None,
                               "times: fastest of the repeats; workers: 1 thread each")
    print(f"dask {dask.__version__}, distributed {distributed.__version__}, dask-ml "
          f"{dask_ml.__version__}; {os.cpu_count()} cores, load average "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    cfg = bigdata.Config(rows=args.rows, chunk_rows=min(args.rows, 250_000))
    repeats = 1 if args.quick else 2
    print(f"\ndata: {cfg.rows:,} x {cfg.features} float64, {cfg.chunk_rows:,}-row chunks; "
          f"C = {cfg.C:g}; gradkit gtol {cfg.gtol:g}")

    mem = _in_memory(cfg)
    ref = mem["reference"]
    mean, std = mem["mean"], mem["std"]

    results = {w: _on(w, cfg, ref["theta"], mean, std, repeats) for w in (1, 2)}

    rows = []
    for w in (1, 2):
        for name in ("gradkit", "dask-ml"):
            r = results[w][name]
            passes = r.get("passes", r["evaluations"]) + 1  # + the moments pass
            rows.append([f"{name}, {w} worker{'s' if w > 1 else ''}", f"{r['seconds']:.2f}",
                         str(r["iterations"]), str(r["evaluations"]), str(passes),
                         f"{r['rel_diff']:.1e}"])
    plain = mem["plain"]
    rows.append(["SciPy L-BFGS-B in memory, defaults (1 thread)",
                 f"{mem['plain_seconds']:.2f}", str(plain.nit), str(plain.nfev),
                 str(plain.nfev), f"{bigdata.rel_diff(plain.x, ref['theta']):.1e}"])
    rows.append(["reference: L-BFGS-B gtol 1e-12 + Newton (1 thread)",
                 f"{mem['reference_seconds']:.2f}",
                 str(ref["iterations"]), str(ref["evaluations"]), "-", "0"])
    print()
    _harness.print_rows(["fit", "seconds", "iterations", "evaluations", "passes",
                         "max rel. diff"], rows)
    g1, g2 = results[1]["gradkit"]["seconds"], results[2]["gradkit"]["seconds"]
    d1, d2 = results[1]["dask-ml"]["seconds"], results[2]["dask-ml"]["seconds"]
    print(f"\nspeed-up 1 -> 2 workers: gradkit {g1 / g2:.2f}x, dask-ml {d1 / d2:.2f}x")
    print(f"gradkit / dask-ml time: {g1 / d1:.2f}x (1 worker), {g2 / d2:.2f}x (2 workers)")
    print(f"one loss+gradient pass: NumPy in memory {mem['numpy_ms']:.0f} ms (1 thread); gradkit "
          f"on Dask {results[1]['dask_pass_ms']:.0f} ms (1 worker), "
          f"{results[2]['dask_pass_ms']:.0f} ms (2 workers)")
    print(f"in-memory data made in {mem['made']:.2f} s (not in any time above)")
    own = mem["dask_ml_optimum"]
    notes = [f"dask-ml's own optimum (intercept penalised, penalty on standardised "
             f"coefficients) lies {bigdata.rel_diff(own, ref['theta']):.1e} from "
             f"scikit-learn's; its fit (2 workers) stops "
             f"{bigdata.rel_diff(results[2]['dask-ml']['theta'], own):.1e} from its own "
             f"optimum (tol=1e-4 on the summed gradient)"]
    for w in (1, 2):
        for text in results[w]["gradkit"]["warnings"]:
            notes.append(f"gradkit fit, {w} worker(s): warned '{text}'")
    _harness.print_notes(notes)
    if not args.no_plot:
        _plot(results, FIGURE)
        print(f"\nwrote {FIGURE}")


if __name__ == "__main__":
    main()
