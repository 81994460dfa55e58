"""The gan recipe against PyTorch, side by side: modes, samples near a mode, time per step.

Run from the environment that has PyTorch (``.venv-bench``), one thread each::

    .venv-bench/bin/python bench/gan.py            # 5 seeds x 20k steps, digits x 3 (long)
    .venv-bench/bin/python bench/gan.py --quick    # 2 seeds x 4k steps, no digits

Both libraries train the same networks (the recipe's: MLPs of 128, PyTorch's default
initialisation, Adam 2e-4 with betas 0.5/0.999, the non-saturating generator loss, one
discriminator step per generator step), with and without the R1 penalty. Time per step
is measured in interleaved blocks of steps (gradkit, then PyTorch, repeated), so both
see the same machine load; the goal is gradkit at most 1.5x PyTorch's time. Quality is
judged on 10,000 samples: modes with at least 1% of them within 0.1 of the centre (goal
8/8 on every seed) and the share within 0.1 of any mode (goal at least 95% on every seed).
"""

import _harness

_harness.prepare_environment()

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from gradkit.recipes import gan  # noqa: E402


def _torch_trainer(torch, seed: int, r1: float, batch: int = 256):
    """The recipe's GAN written in PyTorch; returns ``steps(count)`` and ``sample(n)``."""
    nn = torch.nn
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    G = nn.Sequential(nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                      nn.Linear(128, 2))
    D = nn.Sequential(nn.Linear(2, 128), nn.LeakyReLU(0.2), nn.Linear(128, 128),
                      nn.LeakyReLU(0.2), nn.Linear(128, 1))
    og = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    softplus = torch.nn.functional.softplus

    def steps(count: int) -> None:
        for _ in range(count):
            real = torch.from_numpy(gan.eight_gaussians(batch, rng))
            with torch.no_grad():
                fake = G(torch.randn(batch, 2))
            real.requires_grad_(r1 > 0)
            d_real = D(real)
            loss = softplus(-d_real).mean() + softplus(D(fake)).mean()
            if r1 > 0:
                (slope,) = torch.autograd.grad(d_real.sum(), real, create_graph=True)
                loss = loss + 0.5 * r1 * slope.pow(2).sum(1).mean()
            od.zero_grad()
            loss.backward()
            od.step()
            g_loss = softplus(-D(G(torch.randn(batch, 2)))).mean()
            og.zero_grad()
            g_loss.backward()
            og.step()

    def sample(n: int) -> np.ndarray:
        with torch.no_grad():
            return G(torch.randn(n, 2)).numpy()

    return steps, sample


def _gradkit_trainer(seed: int, r1: float):
    trainer = gan._Trainer(gan.Config(r1=r1), seed)
    state = [trainer.start()]

    def steps(count: int) -> None:
        state[0], _ = trainer.steps(state[0], count)

    return steps, lambda n: trainer.sample(state[0]["G"], n)


def _ms_per_step(make: dict, block: int, rounds: int) -> dict:
    """Median ms per step of each trainer, timed in interleaved blocks of ``block`` steps."""
    steppers = {name: m()[0] for name, m in make.items()}
    for step in steppers.values():
        step(20)  # warm up
    times = {name: [] for name in steppers}
    for _ in range(rounds):
        for name, step in steppers.items():
            t0 = time.perf_counter()
            step(block)
            times[name].append((time.perf_counter() - t0) / block * 1e3)
    return {name: statistics.median(t) for name, t in times.items()}


def _quality(steps, sample, n_steps: int) -> tuple[dict, float]:
    t0 = time.perf_counter()
    steps(n_steps)
    took = time.perf_counter() - t0
    return gan.mode_coverage(sample(10000)), took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds x 4,000 steps")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    args = parser.parse_args()
    import torch

    _harness.limit_torch_threads(torch)
    _harness.print_environment([("torch", "torch")], {}, torch,
                               "time per step: median over interleaved blocks of 100 steps")
    seeds = args.seeds or (2 if args.quick else 5)
    n_steps = args.steps or (4000 if args.quick else gan.SETTINGS["gaussians"]["steps"])
    r1 = gan.Config().r1

    print("\nTime per step (ms), 8 Gaussians, batch 256:")
    rows = []
    for penalty in (0.0, r1):
        ms = _ms_per_step({"gradkit": lambda p=penalty: _gradkit_trainer(0, p),
                           "torch": lambda p=penalty: _torch_trainer(torch, 0, p)},
                          block=100, rounds=3 if args.quick else 7)
        rows.append([f"R1 {penalty:g}", _harness.fmt_ms(ms["gradkit"]),
                     _harness.fmt_ms(ms["torch"]),
                     _harness.fmt_ratio(ms["gradkit"], ms["torch"])])
    _harness.print_rows(["setting", "gradkit", "PyTorch 2.13", "gradkit/PyTorch"], rows)
    print("(goal: gradkit/PyTorch at most 1.5 with the same networks)")

    print(f"\nQuality after {n_steps} generator steps (10,000 samples; goal: 8 modes and at "
          f"least 95% within 0.1 on every seed):")
    rows = []
    for seed in range(seeds):
        for name, make in (("gradkit", lambda s, p: _gradkit_trainer(s, p)),
                           ("PyTorch", lambda s, p: _torch_trainer(torch, s, p))):
            for penalty in (0.0, r1):
                cover, took = _quality(*make(seed, penalty), n_steps)
                rows.append([str(seed), name, f"{penalty:g}", f"{cover['modes']}/8",
                             f"{100 * cover['within']:.1f}%", f"{took:.0f} s"])
                print("  " + " | ".join(rows[-1]), flush=True)
    _harness.print_rows(["seed", "library", "R1", "modes", "within 0.1", "time"], rows)


if __name__ == "__main__":
    _harness.run_single_threaded(main)
