"""Tabular reinforcement learning on a gymnasium environment's own transition table.

A discrete gymnasium environment (FrozenLake, CliffWalking...) exposes its dynamics as
``env.unwrapped.P[s][a] = [(probability, next_state, reward, terminated), ...]``.
:func:`tables` turns that into arrays; :func:`value_iteration` solves the Bellman
optimality equation on them; :func:`horizon_return` evaluates any policy exactly over a
finite number of steps (the environment's step limit); :func:`q_learning` learns from
episodes, judged by the exact value of its greedy policy every few episodes.

Examples
--------
A two-state chain: from state 0, action 1 reaches the terminal reward 1 at once, action 0
stays put for nothing; discounting by 0.5, V*(0) = 1.

>>> import numpy as np
>>> T = np.zeros((2, 2, 2)); T[0, 0, 0] = 1.0
>>> R = np.array([[0.0, 1.0], [0.0, 0.0]])
>>> V, Q = value_iteration(T, R, gamma=0.5)
>>> V.tolist(), Q[0].tolist()
([1.0, 0.0], [0.5, 1.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as onp

from ...errors import GradkitError

__all__ = ["Tables", "tables", "value_iteration", "greedy_policy", "horizon_return",
           "QLearningResult", "q_learning"]


@dataclass(frozen=True)
class Tables:
    """An environment's dynamics as arrays.

    Attributes
    ----------
    T : ndarray (S, A, S)
        ``T[s, a, s']``: the probability of moving to ``s'`` *and going on* (transitions
        that end the episode are left out, so a terminal outcome is worth its reward only).
    R : ndarray (S, A)
        The expected reward of taking ``a`` in ``s``.
    start : ndarray (S,)
        The distribution of the first state.
    """

    T: onp.ndarray
    R: onp.ndarray
    start: onp.ndarray


def tables(env) -> Tables:
    """The transition table ``env.unwrapped.P`` of a discrete gymnasium environment as arrays.

    The start distribution is the environment's ``initial_state_distrib`` where it has one
    (FrozenLake, CliffWalking), otherwise state 0.
    """
    inner = env.unwrapped
    P = getattr(inner, "P", None)
    if not isinstance(P, dict):
        raise GradkitError(f"rl_tabular.tables: env must have a transition table "
                           f"env.unwrapped.P, got {type(inner).__name__} without one")
    nS, nA = int(inner.observation_space.n), int(inner.action_space.n)
    rows = [(s, a, p, s2, r, done) for s in range(nS) for a in range(nA)
            for p, s2, r, done in P[s][a]]
    s, a, p, s2, r, done = (onp.array(c) for c in zip(*rows))
    p = p.astype(float)
    T = onp.zeros((nS, nA, nS))
    onp.add.at(T, (s, a, s2.astype(int)), onp.where(done.astype(bool), 0.0, p))
    R = onp.zeros((nS, nA))
    onp.add.at(R, (s, a), p * r.astype(float))
    start = onp.asarray(getattr(inner, "initial_state_distrib", onp.eye(nS)[0]), float)
    return Tables(T, R, start)


def value_iteration(T, R, gamma: float, tol: float = 1e-13, max_iter: int = 1_000_000
                    ) -> tuple[onp.ndarray, onp.ndarray]:
    """The optimal values ``V*`` and ``Q*`` by value iteration: ``Q = R + gamma T V``.

    Iterates until no value moves by more than ``tol``. With ``gamma = 1`` it converges
    when every policy that does not end the episode pays for it (CliffWalking: -1 a step).

    Returns
    -------
    (V, Q) : ndarrays (S,) and (S, A)
    """
    T, R = onp.asarray(T, float), onp.asarray(R, float)
    V = onp.zeros(T.shape[0])
    for _ in range(max_iter):
        Q = R + gamma * (T @ V)
        V_new = Q.max(axis=1)
        if onp.max(onp.abs(V_new - V)) <= tol:
            return V_new, Q
        V = V_new
    raise GradkitError(f"rl_tabular.value_iteration: no convergence to tol={tol} in "
                       f"max_iter={max_iter} iterations (gamma={gamma})")


def greedy_policy(Q) -> onp.ndarray:
    """The greedy policy of ``Q`` as a matrix ``pi[s, a]``, uniform over tied best actions.

    Examples
    --------
    >>> import numpy as np
    >>> greedy_policy(np.array([[0.0, 1.0, 1.0], [2.0, 0.0, 0.0]])).tolist()
    [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]]
    """
    Q = onp.asarray(Q, float)
    best = Q == Q.max(axis=1, keepdims=True)
    return best / best.sum(axis=1, keepdims=True)


def horizon_return(pi, tab: Tables, horizon: int) -> float:
    """The exact expected undiscounted return of policy ``pi[s, a]`` within ``horizon`` steps.

    On FrozenLake (reward 1 at the goal only) this is the probability of reaching the
    goal within the step limit.

    Examples
    --------
    >>> import numpy as np
    >>> T = np.zeros((2, 1, 2)); T[0, 0] = [0.5, 0.0]      # go on with 1/2, else reward 1
    >>> tab = Tables(T, np.array([[0.5], [0.0]]), np.array([1.0, 0.0]))
    >>> horizon_return(np.ones((2, 1)), tab, 3)              # 1 - 1/2 ** 3
    0.875
    """
    pi = onp.asarray(pi, float)
    r_pi = onp.sum(pi * tab.R, axis=1)
    T_pi = onp.einsum("sa,sat->st", pi, tab.T)
    V = onp.zeros(len(r_pi))
    for _ in range(int(horizon)):
        V = r_pi + T_pi @ V
    return float(tab.start @ V)


@dataclass(frozen=True)
class QLearningResult:
    """What :func:`q_learning` returns.

    Attributes
    ----------
    episodes_to_target : int or None
        The episode count of the first evaluation at which the greedy policy reached the
        target (None: not within ``max_episodes``).
    evaluated_at, evaluations : ndarrays
        The episode counts of the evaluations and the greedy policy's exact return there.
    Q : ndarray (S, A)
    steps : int
        Environment steps taken.
    """

    episodes_to_target: int | None
    evaluated_at: onp.ndarray
    evaluations: onp.ndarray
    Q: onp.ndarray
    steps: int


def q_learning(env, tab: Tables, *, gamma: float, target: float, every: int, horizon: int,
               max_episodes: int, seed: int, alpha: float = 0.1, epsilon: float = 0.1
               ) -> QLearningResult:
    """Q-learning with a constant epsilon-greedy behaviour, Q starting at 0.

    Greedy actions break ties at random. Every ``every`` episodes the greedy policy (ties
    uniform) is evaluated exactly by :func:`horizon_return`; learning stops at the first
    evaluation that reaches ``target`` or after ``max_episodes``. The environment is reset
    with ``seed`` once, the agent draws from ``numpy.random.default_rng(seed)``. A step
    that ends the episode (``terminated``) bootstraps from nothing; one cut by the time
    limit (``truncated``) does bootstrap.
    """
    rng = onp.random.default_rng(seed)
    nS, nA = tab.R.shape
    Q = onp.zeros((nS, nA))
    at, values = [], []
    steps, reached = 0, None
    s, _ = env.reset(seed=seed)
    for episode in range(1, max_episodes + 1):
        if episode > 1:
            s, _ = env.reset()
        while True:
            if rng.random() < epsilon:
                a = int(rng.integers(nA))
            else:
                row = Q[s]
                best = onp.flatnonzero(row == row.max())
                a = int(best[rng.integers(len(best))]) if len(best) > 1 else int(best[0])
            s2, r, terminated, truncated, _ = env.step(a)
            steps += 1
            goal = r if terminated else r + gamma * Q[s2].max()
            Q[s, a] += alpha * (goal - Q[s, a])
            s = s2
            if terminated or truncated:
                break
        if episode % every == 0:
            value = horizon_return(greedy_policy(Q), tab, horizon)
            at.append(episode)
            values.append(value)
            if value >= target:
                reached = episode
                break
    return QLearningResult(reached, onp.array(at), onp.array(values), Q, steps)
