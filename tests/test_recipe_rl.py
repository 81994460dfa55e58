"""The rl recipe's parts: value iteration and exact evaluation, Q-learning's update, the
policy gradient's loss, the DQN's Huber loss and target, and the CartPole learners."""

import gymnasium as gym
import numpy as np
import pytest

import gradkit as gk
from gradkit.recipes import ConfigError, rl
from gradkit.recipes.shared import rl_deep, rl_tabular
from gradkit.recipes.shared.rl_tabular import Tables


class _Table:
    """A discrete environment given only by a transition table (gymnasium's ``P``)."""

    def __init__(self, P, n_states, n_actions, start=0, limit=None):
        self.P, self.start, self.limit = P, start, limit
        self.observation_space = gym.spaces.Discrete(n_states)
        self.action_space = gym.spaces.Discrete(n_actions)
        self.initial_state_distrib = np.eye(n_states)[start]
        self.unwrapped = self

    def reset(self, seed=None):
        self.s, self.t = self.start, 0
        return self.s, {}

    def step(self, a):
        (p, s2, r, done), = self.P[self.s][a]  # deterministic tables only
        self.s, self.t = s2, self.t + 1
        return s2, r, done, self.limit is not None and self.t >= self.limit, {}


def test_value_iteration_solves_a_two_state_mdp_by_hand():
    # State 0: "stay" pays 1 and stays, "go" pays 5 and moves to 1; state 1: "stay" pays 2
    # and stays, "go" ends the episode paying 0. With gamma 0.9: V(1) = 2 / 0.1 = 20,
    # V(0) = max(1 + 0.9 V(0), 5 + 0.9 V(1)) = 23 (staying would be worth 10 at most).
    P = {0: {0: [(1.0, 0, 1.0, False)], 1: [(1.0, 1, 5.0, False)]},
         1: {0: [(1.0, 1, 2.0, False)], 1: [(1.0, 1, 0.0, True)]}}
    tab = rl_tabular.tables(_Table(P, 2, 2))
    V, Q = rl_tabular.value_iteration(tab.T, tab.R, 0.9)
    np.testing.assert_allclose(V, [23.0, 20.0], atol=1e-10)
    np.testing.assert_allclose(Q, [[1 + 0.9 * 23, 23.0], [20.0, 0.0]], atol=1e-10)
    assert tab.T[1, 1].sum() == 0.0  # the ending transition is not a continuation


def test_tables_keep_probabilities_and_expected_rewards():
    P = {0: {0: [(0.25, 1, 4.0, True), (0.75, 0, 0.0, False)]}, 1: {0: [(1.0, 1, 0.0, True)]}}
    tab = rl_tabular.tables(_Table(P, 2, 1))
    assert tab.R[0, 0] == 1.0 and tab.T[0, 0].tolist() == [0.75, 0.0]
    assert tab.start.tolist() == [1.0, 0.0]
    with pytest.raises(gk.GradkitError, match="env.unwrapped.P"):
        rl_tabular.tables(gym.make("CartPole-v1"))


def test_value_iteration_without_discount_is_a_shortest_path():
    # A corridor of 5 cells, -1 a step, the goal at cell 4 ends the episode.
    n = 5
    P = {s: {0: [(1.0, max(s - 1, 0), -1.0, False)],
             1: [(1.0, s + 1, -1.0, s + 1 == n - 1)] if s < n - 1 else [(1.0, s, 0.0, True)]}
         for s in range(n)}
    tab = rl_tabular.tables(_Table(P, n, 2))
    V, _ = rl_tabular.value_iteration(tab.T, tab.R, 1.0)
    assert V.tolist() == [-4.0, -3.0, -2.0, -1.0, 0.0]


def test_exact_evaluation_is_a_geometric_sum():
    # Each step succeeds (reward 1, end) with probability q, else stays.
    q, H = 0.3, 7
    T = np.zeros((1, 1, 1))
    T[0, 0, 0] = 1 - q
    tab = Tables(T, np.array([[q]]), np.array([1.0]))
    assert rl_tabular.horizon_return(np.ones((1, 1)), tab, H) == pytest.approx(1 - (1 - q) ** H)


@pytest.mark.parametrize("env_id", list(rl.TABULAR))
def test_value_iteration_equals_the_issue_figures(env_id):
    s = rl.TABULAR[env_id]
    arrays, values = rl._solve(env_id)
    # The issue quotes V*(s0) to 6 decimals and the success probability to 4.
    assert values["v_star"] == pytest.approx(s["issue_v"], abs=5e-7)
    assert values["success"] == pytest.approx(s["issue_success"], abs=5e-5)
    np.testing.assert_allclose(arrays["pi"].sum(axis=1), 1.0)


def test_frozenlake_success_matches_monte_carlo():
    env = gym.make("FrozenLake-v1")
    arrays, values = rl._solve("FrozenLake-v1")
    best = arrays["pi"].argmax(axis=1)
    wins = 0
    for i in range(2000):
        s, _ = env.reset(seed=i)
        while True:
            s, r, terminated, truncated, _ = env.step(int(best[s]))
            if terminated or truncated:
                wins += r
                break
    # 2,000 episodes: the standard error is about 0.01.
    assert wins / 2000 == pytest.approx(values["success"], abs=0.04)


def _q_chain(limit=None):
    # s0 -> s1 (reward 0) -> end (reward 1); one action.
    P = {0: {0: [(1.0, 1, 0.0, False)]}, 1: {0: [(1.0, 2, 1.0, True)]},
         2: {0: [(1.0, 2, 0.0, True)]}}
    return _Table(P, 3, 1, limit=limit)


def test_q_learning_update_bootstraps_until_the_end():
    env, gamma, n = _q_chain(), 0.9, 7
    tab = rl_tabular.tables(env)
    res = rl_tabular.q_learning(env, tab, gamma=gamma, target=2.0, every=n, horizon=5,
                                max_episodes=n, seed=0)
    q0 = q1 = 0.0
    for _ in range(n):  # the update by hand: s0 reads Q(s1) before s1 is updated
        q0 += 0.1 * (gamma * q1 - q0)
        q1 += 0.1 * (1.0 - q1)
    np.testing.assert_allclose(res.Q[:2, 0], [q0, q1], rtol=1e-12)
    assert res.episodes_to_target is None and res.steps == 2 * n
    assert res.evaluations.tolist() == [1.0]  # the greedy policy succeeds within 5 steps


def test_q_learning_cut_by_the_time_limit_still_bootstraps():
    # One state that pays 1 a step forever; the time limit cuts every episode after a step.
    env = _Table({0: {0: [(1.0, 0, 1.0, False)]}}, 1, 1, limit=1)
    n, gamma = 5, 0.5
    res = rl_tabular.q_learning(env, rl_tabular.tables(env), gamma=gamma, target=1e9,
                                every=n, horizon=3, max_episodes=n, seed=0)
    q = 0.0
    for _ in range(n):
        q += 0.1 * (1.0 + gamma * q - q)
    assert res.Q[0, 0] == pytest.approx(q, rel=1e-12) and q > 1 - 0.9 ** n
    assert res.evaluations.tolist() == [3.0]  # three steps of 1 within the horizon


def test_q_learning_breaks_ties_at_random():
    # Four tied actions, each ending the episode at once for -1: the one taken is marked.
    P = {0: {a: [(1.0, 1, -1.0, True)] for a in range(4)},
         1: {a: [(1.0, 1, 0.0, True)] for a in range(4)}}
    env = _Table(P, 2, 4)
    counts = np.zeros(4)
    for seed in range(200):
        res = rl_tabular.q_learning(env, rl_tabular.tables(env), gamma=1.0, target=1.0,
                                    every=10, horizon=1, max_episodes=1, seed=seed,
                                    epsilon=0.0)
        counts += res.Q[0] < 0.0
    assert counts.sum() == 200 and counts.min() > 25  # about 50 each


def test_greedy_policy_shares_ties():
    pi = rl_tabular.greedy_policy(np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(pi, [[0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]])


def test_policy_gradient_loss_has_the_score_function_gradient():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 3))
    actions = rng.integers(0, 3, 6)
    adv = rng.standard_normal(6)
    f = lambda z: rl_deep.policy_loss(z, actions, adv)  # noqa: E731
    gk.check_grads(f, (logits,), order=2, modes=("rev",))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = (p - np.eye(3)[actions]) * adv[:, None] / 6
    np.testing.assert_allclose(gk.grad(f)(logits), expected, rtol=1e-12, atol=1e-15)


def test_huber_loss_and_its_clipped_gradient():
    d = np.array([-3.0, -0.5, 0.2, 2.0])
    assert float(rl_deep.huber(d)) == pytest.approx((2.5 + 0.125 + 0.02 + 1.5) / 4)
    np.testing.assert_allclose(gk.grad(lambda x: rl_deep.huber(x))(d),
                               np.clip(d, -1.0, 1.0) / 4)
    gk.check_grads(lambda x: rl_deep.huber(x), (d,), order=1, modes=("rev",))


def test_td_target_stops_at_terminal_steps_and_double_picks_with_the_online_net():
    q_target = np.array([[1.0, 4.0], [3.0, 2.0], [7.0, 9.0]])
    q_online = np.array([[2.0, 0.0], [0.0, 5.0], [1.0, 0.0]])
    r, done = np.array([1.0, 0.0, 2.0]), np.array([0.0, 0.0, 1.0])
    np.testing.assert_allclose(rl_deep.td_target(r, done, q_target, 0.9), [4.6, 2.7, 2.0])
    np.testing.assert_allclose(rl_deep.td_target(r, done, q_target, 0.9, q_online),
                               [1.9, 1.8, 2.0])


def test_n_step_reward_and_a_per_row_discount():
    total, discount = rl_deep.n_step_reward([1.0, 0.0, 2.0], 0.9)
    assert total == pytest.approx(1.0 + 0.81 * 2.0) and discount == pytest.approx(0.729)
    assert rl_deep.n_step_reward([3.0], 0.9) == (3.0, 0.9)
    q_target = np.array([[1.0, 4.0], [3.0, 2.0]])
    np.testing.assert_allclose(
        rl_deep.td_target(np.zeros(2), np.zeros(2), q_target, np.array([0.5, 0.25])),
        [2.0, 0.75])


def test_returns_to_go_and_epsilon_schedule():
    r = np.array([1.0, 0.0, 2.0, 1.0])
    expected = [sum(0.9 ** (j - t) * r[j] for j in range(t, 4)) for t in range(4)]
    np.testing.assert_allclose(rl_deep.returns_to_go(r, 0.9), expected)
    assert [rl_deep.epsilon_at(t, 1.0, 0.05, 100) for t in (0, 50, 100, 500)] == \
        pytest.approx([1.0, 0.525, 0.05, 0.05])


def test_mlp_initialises_as_pytorch():
    net = rl_deep.mlp((4, 128, 2), np.random.default_rng(0))
    w0, b0, w1 = net[0].weight.numpy(), net[0].bias.numpy(), net[2].weight.numpy()
    assert w0.dtype == np.float32 and np.abs(w0).max() <= 0.5 and np.abs(b0).max() <= 0.5
    assert np.abs(w1).max() <= 128 ** -0.5 and np.abs(w1).max() > 0.9 * 128 ** -0.5
    assert abs(float(w0.std()) - 0.5 / np.sqrt(3)) < 0.02  # uniform on +-1/2


def test_greedy_return_uses_fixed_reset_seeds():
    net = rl_deep.mlp((4, 8, 2), np.random.default_rng(1))
    a = rl_deep.greedy_return(net, "CartPole-v1", 6)
    b = rl_deep.greedy_return(net, "CartPole-v1", 6)
    assert a.shape == (6,) and (a == b).all() and (a >= 1).all()
    env = gym.make("CartPole-v1")  # episode 3 by hand
    obs, _ = env.reset(seed=rl_deep.EVAL_SEED + 3)
    total, done = 0.0, False
    while not done:
        with gk.no_grad():
            act = int(net(obs[None].astype(np.float32)).numpy().argmax())
        obs, r, terminated, truncated, _ = env.step(act)
        total, done = total + r, terminated or truncated
    assert a[3] == total


def test_cartpole_learners_are_deterministic_for_a_seed():
    kw = dict(steps=600, hidden=(16,), lr=1e-3, gamma=0.99, lr_decay=True, bootstrap=True)
    a = rl_deep.policy_gradient("CartPole-v1", 3, **kw)
    b = rl_deep.policy_gradient("CartPole-v1", 3, **kw)
    assert a.episode_end[-1] == 600 and (a.episode_return == b.episode_return).all()
    assert (a.net[0].weight.numpy() == b.net[0].weight.numpy()).all()
    kw = dict(steps=400, hidden=(16,), lr=5e-4, gamma=0.99, buffer=300, batch=8,
              learning_starts=100, target_every=50, eps_start=1.0, eps_end=0.05,
              eps_steps=200, clip=10.0, double=True, n_step=3)
    a, b = rl_deep.dqn("CartPole-v1", 3, **kw), rl_deep.dqn("CartPole-v1", 3, **kw)
    assert (a.episode_return == b.episode_return).all()
    assert (a.net[2].weight.numpy() == b.net[2].weight.numpy()).all()


def test_config_refuses_bad_settings():
    with pytest.raises(ConfigError, match="tabular_envs"):
        rl.Config(tabular_envs=("Taxi-v3",))
    with pytest.raises(ConfigError, match="hidden"):
        rl.Config(hidden=(0,))
    with pytest.raises(ConfigError, match="q_epsilon"):
        rl.Config(q_epsilon=1.5)


@pytest.mark.parametrize("env_id", ["FrozenLake-v1", "FrozenLake8x8-v1"])
def test_value_iteration_is_the_exact_value_of_its_greedy_policy(env_id):
    # Policy evaluation by a linear solve, V = (I - gamma T_pi)^-1 R_pi: equal to VI's V
    # to 1e-9, and no action improves on it (VI's fixed point is the optimum).
    gamma = rl.TABULAR[env_id]["gamma"]
    tab = rl_tabular.tables(gym.make(env_id))
    V, Q = rl_tabular.value_iteration(tab.T, tab.R, gamma)
    pi = np.eye(4)[Q.argmax(axis=1)]
    T_pi = np.einsum("sa,sat->st", pi, tab.T)
    exact = np.linalg.solve(np.eye(len(V)) - gamma * T_pi, (pi * tab.R).sum(axis=1))
    np.testing.assert_allclose(V, exact, atol=1e-9)
    assert ((tab.R + gamma * tab.T @ exact).max(axis=1) <= exact + 1e-9).all()


def test_running_statistics_merge_chunks_exactly():
    rng = np.random.default_rng(2)
    chunks = [rng.standard_normal(n) * 5 + 3 for n in (1, 7, 30)]
    stats = np.zeros(3)
    for c in chunks:
        stats = rl_deep._merge(stats, c)
    whole = np.concatenate(chunks)
    np.testing.assert_allclose(stats, [len(whole), whole.mean(), whole.var() * len(whole)])
