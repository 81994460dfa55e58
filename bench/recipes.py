"""Every recipe at its default settings, with the scoreboard against the goals.

Run with ``python bench/recipes.py [--out DIR] [--seed S]`` (``make bench`` runs it from
``.venv-bench``, where PyTorch is installed, so the cnn recipe also trains the same
network in PyTorch beside gradkit's). Each recipe writes its figures and metrics to
``DIR/<name>`` (default ``runs/bench``); the script ends with the scoreboard (recipe,
metric, gradkit, baseline, goal met, seconds) and the total time, and exits with status 1
when a recipe fails or misses its goal. One thread per library, as in every bench script.
"""

import _harness

_harness.prepare_environment()

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from gradkit import recipes  # noqa: E402
from gradkit.recipes import _scoreboard  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/bench", help="output folder (default runs/bench)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    libraries = [("scikit-learn", "scikit-learn"), ("scipy", "scipy"), ("torch", "torch")]
    try:
        import torch

        _harness.limit_torch_threads(torch)
    except ImportError as e:
        torch, errors = None, {"torch": str(e)}
    else:
        errors = {}
    _harness.print_environment(libraries, errors, torch,
                               "each recipe runs once at its defaults; seconds are wall time")
    root = Path(args.out)
    started = time.perf_counter()
    failures = recipes.run_all(seed=args.seed, out=root, verbose=False)
    rows = _scoreboard.collect(root, failures)
    text = _scoreboard.write(root, rows)
    total = time.perf_counter() - started
    print(f"\nRecipes at their defaults (seed {args.seed}), one thread:\n\n{text}\n")
    seconds = [r["seconds"] for r in rows if r["seconds"] is not None]
    if seconds:
        print(f"total {total:.1f} s; per recipe: mean {sum(seconds) / len(seconds):.1f} s, "
              f"longest {max(seconds):.1f} s (goal: mean under 60 s, none over 120 s)")
    missed = [r["recipe"] for r in rows if r["status"] != "ok" or not r["goal_met"]]
    if missed:
        print(f"goal missed or run failed: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
