"""Benchmark the rl recipe's CartPole learners: gradkit against PyTorch, side by side.

Run from the environment that has PyTorch (``.venv-bench``), one thread each::

    .venv-bench/bin/python bench/rl.py                 # 5 seeds, both learners (long)
    .venv-bench/bin/python bench/rl.py --quick         # 2 seeds, 20k steps: a smoke check
    .venv-bench/bin/python bench/rl.py --algo pg --seeds 5 --json runs/bench-rl.json

For each seed, the variants run one after another in the same process:

* ``pg``: the policy gradient with a learned value baseline (policy and value MLPs
  4-128-128, Adam 1e-3, gamma 0.99, one update per episode, advantages standardised per
  episode), in gradkit and in PyTorch with exactly these reference settings, then
  gradkit with the recipe's defaults (time-limit bootstrap, Adam 2e-3 decayed linearly
  to 0, advantages scaled by the running standard deviation of the returns).
* ``dqn``: the DQN (4-128-128-2, Adam 5e-4, Huber loss, gradient-norm clip 10, replay
  50k, batch 64, an update every step from step 1k, target copied every 500 steps,
  epsilon 1 to 0.05 over 20k steps), in gradkit and in PyTorch, then gradkit with the
  recipe's defaults (Double DQN's target, 3-step returns, the learning rate decayed to 0
  by a cosine).

Both libraries use PyTorch's default initialisation, the same NumPy generator for the
agent's random draws and the same gymnasium reset seeds, so they run the same algorithm
(not the same floating-point numbers). Reported per seed: training wall time, the
process's CPU time (the fairer figure on a busy machine) and the greedy policy's mean
return over 100 evaluation episodes (reset seeds 10000...).
"""

import _harness

_harness.prepare_environment()  # before NumPy or PyTorch is imported

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

from gradkit.recipes import rl  # noqa: E402
from gradkit.recipes.shared import rl_deep  # noqa: E402

try:
    import torch
    import torch.nn.functional as TF

    _harness.limit_torch_threads(torch)
except ImportError:  # the gradkit columns still run
    torch = None

ENV = "CartPole-v1"


def torch_mlp(sizes, rng):
    """PyTorch's MLP with the weights drawn as :func:`rl_deep.mlp` draws them."""
    layers = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        bound = 1.0 / math.sqrt(n_in)
        lin = torch.nn.Linear(n_in, n_out)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(
                rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32)))
            lin.bias.copy_(torch.from_numpy(rng.uniform(-bound, bound, n_out).astype(np.float32)))
        layers += [lin] if k == len(sizes) - 2 else [lin, torch.nn.ReLU()]
    return torch.nn.Sequential(*layers)


def torch_pg(seed, steps, hidden=(128, 128), lr=1e-3, gamma=0.99):
    """The reference policy gradient in PyTorch (as :func:`rl_deep.policy_gradient` with
    ``lr_decay=False, bootstrap=False, scale="episode"``)."""
    rng = np.random.default_rng(seed)
    env = gym.make(ENV)
    policy = torch_mlp((4, *hidden, 2), rng)
    value = torch_mlp((4, *hidden, 1), rng)
    pi_opt = torch.optim.Adam(policy.parameters(), lr=lr)
    v_opt = torch.optim.Adam(value.parameters(), lr=lr)
    done_steps, totals = 0, []
    obs, _ = env.reset(seed=seed)
    while done_steps < steps:
        states, actions, rewards = [], [], []
        while True:
            with torch.no_grad():
                logits = policy(torch.from_numpy(obs[None].astype(np.float32)))[0].numpy()
            p = np.exp(logits - logits.max()).astype(float)
            a = rl_deep._sample(p / p.sum(), rng.random())
            nxt, r, terminated, truncated, _ = env.step(a)
            states.append(obs)
            actions.append(a)
            rewards.append(r)
            obs = nxt
            done_steps += 1
            if terminated or truncated or done_steps >= steps:
                break
        obs, _ = env.reset()
        totals.append(sum(rewards))
        S = torch.from_numpy(np.array(states, np.float32))
        G = torch.from_numpy(rl_deep.returns_to_go(rewards, gamma).astype(np.float32))
        v = value(S)[:, 0]
        adv = (G - v.detach()).numpy().astype(float)
        adv = torch.from_numpy(((adv - adv.mean()) / (adv.std() + 1e-8)).astype(np.float32))
        v_opt.zero_grad()
        TF.mse_loss(v, G).backward()
        v_opt.step()
        pi_opt.zero_grad()
        (TF.cross_entropy(policy(S), torch.tensor(actions), reduction="none") * adv
         ).mean().backward()
        pi_opt.step()
    return policy, totals


def torch_dqn(seed, steps, hidden=(128, 128), lr=5e-4, gamma=0.99, buffer=50_000, batch=64,
              learning_starts=1000, target_every=500, eps_end=0.05, eps_steps=20_000,
              clip=10.0):
    """The reference DQN in PyTorch (as :func:`rl_deep.dqn` with ``double=False``)."""
    rng = np.random.default_rng(seed)
    env = gym.make(ENV)
    q = torch_mlp((4, *hidden, 2), rng)
    target = torch_mlp((4, *hidden, 2), rng)
    target.load_state_dict(q.state_dict())
    opt = torch.optim.Adam(q.parameters(), lr=lr)
    S = np.zeros((buffer, 4), np.float32)
    S2 = np.zeros((buffer, 4), np.float32)
    A = np.zeros(buffer, np.int64)
    R = np.zeros(buffer, np.float32)
    D = np.zeros(buffer, np.float32)
    totals, total = [], 0.0
    obs, _ = env.reset(seed=seed)
    for t in range(steps):
        if rng.random() < rl_deep.epsilon_at(t, 1.0, eps_end, eps_steps):
            a = int(rng.integers(2))
        else:
            with torch.no_grad():
                a = int(q(torch.from_numpy(obs[None].astype(np.float32))).argmax())
        nxt, r, terminated, truncated, _ = env.step(a)
        k = t % buffer
        S[k], A[k], R[k], S2[k], D[k] = obs, a, r, nxt, float(terminated)
        total += r
        obs = nxt
        if terminated or truncated:
            obs, _ = env.reset()
            totals.append(total)
            total = 0.0
        if t + 1 >= learning_starts:
            idx = rng.integers(min(t + 1, buffer), size=batch)
            with torch.no_grad():
                q_t = target(torch.from_numpy(S2[idx])).numpy()
            y = torch.from_numpy(rl_deep.td_target(R[idx], D[idx], q_t, gamma)
                                 .astype(np.float32))
            q_sa = q(torch.from_numpy(S[idx])).gather(1, torch.from_numpy(A[idx])[:, None])[:, 0]
            opt.zero_grad()
            TF.smooth_l1_loss(q_sa, y).backward()
            torch.nn.utils.clip_grad_norm_(q.parameters(), clip)
            opt.step()
        if (t + 1) % target_every == 0:
            target.load_state_dict(q.state_dict())
    return q, totals


def torch_greedy(net, episodes):
    """:func:`rl_deep.greedy_return` for a PyTorch network."""
    class Wrapped:
        def __call__(self, x):
            with torch.no_grad():
                return _Out(net(torch.from_numpy(np.asarray(x))).numpy())

    return rl_deep.greedy_return(Wrapped(), ENV, episodes)


class _Out:
    def __init__(self, data):
        self.data = data


def variants(algo, steps):
    """name -> (train(seed) returning the network, evaluate(net, episodes))."""
    gk_eval = rl_deep.greedy_return
    pg = dict(steps=steps, hidden=(128, 128), lr=1e-3, gamma=0.99)
    dq = dict(steps=steps, hidden=(128, 128), lr=5e-4, gamma=0.99, buffer=50_000, batch=64,
              learning_starts=1000, target_every=500, eps_start=1.0, eps_end=0.05,
              eps_steps=20_000, clip=10.0)
    out = {}
    if algo in ("pg", "both"):
        out["pg gradkit (reference)"] = (
            lambda s: rl_deep.policy_gradient(ENV, s, **pg).net, lambda n, e: gk_eval(n, ENV, e))
        if torch is not None:
            out["pg torch (reference)"] = (lambda s: torch_pg(s, steps)[0], torch_greedy)
        cfg = rl.Config()
        recipe = dict(pg, lr=cfg.pg_lr, lr_decay=cfg.pg_lr_decay, bootstrap=cfg.pg_bootstrap,
                      scale=cfg.pg_scale)
        out["pg gradkit (recipe)"] = (
            lambda s: rl_deep.policy_gradient(ENV, s, **recipe).net,
            lambda n, e: gk_eval(n, ENV, e))
    if algo in ("dqn", "both"):
        out["dqn gradkit (reference)"] = (
            lambda s: rl_deep.dqn(ENV, s, double=False, **dq).net,
            lambda n, e: gk_eval(n, ENV, e))
        if torch is not None:
            out["dqn torch (reference)"] = (lambda s: torch_dqn(s, steps)[0], torch_greedy)
        cfg = rl.Config()
        mine = dict(dq, lr=cfg.dqn_lr, double=cfg.dqn_double, lr_decay=cfg.dqn_lr_decay,
                    n_step=cfg.dqn_n_step)
        out["dqn gradkit (recipe)"] = (
            lambda s: rl_deep.dqn(ENV, s, **mine).net, lambda n, e: gk_eval(n, ENV, e))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algo", choices=("pg", "dqn", "both"), default="both")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--eval-episodes", type=int, default=100)
    parser.add_argument("--only", default="", help="run only variants whose name contains this")
    parser.add_argument("--quick", action="store_true", help="2 seeds of 20k steps")
    parser.add_argument("--json", default="", help="also write the rows to this file")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.steps = 2, 20_000
    print(f"bench/rl.py: {ENV}, {args.steps} steps, seeds {args.first_seed}.."
          f"{args.first_seed + args.seeds - 1}, greedy over {args.eval_episodes} episodes, "
          f"one thread" + ("" if torch is not None else " (PyTorch not installed)"), flush=True)
    chosen = {k: v for k, v in variants(args.algo, args.steps).items() if args.only in k}
    rows = {name: [] for name in chosen}
    if torch is not None:  # PyTorch's first calls pay one-off set-up costs: not timed
        torch_pg(0, 300)
        torch_dqn(0, 300, learning_starts=100)
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for name, (train, evaluate) in chosen.items():
            started, cpu = time.perf_counter(), time.process_time()
            net = train(seed)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            returns = evaluate(net, args.eval_episodes)
            rows[name].append({"seed": seed, "seconds": round(seconds, 2), "cpu": round(cpu, 2),
                               "greedy": float(returns.mean()), "min": float(returns.min())})
            print(f"  seed {seed}  {name:26s} {seconds:7.1f} s (CPU {cpu:6.1f} s)  greedy "
                  f"{returns.mean():6.1f} (min {returns.min():.0f})", flush=True)
    print("\n| variant | seconds per seed (median) | greedy per seed | median | at 500 |"
          "\n|---|---|---|---|---|")
    for name, r in rows.items():
        greedy = [x["greedy"] for x in r]
        print(f"| {name} | {statistics.median(x['seconds'] for x in r):.1f} | "
              f"{', '.join(f'{g:.1f}' for g in greedy)} | {statistics.median(greedy):.1f} | "
              f"{sum(g >= 500 for g in greedy)}/{len(greedy)} |")
    for algo in ("pg", "dqn"):
        gk, tc = rows.get(f"{algo} gradkit (reference)"), rows.get(f"{algo} torch (reference)")
        if gk and tc:
            for key, what in (("seconds", "wall"), ("cpu", "CPU")):
                ratio = (statistics.median(x[key] for x in gk)
                         / statistics.median(x[key] for x in tc))
                print(f"{algo}: gradkit / PyTorch {what} time per seed (reference settings): "
                      f"{ratio:.2f}x (goal <= 1.5x)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"steps": args.steps, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    _harness.run_single_threaded(main)
