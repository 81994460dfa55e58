"""The gan recipe against PyTorch, side by side: modes, samples near a mode, time per step.

Run from the environment that has PyTorch (``.venv-bench``), one thread each::

    .venv-bench/bin/python bench/gan.py            # 5 seeds x 20k steps, digits x 3 (long)
    .venv-bench/bin/python bench/gan.py --quick    # 2 seeds x 4k steps, no digits
    .venv-bench/bin/python bench/gan.py --part digits [--digits-r1 0] [--digits-ema 0.999]
    .venv-bench/bin/python bench/gan.py --part gaussians --first-seed 3 --seeds 2

Both libraries train the same networks (the recipe's: MLPs of 128, PyTorch's default
initialisation, Adam 2e-4 with betas 0.5/0.999, the non-saturating generator loss, one
discriminator step per generator step), with and without the R1 penalty. Time per step
is measured in interleaved blocks of steps (gradkit, then PyTorch, repeated), so both
see the same machine load; the goal is gradkit at most 1.5x PyTorch's time. Quality is
judged on 10,000 samples: modes with at least 1% of them within 0.1 of the centre (goal
8/8 on every seed) and the share within 0.1 of any mode (goal at least 95% on every seed),
for the generator's samples and for the same samples refined by the recipe's steps of
gradient ascent on the discriminator's logit (in each library).

The digits (gradkit alone: 3 seeds of 10,000 steps, 1,000 samples) are judged by the
recipe's logistic regression and by the cnn recipe's network, trained here as that recipe
trains it, from the generator's own weights and from its moving average, each as
generated and refined.
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

    def refine(x: np.ndarray, count: int, rate: float) -> np.ndarray:
        x = torch.from_numpy(x)
        for _ in range(count):
            x.requires_grad_(True)
            (slope,) = torch.autograd.grad(D(x).sum(), x)
            x = (x + rate * slope).detach()
        return x.numpy()

    return steps, sample, refine


def _gradkit_trainer(seed: int, r1: float):
    trainer = gan._Trainer(gan.Config(r1=r1), seed)
    state = [trainer.start()]

    def steps(count: int) -> None:
        state[0], _ = trainer.steps(state[0], count)

    def refine(x: np.ndarray, count: int, rate: float) -> np.ndarray:
        return gan.refine(trainer.D, state[0]["D"], x, count, rate)

    return steps, lambda n: trainer.sample(state[0]["G"], n), refine


def _ms_per_step(make: dict, block: int, rounds: int) -> dict:
    """Median ms per step of each trainer, timed in interleaved blocks of ``block`` steps."""
    steppers = {name: m()[0] for name, m in make.items()}  # (steps, sample, refine)
    for step in steppers.values():
        step(20)  # warm up
    times = {name: [] for name in steppers}
    for _ in range(rounds):
        for name, step in steppers.items():
            t0 = time.perf_counter()
            step(block)
            times[name].append((time.perf_counter() - t0) / block * 1e3)
    return {name: statistics.median(t) for name, t in times.items()}


def _quality(steps, sample, refine, n_steps: int) -> tuple[dict, dict, float]:
    t0 = time.perf_counter()
    steps(n_steps)
    took = time.perf_counter() - t0
    x = sample(10000)
    _, count, rate = gan.Config().refinement
    return gan.mode_coverage(x), gan.mode_coverage(refine(x, count, rate)), took


def _cnn_judge():
    """The cnn recipe's network trained as the recipe trains it (seed 0); returns a
    function giving class probabilities of 64-pixel images in [-1, 1], its held-out
    accuracy and its mean confidence on the held-out real digits."""
    import tempfile

    from scipy.special import softmax

    from gradkit.recipes import cnn
    from gradkit.recipes._rundir import RunDir
    from gradkit.recipes.shared.data import load_digits_split
    from gradkit.recipes.shared.training import fit_classifier

    cfg = cnn.Config()
    data = load_digits_split()
    model = cnn.build_cnn(0, cfg.channels, cfg.max_shift)
    with tempfile.TemporaryDirectory() as tmp:
        rd = RunDir(cnn.SPEC, cfg, seed=0, out=tmp, verbose=False)
        _, test = fit_classifier(rd, model, gan.nn.cross_entropy,
                                 (data.X_train.reshape(-1, 1, 8, 8), data.y_train),
                                 (data.X_test.reshape(-1, 1, 8, 8), data.y_test), cfg)
    model.eval()

    def probabilities(samples: np.ndarray) -> np.ndarray:
        images = ((samples + 1.0) / 2.0).astype(np.float32).reshape(-1, 1, 8, 8)  # X / 16
        return softmax(np.asarray(model(images).data, dtype=np.float64), axis=1)

    real = probabilities(data.X_test * 2.0 - 1.0).max(axis=1).mean()
    return probabilities, test["metric"], real


def _judged(judge, samples: np.ndarray) -> list[str]:
    """Classes (at least 5% of the samples each) and mean confidence, by both judges."""
    lr = gan._judge_digits(samples)
    prob = judge(samples)
    shares = np.bincount(prob.argmax(1), minlength=10) / len(prob)
    return [f"{lr['classes']}/10", f"{lr['confidence']:.3f}",
            f"{int((shares >= 0.05).sum())}/10", f"{prob.max(1).mean():.3f}"]


def _digits(seeds: int, n_steps: int | None, r1: float | None, ema: float | None) -> None:
    judge, accuracy, real = _cnn_judge()
    cfg = gan.Config(data="digits", steps=n_steps or 0, r1=r1, ema=ema)
    lr_real = gan._judge_digits(gan._digits()[:10])["real_confidence"]
    where, count, rate = cfg.refinement
    print(f"\nDigits (R1 {cfg.penalty:g}, {cfg.n_steps} generator steps, 1,000 samples; "
          f"goal: 10/10 classes and mean confidence at least 0.95 on each seed, by both "
          f"judges). Real held-out digits: LR confidence {lr_real:.3f}; the cnn judge "
          f"{accuracy:.4f} accurate, confidence {real:.3f}. 'EMA': the generator's moving "
          f"average (decay {cfg.decay:g}, 0: none); 'refined': {count} steps of {rate:g} up "
          f"the discriminator's logit in the {where} space:")
    rows = []
    for seed in range(seeds):
        trainer = gan._Trainer(cfg, seed)
        t0 = time.perf_counter()
        state, _ = trainer.steps(trainer.start(), cfg.n_steps)
        took = time.perf_counter() - t0
        z = trainer.noise(1000)
        for name, pg in (("own weights", state["G"]), ("EMA", state.get("ema"))):
            if pg is None:
                continue
            for refined in (False, True):
                x = trainer.refined(state, pg, z) if refined else trainer.generate(pg, z)
                rows.append([str(seed), name + (", refined" if refined else ""),
                             *_judged(judge, x), f"{took:.0f} s"])
                print("  " + " | ".join(rows[-1]), flush=True)
    _harness.print_rows(["seed", "generator", "LR classes", "LR confidence", "CNN classes",
                         "CNN confidence", "training"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds x 4,000 steps")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="the 8 Gaussians' seeds run from this one")
    parser.add_argument("--part", choices=("all", "gaussians", "digits"), default="all")
    parser.add_argument("--digits-r1", type=float, default=None,
                        help="the digits' R1 weight (default: the recipe's)")
    parser.add_argument("--digits-ema", type=float, default=None,
                        help="the digits' moving-average decay (default: the recipe's)")
    args = parser.parse_args()
    import torch

    _harness.limit_torch_threads(torch)
    _harness.print_environment([("torch", "torch")], {}, torch,
                               "time per step: median over interleaved blocks of 100 steps")
    seeds = args.seeds or (2 if args.quick else 5)
    n_steps = args.steps or (4000 if args.quick else gan.SETTINGS["gaussians"]["steps"])
    r1 = gan.Config().penalty

    if args.part == "digits":
        _digits(3, args.steps, args.digits_r1, args.digits_ema)
        return
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
    for seed in range(args.first_seed, args.first_seed + seeds):
        for name, make in (("gradkit", lambda s, p: _gradkit_trainer(s, p)),
                           ("PyTorch", lambda s, p: _torch_trainer(torch, s, p))):
            for penalty in (0.0, r1):
                cover, refined, took = _quality(*make(seed, penalty), n_steps)
                rows.append([str(seed), name, f"{penalty:g}", f"{cover['modes']}/8",
                             f"{100 * cover['within']:.1f}%", f"{refined['modes']}/8",
                             f"{100 * refined['within']:.1f}%", f"{took:.0f} s"])
                print("  " + " | ".join(rows[-1]), flush=True)
    _harness.print_rows(["seed", "library", "R1", "modes", "within 0.1", "refined modes",
                         "refined within", "time"], rows)
    if not args.quick and args.part == "all":
        _digits(3, None, args.digits_r1, args.digits_ema)


if __name__ == "__main__":
    _harness.run_single_threaded(main)
