"""The supply recipe's solvers against HiGHS and POT, side by side on one thread.

Run from the environment that has POT (``.venv-bench``)::

    .venv-bench/bin/python bench/supply.py             # Dantzig, cap41, a random 300 x 300
    .venv-bench/bin/python bench/supply.py --quick     # fewer repeats

Each instance is balanced for the transport solvers by a dummy destination of cost 0 that
takes the excess supply. Gaps are ``(cost of the plan - HiGHS's optimum) / optimum``;
every transport plan is made exactly feasible by the same rounding
(``recipes.shared.transport.round_plan``) before its cost is taken, and POT's raw plan's
marginal error is shown too. POT's Sinkhorns run at a regularisation of 1e-3 of the mean
cost (``stopThr`` 1e-9, up to 100,000 iterations), gradkit's log-domain Sinkhorn with
epsilon-scaling down to 1e-5 of the largest cost. Times are medians of interleaved calls.
cap41 is read from ``../shared/data/transport`` (benchmark use; skipped when absent).
"""

import _harness

_harness.prepare_environment()

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from gradkit import value_and_grad  # noqa: E402
from gradkit.optim import barrier_lp, lp_value  # noqa: E402
from gradkit.recipes.shared import transport as T  # noqa: E402

CAP41 = Path(__file__).resolve().parents[2] / "shared" / "data" / "transport" / "cap41.txt"


def _random(n: int) -> T.Transport:
    """Points in the unit square: ``n`` sources with 20% spare supply, ``n`` sinks."""
    rng = np.random.default_rng(0)
    src, dst = rng.uniform(size=(n, 2)), rng.uniform(size=(n, 2))
    demand = rng.integers(1, 100, n).astype(float)
    supply = rng.dirichlet(np.ones(n)) * demand.sum() * 1.2
    cost = np.sqrt(((src[:, None] - dst[None]) ** 2).sum(-1))
    return T.Transport(f"random {n}x{n}", supply, demand, cost)


def _balanced(p: T.Transport):
    mass = p.supply.sum()
    a = p.supply / mass
    b = np.append(p.demand, mass - p.demand.sum()) / mass
    return a, b, np.hstack([p.cost, np.zeros((p.supply.size, 1))]), mass


def _timed(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, 1000 * float(np.median(times))


def _row(name, gap, ms, iterations="", note=""):
    gap_s = gap if isinstance(gap, str) else f"{gap:.1e}"
    return [name, gap_s, f"{ms:.2f}" if isinstance(ms, float) else ms, str(iterations), note]


def bench(p: T.Transport, repeats: int, dense_ip: bool) -> None:
    import ot

    m, n = p.cost.shape
    best_h, highs_ms = _timed(lambda: T.highs(p), repeats)
    best = best_h["cost"]
    a, b, M, mass = _balanced(p)
    rows = [_row("HiGHS (linprog, the optimum)", 0.0, highs_ms)]

    def gap_of(plan):
        return (p.plan_cost(T.round_plan(plan, p.supply, p.demand)) - best) / best

    plan, emd_ms = _timed(lambda: ot.emd(a, b, M, numItermax=10**7), repeats)
    rows.append(_row("POT ot.emd (network simplex)", gap_of(plan[:, :n] * mass), emd_ms))
    reg = 1e-3 * float(p.cost.mean())
    for method in ("sinkhorn", "sinkhorn_log"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            (plan, log), ms = _timed(lambda method=method: ot.sinkhorn(
                a, b, M, reg, method=method, numItermax=100_000, stopThr=1e-9, log=True),
                1 if method == "sinkhorn" else repeats)
        plan = plan[:, :n] * mass
        note = f"{len(caught)} warnings: {str(caught[0].message)[:40]}" if caught else ""
        if not np.isfinite(plan).all():
            rows.append(_row(f"POT {method}, reg 1e-3 mean cost", "fails (NaN)", ms,
                             log.get("niter", ""), note))
            continue
        err = float(np.abs(plan.sum(0) - p.demand).sum() / p.demand.sum())
        rows.append(_row(f"POT {method}, reg 1e-3 mean cost", gap_of(plan), ms,
                         log.get("niter", ""), f"raw marginal error {err:.0e} {note}".strip()))
    e, sk_ms = _timed(lambda: T.sinkhorn(p), repeats)
    rows.append(_row("gradkit Sinkhorn (log, eps-scaling to 1e-5)",
                     (p.plan_cost(e.plan) - best) / best, sk_ms, e.iterations,
                     "" if e.converged else f"not converged: marginal error "
                                            f"{e.marginal_error:.0e}"))
    e1, sk1_ms = _timed(lambda: T.sinkhorn(p, omega=1.0), repeats)
    rows.append(_row("  the same without over-relaxation", (p.plan_cost(e1.plan) - best) / best,
                     sk1_ms, e1.iterations))
    if dense_ip:
        c, A, bb = T.standard_form(p)
        r, ip_ms = _timed(lambda: barrier_lp(c, A, bb), max(1, repeats // 3))
        ip_plan = T.round_plan(r.x[:m * n].reshape(m, n), p.supply, p.demand)
        rows.append(_row("gradkit barrier_lp (interior point)", (p.plan_cost(ip_plan) - best) /
                         best, ip_ms, r.iterations))
        (value, prices), pr_ms = _timed(lambda: value_and_grad(lp_value, argnums=2)(c, A, bb), 1)
        unique = best_h["positive"] == best_h["rank"]
        diff = float(np.abs(np.asarray(prices) - best_h["prices"]).max())
        rows.append(_row("gradkit lp_value + shadow prices (implicit)", (value - best) / best,
                         pr_ms, "", f"prices - HiGHS marginals: {diff:.1e}"
                         f"{'' if unique else ' (degenerate: not unique)'}"))
    print(f"\n{p.name}: {m} sources x {n} destinations, optimum {best:.10g}")
    _harness.print_rows(["solver", "gap", "ms", "iterations", "note"], rows)
    pot_log = next(r for r in rows if r[0].startswith("POT sinkhorn_log"))
    if pot_log[2] and pot_log[1] != "fails (NaN)":
        print(f"gradkit Sinkhorn / POT log-domain Sinkhorn time: "
              f"{sk_ms / float(pot_log[2]):.2f}x (gaps {(p.plan_cost(e.plan) - best) / best:.1e}"
              f" vs {pot_log[1]})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--large", type=int, default=150, help="size of the random instance "
                                                                "(0: none)")
    args = parser.parse_args()
    import ot

    _harness.print_environment([("POT", "pot"), ("SciPy", "scipy")], {}, None,
                               "times: median of repeated calls, one thread")
    print(f"POT {ot.__version__}")
    repeats = 3 if args.quick else 7
    bench(T.dantzig(), repeats, dense_ip=True)
    if CAP41.is_file():
        bench(T.read_orlib(CAP41), repeats, dense_ip=True)
    else:
        print(f"\ncap41 skipped: {CAP41} not found (benchmark data, not shipped)")
    if args.large:
        bench(_random(args.large), max(1, repeats // 3), dense_ip=False)


if __name__ == "__main__":
    _harness.run_single_threaded(main)
