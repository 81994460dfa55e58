"""The transportation problem solved with derivatives, and its shadow prices by autodiff.

Ship goods from sources with limited supply to destinations with fixed demand at least
cost. The seed differentiated the penalised cost by finite differences; that cost is not
differentiable at any feasible plan, and its descent ends infeasible and far from the
optimum (shown beside). Here:

- **An interior point** (:func:`gradkit.optim.barrier_lp`): Newton steps on the log
  barrier whose gradients and Hessians are gradkit's, to a relative duality gap of 1e-9;
  its plan, made exactly feasible, is compared with HiGHS's optimum.
- **Shadow prices** (the derivative of the optimal cost with respect to every supply and
  demand): ``grad`` of :func:`gradkit.optim.lp_value`, whose derivative is the implicit
  function theorem applied to the optimality (KKT) conditions. Where the optimum is
  nondegenerate (as many positive variables as constraints) the LP's duals are unique and
  must equal HiGHS's marginals; otherwise the prices are checked for dual feasibility and
  complementary slackness.
- **Entropic transport** (:func:`gradkit.recipes.shared.transport.sinkhorn`): log-domain
  Sinkhorn with epsilon-scaling, for instances too large for a dense Newton system,
  rounded to an exactly feasible plan. Its potentials, shifted to the LP's normalisation,
  are drawn beside the prices: they are biased by the regularisation, not a check.

Data: Dantzig's example (shipped) by default; ``--set data=PATH`` reads an OR-Library
capacitated warehouse file (``cap41``: 16 warehouses, 50 customers, every warehouse open).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as onp

from ..optim import barrier_lp, lp_value
from ..transforms import value_and_grad
from ._rundir import RunDir
from ._spec import Spec, at_least, in_range, positive, refuse
from .shared import transport
from .shared.figures import new_figure, save_figure
from .shared.threads import single_blas_thread

__all__ = ["Config", "SPEC", "run", "load"]

SPEC = Spec(
    name="supply",
    summary="the transportation problem by a log-barrier interior point (gradkit's "
            "gradients and Hessians), shadow prices by implicit differentiation, Sinkhorn",
    metric="plan_gap", higher_is_better=False, goal=1e-6,
    baseline="the seed's finite-difference descent (HiGHS gives the optimum)",
    baseline_source="measured", requires=("matplotlib", "scipy"),
    timing_keys=("seconds", "interior_seconds", "prices_seconds", "sinkhorn_ms",
                 "highs_ms", "descent_seconds"))


@dataclass(frozen=True)
class Config:
    """Settings of the supply recipe.

    Parameters
    ----------
    data : str, default "dantzig"
        ``"dantzig"`` (shipped) or the path of an OR-Library capacitated warehouse file
        (every warehouse open, fixed costs ignored).
    tol : float, default 1e-9
        The interior point's relative duality gap at the end.
    eps : float, default 1e-5
        Sinkhorn's final regularisation, relative to the largest unit cost.
    omega : float, default 1.8
        Sinkhorn's over-relaxation (1: plain Sinkhorn; below 2).
    descent_steps, descent_rate : int, float
        The seed's finite-difference descent: steps, and step length as a fraction of the
        mean demand.
    """

    data: str = "dantzig"
    tol: float = 1e-9
    eps: float = 1e-5
    omega: float = 1.8
    descent_steps: int = 2000
    descent_rate: float = 0.01

    def __post_init__(self) -> None:
        if self.data != "dantzig" and not Path(self.data).is_file():
            raise refuse(self, "data", "'dantzig' or the path of an OR-Library file")
        in_range(self, "tol", 1e-13, 1e-3)
        in_range(self, "eps", 1e-9, 1.0)
        in_range(self, "omega", 0.5, 1.99)
        at_least(self, "descent_steps", 1)
        positive(self, "descent_rate")

    @classmethod
    def smoke(cls) -> Config:
        return cls(descent_steps=200)


def load(data: str) -> transport.Transport:
    """The instance ``data`` names: Dantzig's example or an OR-Library file."""
    return transport.dantzig() if data == "dantzig" else transport.read_orlib(data)


def _interior(p: transport.Transport, tol: float):
    def compute():
        c, A, b = transport.standard_form(p)
        t0 = time.perf_counter()
        r = barrier_lp(c, A, b, tol=tol)
        took = time.perf_counter() - t0
        m, n = p.cost.shape
        raw_plan = r.x[:m * n].reshape(m, n)
        return ({"plan": transport.round_plan(raw_plan, p.supply, p.demand), "gaps": r.gaps},
                {"seconds": took, "iterations": r.iterations, "duality_gap": r.gap,
                 "raw_violation": p.violation(raw_plan)})
    return compute


def _prices(p: transport.Transport):
    def compute():
        c, A, b = transport.standard_form(p)
        t0 = time.perf_counter()
        value, prices = value_and_grad(lp_value, argnums=2)(c, A, b)
        return ({"prices": onp.asarray(prices)},
                {"seconds": time.perf_counter() - t0, "value": float(value)})
    return compute


def _highs(p: transport.Transport):
    def compute():
        t0 = time.perf_counter()
        h = transport.highs(p)
        took = time.perf_counter() - t0
        return ({"plan": h["plan"], "prices": h["prices"]},
                {"ms": 1000 * took, "cost": h["cost"], "positive": h["positive"],
                 "rank": h["rank"]})
    return compute


def _sinkhorn(p: transport.Transport, cfg: Config):
    def compute():
        t0 = time.perf_counter()
        e = transport.sinkhorn(p, cfg.eps, omega=cfg.omega)
        took = time.perf_counter() - t0
        return ({"plan": e.plan, "f": e.f, "g": e.g},
                {"ms": 1000 * took, "iterations": e.iterations,
                 "marginal_error": e.marginal_error, "dual_bound": e.dual_bound})
    return compute


def _descent(p: transport.Transport, cfg: Config):
    def compute():
        t0 = time.perf_counter()
        X, history = transport.finite_difference_descent(p, cfg.descent_steps,
                                                         rate=cfg.descent_rate)
        return ({"plan": X, "history": history}, {"seconds": time.perf_counter() - t0})
    return compute


def _price_check(p, prices, highs_values, highs_arrays) -> dict:
    """Unique duals (a nondegenerate optimum): equal to HiGHS's. Always: dual feasible
    and complementary to HiGHS's plan, with the dual objective equal to the optimum."""
    c, A, b = transport.standard_form(p)
    reduced = c - A.T @ prices
    z = transport.variables(p, highs_arrays["plan"])
    scale = max(1.0, float(onp.abs(c).max()))
    unique = highs_values["positive"] == highs_values["rank"]
    return {"nondegenerate": bool(unique),
            "max_price_difference": float(onp.abs(prices - highs_arrays["prices"]).max())
            if unique else None,
            "dual_infeasibility": max(0.0, -float(reduced.min())) / scale,
            "complementary_slackness": float(abs(reduced @ z)) / max(1.0, highs_values["cost"]),
            "dual_objective_gap": abs(float(b @ prices) - highs_values["cost"])
            / max(1.0, highs_values["cost"])}


def run(cfg: Config, rd: RunDir) -> dict:
    """Solve, price, compare with HiGHS, Sinkhorn and the seed's descent.

    Figures: ``prices.png`` (shadow prices by implicit differentiation, HiGHS's marginals
    and the entropic potentials) and ``convergence.png`` (the interior point's duality gap
    per Newton step; the seed's penalised cost per step against the optimum).
    """
    p = load(cfg.data)
    m, n = p.cost.shape
    rd.say(f"  {p.name}: {m} sources, {n} destinations, supply {p.supply.sum():g}, "
           f"demand {p.demand.sum():g}")
    with single_blas_thread():
        ha, hv = rd.stage("highs", _highs(p))
        ia, iv = rd.stage("interior", _interior(p, cfg.tol))
        pa, pv = rd.stage("prices", _prices(p))
        sa, sv = rd.stage("sinkhorn", _sinkhorn(p, cfg))
        da, dv = rd.stage("descent", _descent(p, cfg))
    best = hv["cost"]
    gap = (p.plan_cost(ia["plan"]) - best) / best
    check = _price_check(p, pa["prices"], hv, ha)
    supply_prices, demand_prices = transport.split_prices(p, pa["prices"])
    entropic_gap = (p.plan_cost(sa["plan"]) - best) / best
    descent_gap = (p.plan_cost(transport.round_plan(da["plan"], p.supply, p.demand)) - best) / best
    rd.say(f"  interior point: {iv['iterations']} Newton steps, plan cost "
           f"{p.plan_cost(ia['plan']):.10g} (HiGHS {best:.10g}, relative gap {gap:.1e})")
    if check["nondegenerate"]:
        rd.say(f"  shadow prices by implicit differentiation: largest difference from "
               f"HiGHS's marginals {check['max_price_difference']:.1e} (unique duals)")
    else:
        rd.say("  degenerate optimum: the duals are not unique; complementary slackness "
               f"{check['complementary_slackness']:.1e}")
    rd.say(f"  Sinkhorn: {sv['iterations']} iterations, {sv['ms']:.1f} ms, relative gap "
           f"{entropic_gap:.1e}; the seed's descent: {descent_gap:.1%} above the optimum "
           f"(infeasible by {p.violation(da['plan']):.3g} units before rounding)")
    _plot_prices(p, onp.concatenate([supply_prices, demand_prices]),
                 onp.concatenate(transport.split_prices(p, ha["prices"])), sa["f"], sa["g"],
                 rd.figure_path("prices"))
    _plot_convergence(ia["gaps"], da["history"], best, rd.figure_path("convergence"))
    return {"value": gap, "baseline_value": descent_gap, "instance": p.name,
            "optimum": best, "interior_cost": p.plan_cost(ia["plan"]),
            "interior_iterations": iv["iterations"], "duality_gap": iv["duality_gap"],
            "interior_violation": p.violation(ia["plan"]),
            "interior_raw_violation": iv["raw_violation"],
            "prices_value_gap": abs(pv["value"] - best) / best, **check,
            "supply_prices": supply_prices.tolist(), "demand_prices": demand_prices.tolist(),
            "entropic_gap": entropic_gap, "entropic_iterations": sv["iterations"],
            "entropic_violation": p.violation(sa["plan"]),
            "entropic_certified_gap": (p.plan_cost(sa["plan"]) - sv["dual_bound"]) / best,
            "descent_gap": descent_gap, "descent_violation": p.violation(da["plan"]),
            "interior_seconds": iv["seconds"], "prices_seconds": pv["seconds"],
            "sinkhorn_ms": sv["ms"], "highs_ms": hv["ms"], "descent_seconds": dv["seconds"]}


def _entropic_prices(p, f: onp.ndarray, g: onp.ndarray) -> onp.ndarray:
    """The potentials in the LP's normalisation: a source with spare supply is priced 0
    (supply prices are at most 0), or, balanced, the last destination is."""
    shift = -g[-1] if p.balanced else onp.nanmax(f)
    return onp.concatenate([f - shift, g + shift])


def _plot_prices(p, prices, marginals, f, g, path: Path) -> None:
    m, n = p.cost.shape
    fig, ax = new_figure(figsize=(max(6.0, 0.16 * (m + n) + 2), 3.8))
    k = onp.arange(m + n)
    ax.bar(k - 0.2, prices, width=0.4, label="gradkit: d cost / d supply, d demand")
    ax.bar(k + 0.2, _entropic_prices(p, f, g), width=0.4, alpha=0.6,
           label="entropic potentials (shifted; biased)")
    ax.plot(k - 0.2, marginals, "k_", ms=8, mew=2, label="HiGHS marginals")
    ax.axvline(m - 0.5, color="grey", lw=0.8)
    ax.set_xticks([m / 2 - 0.5, m + n / 2 - 0.5], ["supplies", "demands"])
    ax.set_ylabel("shadow price (cost per unit)")
    ax.set_title(f"{p.name}: shadow prices", fontsize=10)
    ax.legend(fontsize=7)
    save_figure(fig, path)


def _plot_convergence(gaps, history, best, path: Path) -> None:
    fig, (a1, a2) = new_figure(1, 2, figsize=(9, 3.5))
    a1.semilogy(onp.arange(1, len(gaps) + 1), onp.maximum(gaps, 1e-17))
    a1.set_xlabel("Newton step")
    a1.set_ylabel("relative duality gap")
    a1.set_title("interior point", fontsize=10)
    a2.plot(onp.arange(1, len(history) + 1), history, label="penalised cost")
    a2.axhline(best, color="k", lw=0.8, ls="--", label="optimum (HiGHS)")
    a2.set_xlabel("step")
    a2.set_title("the seed's finite-difference descent", fontsize=10)
    a2.legend(fontsize=8)
    save_figure(fig, path)
