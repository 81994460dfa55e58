"""Deep reinforcement learning on CartPole with gradkit's ``nn`` and optimisers.

Two learners, written the PyTorch way (``loss.backward()``, then a bound optimiser's
``step()``) so that ``bench/rl.py`` can run the same algorithm in PyTorch beside them:

* :func:`policy_gradient`: REINFORCE with a learned value baseline, one update per
  episode, advantages standardised per episode (or scaled by the running spread of the
  returns), optionally bootstrapping episodes cut by the time limit;
* :func:`dqn`: a deep Q-network with experience replay, a target network, the Huber loss
  and gradient-norm clipping (optionally Double DQN's target and n-step returns).

:func:`greedy_return` scores a network's greedy policy over episodes with fixed reset
seeds. Networks are MLPs with PyTorch's default initialisation (:func:`mlp`).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as onp

from ... import nn, no_grad
from ... import numpy as gnp
from ...optim import Adam, cosine

__all__ = ["mlp", "policy_loss", "huber", "td_target", "returns_to_go", "greedy_return",
           "Learned", "policy_gradient", "dqn", "epsilon_at", "n_step_reward"]

EVAL_SEED = 10_000
"""Evaluation episode ``i`` resets with seed ``EVAL_SEED + i``, whatever the training seed."""


def mlp(sizes: tuple[int, ...], rng: onp.random.Generator) -> nn.Sequential:
    """Linear layers with ReLU between them, initialised as PyTorch's ``nn.Linear``.

    Weights and biases are uniform on ``+-1/sqrt(fan_in)`` (PyTorch's default), float32.

    Examples
    --------
    >>> import numpy as np
    >>> net = mlp((4, 8, 2), np.random.default_rng(0))
    >>> net(np.zeros((3, 4), np.float32)).shape
    (3, 2)
    """
    layers: list[nn.Module] = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        bound = 1.0 / math.sqrt(n_in)

        def init(shape, rng, *, dtype, bound=bound):
            return rng.uniform(-bound, bound, shape).astype(dtype)

        layer = nn.Linear(n_in, n_out, rng=rng, init=init)
        layer.bias.data = rng.uniform(-bound, bound, n_out).astype(onp.float32)
        layers += [layer] if k == len(sizes) - 2 else [layer, nn.ReLU()]
    return nn.Sequential(*layers)


def returns_to_go(rewards, gamma: float) -> onp.ndarray:
    """``G_t = sum_{j >= t} gamma^(j - t) r_j`` for one episode's rewards.

    Examples
    --------
    >>> returns_to_go([1.0, 1.0, 1.0], 0.5).tolist()
    [1.75, 1.5, 1.0]
    """
    r = onp.asarray(rewards, float)
    weights = gamma ** onp.arange(len(r))  # as discounted sums from step 0, then rescaled
    return onp.cumsum((weights * r)[::-1])[::-1] / weights


def policy_loss(logits, actions, advantages):
    """REINFORCE's surrogate loss ``-mean(log pi(a_t | s_t) * A_t)``.

    Its gradient is the policy-gradient estimate (the advantages are constants).
    """
    return gnp.mean(nn.cross_entropy(logits, actions, reduction="none") * advantages)


def huber(d, delta: float = 1.0):
    """The mean Huber loss of differences ``d``: quadratic within ``delta``, linear beyond.

    Examples
    --------
    >>> import numpy as np
    >>> float(huber(np.array([0.5, -3.0])))      # (0.125 + 2.5) / 2
    1.3125
    """
    a = gnp.abs(d)
    return gnp.mean(gnp.where(a <= delta, 0.5 * d * d, delta * (a - 0.5 * delta)))


def td_target(rewards, terminated, next_q_target, gamma: float, next_q_online=None
              ) -> onp.ndarray:
    """The DQN target ``r + gamma (1 - terminated) Q'(s', a')``.

    ``a'`` is the target network's best action, or with ``next_q_online`` (Double DQN)
    the online network's best action, valued by the target network.

    Examples
    --------
    >>> import numpy as np
    >>> q_t = np.array([[1.0, 3.0], [2.0, 0.0]]); q_o = np.array([[5.0, 0.0], [0.0, 1.0]])
    >>> td_target(np.ones(2), np.array([0.0, 1.0]), q_t, 0.5).tolist()
    [2.5, 1.0]
    >>> td_target(np.ones(2), np.array([0.0, 0.0]), q_t, 0.5, q_o).tolist()
    [1.5, 1.0]
    """
    q_t = onp.asarray(next_q_target)
    if next_q_online is None:
        best = q_t.max(axis=1)
    else:
        pick = onp.asarray(next_q_online).argmax(axis=1)
        best = onp.take_along_axis(q_t, pick[:, None], axis=1)[:, 0]
    return onp.asarray(rewards) + gamma * (1.0 - onp.asarray(terminated)) * best


def n_step_reward(rewards, gamma: float) -> tuple[float, float]:
    """The discounted sum of a few rewards and the discount of the value after them.

    Examples
    --------
    >>> n_step_reward([1.0, 2.0, 3.0], 0.5)
    (2.75, 0.125)
    """
    r = onp.asarray(rewards, float)
    return float(onp.sum(gamma ** onp.arange(len(r)) * r)), float(gamma ** len(r))


def epsilon_at(step: int, start: float, end: float, steps: int) -> float:
    """Linear decay from ``start`` to ``end`` over ``steps`` steps, then ``end``."""
    return start + (end - start) * min(1.0, step / steps)


def greedy_return(net: nn.Module, env_id: str, episodes: int, seed0: int = EVAL_SEED
                  ) -> onp.ndarray:
    """The returns of ``argmax net(s)`` on ``episodes`` episodes, reset seeds ``seed0 + i``.

    The episodes run side by side, one batched forward pass a step.
    """
    import gymnasium as gym

    envs = [gym.make(env_id) for _ in range(episodes)]
    obs = onp.stack([e.reset(seed=seed0 + i)[0] for i, e in enumerate(envs)])
    width = obs.shape[1]
    returns = onp.zeros(episodes)
    live = onp.arange(episodes)
    while len(live):
        with no_grad():
            actions = onp.asarray(net(obs.astype(onp.float32)).data).argmax(axis=1)
        still, nxt = [], []
        for i, a in zip(live, actions):
            o, r, terminated, truncated, _ = envs[i].step(int(a))
            returns[i] += r
            if not (terminated or truncated):
                still.append(i)
                nxt.append(o)
        live = onp.array(still, dtype=int)
        obs = onp.array(nxt).reshape(len(live), width)
    for e in envs:
        e.close()
    return returns


@dataclass
class Learned:
    """A trained network and its training curve.

    Attributes
    ----------
    net : nn.Module
        The policy network (policy gradient) or the Q-network (DQN).
    episode_end : ndarray
        The environment step at which each training episode ended.
    episode_return : ndarray
        Each training episode's (undiscounted) return.
    """

    net: nn.Module
    episode_end: onp.ndarray
    episode_return: onp.ndarray


def _sample(probs, u: float) -> int:
    """The action whose cumulative probability first exceeds ``u``."""
    return min(int(onp.searchsorted(onp.cumsum(probs), u, side="right")), len(probs) - 1)


def _merge(stats, x) -> onp.ndarray:
    """Count, mean and sum of squared deviations of the values so far, and of ``x``."""
    n, mean, m2 = stats
    k, x_mean = len(x), float(onp.mean(x))
    delta = x_mean - mean
    total = n + k
    return onp.array([total, mean + delta * k / total,
                      m2 + float(onp.sum((x - x_mean) ** 2)) + delta ** 2 * n * k / total])


def _lr(lr: float, decay: bool, updates: int):
    return cosine(lr, updates) if decay else lr


def policy_gradient(env_id: str, seed: int, *, steps: int, hidden: tuple[int, ...],
                    lr: float, gamma: float, lr_decay: bool = False,
                    bootstrap: bool = False, scale: str = "episode") -> Learned:
    """REINFORCE with a learned value baseline, for ``steps`` environment steps.

    After each episode: returns-to-go ``G``; advantages ``G - V(s)`` normalised to mean 0
    and standard deviation 1 over the episode; one Adam step on the policy's
    :func:`policy_loss` and one on the value network's mean squared error to ``G``. The
    last episode is cut at the step budget and still used. Actions are sampled from the
    policy's softmax with ``numpy.random.default_rng(seed)``; the environment is reset
    with ``seed`` once. ``lr_decay``: both learning rates fall linearly to 0 with the
    fraction of the step budget used (episodes have no fixed count to schedule over).
    ``bootstrap``: an episode cut by the time limit (not ended) adds ``gamma^(n - t)
    V(s_n)`` to its returns-to-go, the value of the state it was cut at, instead of
    counting the steps after the cut as worth nothing.
    ``scale="running"``: advantages are divided by the standard deviation of every
    return-to-go seen so far instead of standardised per episode; once the value network
    is right they shrink, where per-episode standardisation blows noise up to unit size.
    """
    import gymnasium as gym

    rng = onp.random.default_rng(seed)
    env = gym.make(env_id)
    n_obs, n_act = env.observation_space.shape[0], int(env.action_space.n)
    policy = mlp((n_obs, *hidden, n_act), rng)
    value = mlp((n_obs, *hidden, 1), rng)
    ends, totals = [], []
    done_steps = 0
    seen = onp.zeros(3)  # count, mean and sum of squared deviations of the returns-to-go

    def rate(update: int) -> float:
        return lr * (1.0 - done_steps / steps) if lr_decay else lr

    pi_opt = Adam(rate).bind(policy)
    v_opt = Adam(rate).bind(value)
    obs, _ = env.reset(seed=seed)
    while done_steps < steps:
        states, actions, rewards = [], [], []
        while True:
            with no_grad():
                logits = onp.asarray(policy(obs[None].astype(onp.float32)).data[0], float)
            p = onp.exp(logits - logits.max())
            a = _sample(p / p.sum(), rng.random())
            nxt, r, terminated, truncated, _ = env.step(a)
            states.append(obs)
            actions.append(a)
            rewards.append(r)
            obs = nxt
            done_steps += 1
            if terminated or truncated or done_steps >= steps:
                break
        ends.append(done_steps)
        totals.append(float(sum(rewards)))
        tail = 0.0
        if bootstrap and not terminated:
            with no_grad():
                tail = float(onp.asarray(value(obs[None].astype(onp.float32)).data)[0, 0])
        obs, _ = env.reset()
        S = onp.array(states, onp.float32)
        G = returns_to_go([*rewards, tail], gamma)[:-1].astype(onp.float32)
        v = value(S)[:, 0]
        adv = G - onp.asarray(v.data)
        if scale == "running":
            seen = _merge(seen, G)
            adv = adv / (math.sqrt(seen[2] / seen[0]) + 1e-8)
        else:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        nn.mse(v, G).backward()
        v_opt.step()
        v_opt.zero_grad()
        policy_loss(policy(S), onp.array(actions), adv.astype(onp.float32)).backward()
        pi_opt.step()
        pi_opt.zero_grad()
    env.close()
    return Learned(policy, onp.array(ends), onp.array(totals))


def dqn(env_id: str, seed: int, *, steps: int, hidden: tuple[int, ...], lr: float,
        gamma: float, buffer: int, batch: int, learning_starts: int, target_every: int,
        eps_start: float, eps_end: float, eps_steps: int, clip: float, double: bool,
        train_every: int = 1, lr_decay: bool = False, n_step: int = 1) -> Learned:
    """A deep Q-network trained for ``steps`` environment steps.

    Epsilon-greedy behaviour (epsilon linear from ``eps_start`` to ``eps_end`` over
    ``eps_steps``); transitions kept in a replay ring of ``buffer``; from step
    ``learning_starts`` on, every ``train_every`` steps, one Adam step on the mean
    :func:`huber` loss of a uniformly sampled batch against :func:`td_target` (Double DQN
    with ``double``), the gradient's global norm clipped to ``clip``; the target network
    copies the online one every ``target_every`` steps. A time-limit cut bootstraps; a
    terminal step does not. ``lr_decay``: cosine decay of the learning rate to 0 over the
    updates. ``n_step``: each stored transition carries the discounted sum of up to
    ``n_step`` rewards and bootstraps from the state reached after them, discounted by
    ``gamma`` to the power of their count (fewer at the end of an episode).
    """
    import gymnasium as gym

    rng = onp.random.default_rng(seed)
    env = gym.make(env_id)
    n_obs, n_act = env.observation_space.shape[0], int(env.action_space.n)
    q = mlp((n_obs, *hidden, n_act), rng)
    target = mlp((n_obs, *hidden, n_act), rng)
    target.load_state_dict(q.state_dict())
    updates = max(1, (steps - learning_starts) // train_every)
    opt = Adam(_lr(lr, lr_decay, updates), clip_norm=clip).bind(q)
    S = onp.zeros((buffer, n_obs), onp.float32)
    S2 = onp.zeros((buffer, n_obs), onp.float32)
    A = onp.zeros(buffer, onp.int64)
    R = onp.zeros(buffer, onp.float32)
    D = onp.zeros(buffer, onp.float32)
    discount = onp.full(buffer, gamma, onp.float32)
    pending: deque = deque()  # the last steps, not yet stored: (state, action, reward)
    stored = 0
    ends, totals = [], []
    total = 0.0
    obs, _ = env.reset(seed=seed)
    for t in range(steps):
        if rng.random() < epsilon_at(t, eps_start, eps_end, eps_steps):
            a = int(rng.integers(n_act))
        else:
            with no_grad():
                a = int(onp.asarray(q(obs[None].astype(onp.float32)).data).argmax())
        nxt, r, terminated, truncated, _ = env.step(a)
        pending.append((obs, a, r))
        ended = terminated or truncated
        while pending and (ended or len(pending) == n_step):
            k = stored % buffer
            S[k], A[k], S2[k], D[k] = pending[0][0], pending[0][1], nxt, float(terminated)
            R[k], discount[k] = n_step_reward([step[2] for step in pending], gamma)
            stored += 1
            pending.popleft()
            if not ended:
                break
        total += r
        obs = nxt
        if ended:
            obs, _ = env.reset()
            ends.append(t + 1)
            totals.append(total)
            total = 0.0
        if t + 1 >= learning_starts and (t + 1 - learning_starts) % train_every == 0:
            idx = rng.integers(min(stored, buffer), size=batch)
            with no_grad():
                s2 = S2[idx]
                q_t = onp.asarray(target(s2).data)
                q_o = onp.asarray(q(s2).data) if double else None
            y = td_target(R[idx], D[idx], q_t, discount[idx], q_o).astype(onp.float32)
            q_sa = gnp.take_along_axis(q(S[idx]), A[idx][:, None], axis=1)[:, 0]
            huber(q_sa - y).backward()
            opt.step()
            opt.zero_grad()
        if (t + 1) % target_every == 0:
            target.load_state_dict(q.state_dict())
    env.close()
    return Learned(q, onp.array(ends), onp.array(totals))
