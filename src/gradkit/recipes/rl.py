"""Reinforcement learning: tabular methods checked exactly, then policy gradients and a DQN.

Environments come from gymnasium, never copies:

* ``FrozenLake-v1`` (4x4, 100-step limit), ``FrozenLake8x8-v1`` (200) and
  ``CliffWalking-v1``: value iteration on the environment's own transition table
  (``env.unwrapped.P``) gives ``V*(s0)``, and the exact finite-horizon evaluation of its
  greedy policy the probability of success within the step limit (CliffWalking: the
  return). Q-learning (alpha 0.1, epsilon 0.1, Q from 0, random tie-break) is judged the
  same exact way every few episodes: how many episodes until its greedy policy reaches
  95% of the optimal success probability (CliffWalking: the optimal return), the median
  over seeds.
* ``CartPole-v1`` with derivatives, on gradkit's ``nn`` and ``Adam``: REINFORCE with a
  learned value baseline (the primary metric: the greedy policy's mean return over 100
  evaluation episodes with fixed reset seeds; 475 counts as solved, 500 is the most), and
  a DQN (Double DQN's target by default), for ``--set dqn_seeds=5``.

The issue's reference settings are the defaults except four changes to the policy
gradient, each switchable: an episode cut by the time limit bootstraps from the value
network at the cut (``pg_bootstrap``); the learning rates start at 2e-3 (``pg_lr``) and
fall linearly to 0 over the step budget (``pg_lr_decay``); advantages are divided by the
running standard deviation of the returns-to-go instead of being standardised per
episode (``pg_scale``: per-episode standardisation blows noise up to unit size once the
value network is right). The DQN uses Double DQN's target (``dqn_double``), 3-step
returns (``dqn_n_step``) and a learning rate decayed to 0 by a cosine over its updates
(``dqn_lr_decay``).
``bench/rl.py`` runs the same algorithms in PyTorch beside gradkit's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as onp

from ._rundir import RunDir
from ._spec import Spec, at_least, in_range, positive, refuse
from .shared.figures import new_figure, save_figure
from .shared.rl_deep import dqn, greedy_return, policy_gradient
from .shared.rl_tabular import greedy_policy, horizon_return, q_learning, tables, value_iteration
from .shared.threads import single_blas_thread

__all__ = ["Config", "SPEC", "run", "TABULAR"]

TABULAR = {
    # gamma, evaluation period (episodes), step limit, share of the optimum to reach, and
    # the issue's figures: V*(s0), the VI-greedy policy's success (return), median episodes.
    "FrozenLake-v1": dict(gamma=0.99, every=100, horizon=100, share=0.95,
                          issue_v=0.542026, issue_success=0.7402, issue_median=1400),
    "FrozenLake8x8-v1": dict(gamma=0.99, every=500, horizon=200, share=0.95,
                             issue_v=0.414640, issue_success=0.8630, issue_median=3000),
    "CliffWalking-v1": dict(gamma=1.0, every=10, horizon=200, share=1.0,
                            issue_v=-13.0, issue_success=-13.0, issue_median=190),
}
"""The tabular environments, their protocol and the issue's measured figures. CliffWalking
has no step limit of its own; its greedy policy is evaluated over 200 steps (the optimum
takes 13)."""

PYTORCH_PG = 500.0
"""The issue's PyTorch policy gradient: 500 on 5 of 5 seeds (greedy, 100 episodes)."""

SPEC = Spec(
    name="rl",
    summary="reinforcement learning: value iteration and Q-learning checked exactly on "
            "FrozenLake/CliffWalking, a policy gradient and a DQN on CartPole",
    metric="cartpole_greedy_return", higher_is_better=True, goal=475.0,
    baseline="PyTorch policy gradient with a value baseline, the issue's settings",
    baseline_source="published", requires=("gymnasium", "matplotlib"),
    timing_keys=("seconds", "q_seconds", "pg_seconds", "dqn_seconds"))


@dataclass(frozen=True)
class Config:
    """Settings of the rl recipe.

    Parameters
    ----------
    tabular_envs : tuple of str
        Tabular environments (keys of :data:`TABULAR`).
    q_seeds : int, default 5
        Q-learning seeds per environment (the run's seed and the next ones).
    q_max_episodes : int, default 30000
        Q-learning gives up after this many episodes.
    q_alpha, q_epsilon : float
        Q-learning's step size and exploration rate.
    pg_seeds : int, default 1
        Policy-gradient seeds (the first one, the run's seed, gives the primary metric).
    pg_steps : int, default 100000
        Environment steps per policy-gradient seed.
    pg_lr : float, default 2e-3
        Adam's first learning rate, policy and value networks (the reference: 1e-3).
    pg_lr_decay, pg_bootstrap : bool, default True
        Changes to the reference (see the module's description).
    pg_scale : {"running", "episode"}, default "running"
        Advantages divided by the running standard deviation of the returns-to-go, or
        standardised per episode (the reference).
    hidden : tuple of int, default (128, 128)
        Hidden layers of every network.
    gamma : float, default 0.99
        CartPole's discount.
    eval_episodes : int, default 100
        Greedy evaluation episodes (reset seeds 10000, 10001, ...).
    dqn_seeds : int, default 0
        DQN seeds (0: none; the tables in ``bench/rl.py`` use 5).
    dqn_steps, dqn_lr, dqn_buffer, dqn_batch, dqn_learning_starts, dqn_target_every
        Environment steps, Adam's rate, replay size, batch, first update, target copy
        period.
    dqn_eps_end, dqn_eps_steps
        Epsilon falls linearly from 1 to ``dqn_eps_end`` over ``dqn_eps_steps`` steps.
    dqn_clip : float, default 10
        Global gradient-norm clip.
    dqn_double : bool, default True
        Double DQN's target (False: the reference DQN's).
    dqn_lr_decay : bool, default True
        Cosine decay of the DQN's learning rate to 0 over its updates.
    dqn_n_step : int, default 3
        Rewards summed into each stored transition before it bootstraps (1: the
        reference's one-step target).
    """

    tabular_envs: tuple[str, ...] = tuple(TABULAR)
    q_seeds: int = 5
    q_max_episodes: int = 30000
    q_alpha: float = 0.1
    q_epsilon: float = 0.1
    pg_seeds: int = 1
    pg_steps: int = 100_000
    pg_lr: float = 2e-3
    pg_lr_decay: bool = True
    pg_bootstrap: bool = True
    pg_scale: str = "running"
    hidden: tuple[int, ...] = (128, 128)
    gamma: float = 0.99
    eval_episodes: int = 100
    dqn_seeds: int = 0
    dqn_steps: int = 100_000
    dqn_lr: float = 5e-4
    dqn_buffer: int = 50_000
    dqn_batch: int = 64
    dqn_learning_starts: int = 1000
    dqn_target_every: int = 500
    dqn_eps_end: float = 0.05
    dqn_eps_steps: int = 20_000
    dqn_clip: float = 10.0
    dqn_double: bool = True
    dqn_lr_decay: bool = True
    dqn_n_step: int = 3

    def __post_init__(self) -> None:
        if not self.tabular_envs or any(e not in TABULAR for e in self.tabular_envs):
            raise refuse(self, "tabular_envs", f"one or more of {', '.join(TABULAR)}")
        if self.pg_scale not in ("running", "episode"):
            raise refuse(self, "pg_scale", "'running' or 'episode'")
        if not self.hidden or any(not isinstance(h, int) or h < 1 for h in self.hidden):
            raise refuse(self, "hidden", "one or more positive layer widths")
        for name in ("q_seeds", "q_max_episodes", "pg_seeds", "pg_steps", "eval_episodes",
                     "dqn_steps", "dqn_buffer", "dqn_batch", "dqn_learning_starts",
                     "dqn_target_every", "dqn_eps_steps", "dqn_n_step"):
            at_least(self, name, 1)
        at_least(self, "dqn_seeds", 0)
        for name in ("q_alpha", "q_epsilon", "gamma", "dqn_eps_end"):
            in_range(self, name, 0.0, 1.0)
        for name in ("pg_lr", "dqn_lr", "dqn_clip"):
            positive(self, name)

    @classmethod
    def smoke(cls) -> Config:
        return cls(tabular_envs=("FrozenLake-v1", "CliffWalking-v1"), q_seeds=1,
                   pg_steps=3000, hidden=(32, 32), eval_episodes=5, dqn_seeds=1,
                   dqn_steps=800, dqn_learning_starts=200, dqn_eps_steps=400)


def _solve(env_id: str) -> tuple[dict, dict]:
    """Value iteration and the exact evaluation of its greedy policy."""
    import gymnasium as gym

    setting = TABULAR[env_id]
    tab = tables(gym.make(env_id))
    V, Q = value_iteration(tab.T, tab.R, setting["gamma"])
    pi = greedy_policy(Q)
    v0 = float(tab.start @ V)
    success = horizon_return(pi, tab, setting["horizon"])
    return {"V": V, "pi": pi}, {
        "v_star": v0, "issue_v_star": setting["issue_v"],
        "v_star_error": abs(v0 - setting["issue_v"]), "success": success,
        "issue_success": setting["issue_success"]}


def _q_learn(env_id: str, cfg: Config, seeds: list[int], success: float) -> tuple[dict, dict]:
    """Q-learning on every seed until its greedy policy reaches the target."""
    import gymnasium as gym

    setting = TABULAR[env_id]
    env = gym.make(env_id)
    tab = tables(env)
    # Success probabilities are reached to a share; CliffWalking's optimum exactly (to
    # rounding: the exact evaluation sums the same -1 rewards in another order).
    target = setting["share"] * success if success > 0 else success - 1e-9
    arrays, episodes, seconds = {}, [], []
    for k, seed in enumerate(seeds):
        started = time.perf_counter()
        res = q_learning(env, tab, gamma=setting["gamma"], target=target,
                         every=setting["every"], horizon=setting["horizon"],
                         max_episodes=cfg.q_max_episodes, seed=seed, alpha=cfg.q_alpha,
                         epsilon=cfg.q_epsilon)
        seconds.append(round(time.perf_counter() - started, 3))
        arrays[f"at{k}"], arrays[f"value{k}"] = res.evaluated_at, res.evaluations
        episodes.append(res.episodes_to_target)
    reached = [e for e in episodes if e is not None]
    median = float(onp.median(reached)) if len(reached) == len(episodes) else None
    return arrays, {"target": target, "seeds": seeds, "episodes": episodes,
                    "median": median, "issue_median": setting["issue_median"],
                    "ratio": None if median is None else median / setting["issue_median"],
                    "seconds": seconds}


def _cartpole(kind: str, cfg: Config, seed: int) -> tuple[dict, dict]:
    """Train one seed of the policy gradient or the DQN; evaluate its greedy policy."""
    started = time.perf_counter()
    with single_blas_thread():  # small matrices: one BLAS thread is the fastest
        if kind == "pg":
            learned = policy_gradient("CartPole-v1", seed, steps=cfg.pg_steps,
                                      hidden=cfg.hidden, lr=cfg.pg_lr, gamma=cfg.gamma,
                                      lr_decay=cfg.pg_lr_decay, bootstrap=cfg.pg_bootstrap,
                                      scale=cfg.pg_scale)
        else:
            learned = dqn("CartPole-v1", seed, steps=cfg.dqn_steps, hidden=cfg.hidden,
                          lr=cfg.dqn_lr, gamma=cfg.gamma, buffer=cfg.dqn_buffer,
                          batch=cfg.dqn_batch, learning_starts=cfg.dqn_learning_starts,
                          target_every=cfg.dqn_target_every, eps_start=1.0,
                          eps_end=cfg.dqn_eps_end, eps_steps=cfg.dqn_eps_steps,
                          clip=cfg.dqn_clip, double=cfg.dqn_double,
                          lr_decay=cfg.dqn_lr_decay, n_step=cfg.dqn_n_step)
        seconds = time.perf_counter() - started
        returns = greedy_return(learned.net, "CartPole-v1", cfg.eval_episodes)
    return ({"episode_end": learned.episode_end, "episode_return": learned.episode_return,
             "eval_returns": returns},
            {"seed": seed, "greedy_mean": float(returns.mean()),
             "greedy_min": float(returns.min()), "episodes": len(learned.episode_end),
             "train_seconds": round(seconds, 3)})


def _table(results: list[tuple[dict, dict]]) -> dict:
    means = [v["greedy_mean"] for _, v in results]
    return {"seeds": [v["seed"] for _, v in results], "greedy_mean": means,
            "greedy_min": [v["greedy_min"] for _, v in results],
            "median": float(onp.median(means)), "at_500": sum(m >= 500.0 for m in means)}


def run(cfg: Config, rd: RunDir) -> dict:
    """Value iteration, Q-learning, then the policy gradient (and the DQN) on CartPole.

    Figures: ``curves.png`` (CartPole training returns per seed), ``frozenlake.png`` (the
    optimal value function and greedy policy on the grid) and ``qlearning.png`` (the exact
    greedy success of Q-learning per seed against the target).
    """
    tabular, solutions, q_runs, q_seconds = {}, {}, {}, {}
    for env_id in cfg.tabular_envs:
        arrays, solved = rd.stage(f"vi-{env_id}", lambda e=env_id: _solve(e))
        solutions[env_id] = (arrays, solved)
        seeds = [rd.seed + k for k in range(cfg.q_seeds)]
        q_arrays, q = rd.stage(f"q-{env_id}", lambda e=env_id, s=seeds, v=solved: _q_learn(
            e, cfg, s, v["success"]))
        q = dict(q)  # the stage's own values stay as checkpointed
        q_seconds[env_id] = q.pop("seconds")
        q_runs[env_id] = (q_arrays, q)
        tabular[env_id] = {**solved, "q": q}
        rd.say(f"  {env_id}: V*(s0) {solved['v_star']:.6f}, greedy {solved['success']:.4f}; "
               f"Q-learning episodes {q['episodes']} (median {q['median']}, issue's "
               f"{q['issue_median']})")
    pg = []
    for k in range(cfg.pg_seeds):
        pg.append(rd.stage(f"pg-{k}", lambda s=rd.seed + k: _cartpole("pg", cfg, s)))
        rd.say(f"  policy gradient, seed {rd.seed + k}: greedy {pg[-1][1]['greedy_mean']:.1f} "
               f"({pg[-1][1]['train_seconds']:.1f} s)")
    dq = []
    for k in range(cfg.dqn_seeds):
        dq.append(rd.stage(f"dqn-{k}", lambda s=rd.seed + k: _cartpole("dqn", cfg, s)))
        rd.say(f"  DQN, seed {rd.seed + k}: greedy {dq[-1][1]['greedy_mean']:.1f} "
               f"({dq[-1][1]['train_seconds']:.1f} s)")
    _plot_curves(pg, dq, rd.figure_path("curves"))
    _plot_frozenlake(solutions, rd.figure_path("frozenlake"))
    _plot_qlearning(q_runs, rd.figure_path("qlearning"))
    out = {"value": pg[0][1]["greedy_mean"], "baseline_value": PYTORCH_PG,
           "tabular": tabular, "policy_gradient": _table(pg),
           "q_seconds": q_seconds, "pg_seconds": [v["train_seconds"] for _, v in pg],
           "dqn_seconds": [v["train_seconds"] for _, v in dq]}
    if dq:
        out["dqn"] = _table(dq)
    return out


def _plot_curves(pg: list, dq: list, path) -> None:
    panels = [("policy gradient", pg)] + ([("DQN", dq)] if dq else [])
    fig, axes = new_figure(1, len(panels), figsize=(5.2 * len(panels), 3.8), squeeze=False)
    for ax, (title, results) in zip(axes[0], panels):
        for arrays, v in results:
            ax.plot(arrays["episode_end"], arrays["episode_return"], lw=0.7,
                    label=f"seed {v['seed']}: greedy {v['greedy_mean']:.1f}")
        ax.axhline(475, color="k", ls=":", lw=0.8)
        ax.set_xlabel("environment steps")
        ax.set_ylabel("training episode return")
        ax.set_title(f"CartPole-v1, {title}")
        ax.legend(fontsize=7)
    save_figure(fig, path)


_ARROWS = {0: (-1, 0), 1: (0, 1), 2: (1, 0), 3: (0, -1)}  # left, down, right, up; rows grow down


def _plot_frozenlake(solutions: dict, path) -> None:
    import gymnasium as gym

    shown = [e for e in solutions if e.startswith("FrozenLake")] or list(solutions)
    fig, axes = new_figure(1, len(shown), figsize=(4.6 * len(shown), 4.4), squeeze=False)
    for ax, env_id in zip(axes[0], shown):
        arrays, values = solutions[env_id]
        inner = gym.make(env_id).unwrapped
        rows, cols = (inner.nrow, inner.ncol) if hasattr(inner, "nrow") else inner.shape
        V = onp.asarray(arrays["V"]).reshape(rows, cols)
        fig.colorbar(ax.imshow(V, cmap="viridis"), ax=ax, fraction=0.046, pad=0.04)
        best = onp.asarray(arrays["pi"]).argmax(axis=1).reshape(rows, cols)
        desc = getattr(inner, "desc", None)
        for r in range(rows):
            for c in range(cols):
                cell = desc[r, c].decode() if desc is not None else ""
                if cell in ("H", "G"):
                    ax.text(c, r, cell, ha="center", va="center", color="w", fontsize=10)
                else:
                    dx, dy = _ARROWS[int(best[r, c])]
                    ax.annotate("", (c + 0.3 * dx, r + 0.3 * dy), (c - 0.3 * dx, r - 0.3 * dy),
                                arrowprops=dict(arrowstyle="->", color="w"))
        ax.set_title(f"{env_id}: V* and its greedy policy, V*(s0) {values['v_star']:.6f}",
                     fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    save_figure(fig, path)


def _plot_qlearning(q_runs: dict, path) -> None:
    fig, axes = new_figure(1, len(q_runs), figsize=(4.4 * len(q_runs), 3.6), squeeze=False)
    for ax, (env_id, (arrays, q)) in zip(axes[0], q_runs.items()):
        for k, seed in enumerate(q["seeds"]):
            ax.plot(arrays[f"at{k}"], arrays[f"value{k}"], lw=0.9, label=f"seed {seed}")
        ax.axhline(q["target"], color="k", ls=":", lw=0.8)
        ax.set_xlabel("episodes")
        ax.set_ylabel("greedy policy's exact " + ("return" if q["target"] < 0 else "success"))
        ax.set_title(f"{env_id}: median {q['median']} (issue {q['issue_median']})", fontsize=9)
        ax.legend(fontsize=7)
    save_figure(fig, path)
