"""The ``gradkit`` command line: ``demo``, ``list``, ``run NAME|all``, ``report``.

A bad argument is one line on stderr and exit status 2; a failure at run time (unreadable
data, a NaN in training) is one line and exit status 1; never a traceback, unless
``GRADKIT_TRACEBACK=1`` is set for debugging.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# NumPy's legacy seeding and scikit-learn's random_state take 0 <= seed < 2**32.
MAX_SEED = 2**32 - 1


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr and exit status 2."""

    def error(self, message: str):
        sys.stderr.write(f"gradkit: {message} (see 'gradkit --help')\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gradkit", description="Derivatives for AI and machine learning.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    sub.add_parser("demo", help="finite differences against autodiff; gradient, Hessian, "
                                "Jacobian")
    sub.add_parser("list", help="the recipes: name, summary, metric, baseline, goal")
    run = sub.add_parser("run", help="run a recipe (or all of them) on real data")
    run.add_argument("name", help="a recipe's name (see 'gradkit list'), or 'all'")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--out", default=None,
                     help="output folder (default runs/NAME; with 'all', the parent folder)")
    run.add_argument("--resume", action="store_true",
                     help="continue a killed run from its checkpoint")
    run.add_argument("--set", dest="settings", action="append", default=[],
                     metavar="KEY=VALUE", help="override a setting of the recipe's Config "
                                               "(repeatable; tuples comma-separated)")
    run.add_argument("--epochs", type=int, default=None, help="shorthand for --set epochs=N")
    run.add_argument("--smoke", action="store_true",
                     help="start from the recipe's seconds-long smoke settings")
    run.add_argument("--quiet", action="store_true", help="no progress bars or summary")
    report = sub.add_parser("report", help="write runs/report.html from the recipes' runs")
    report.add_argument("--runs", default="runs", help="the runs folder (default runs)")
    report.add_argument("--out", default=None, help="the HTML file (default RUNS/report.html)")
    return parser


def _out_problem(out: str, what: str) -> str | None:
    """Why ``out`` cannot be the output folder, or None when it can."""
    path = Path(out)
    if path.exists():
        if not path.is_dir():
            return f"{what}: it exists and is not a folder"
        if not os.access(path, os.W_OK | os.X_OK):
            return f"{what}: the folder is not writable"
        return None
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"{what}: {parent} is a file, so no folder can be made under it"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{what}: cannot create it, {parent} is not writable"
    return None


def _argument_problem(args, names: tuple[str, ...]) -> str | None:
    if args.name != "all" and args.name not in names:
        return f"unknown recipe '{args.name}' (known: {', '.join(names)}, or all)"
    if args.name == "all" and (args.settings or args.epochs is not None):
        return ("--set and --epochs apply to one recipe; run it alone with "
                "'gradkit run NAME --set KEY=VALUE'")
    if args.epochs is not None and args.epochs < 1:
        return f"--epochs must be at least 1, got {args.epochs}"
    if not 0 <= args.seed <= MAX_SEED:
        return f"--seed must be an integer from 0 to {MAX_SEED} (NumPy's seed range), got " \
               f"{args.seed}"
    if args.out is not None:
        return _out_problem(args.out, f"--out {args.out}")
    default = Path("runs") if args.name == "all" else Path("runs") / args.name
    return _out_problem(str(default), f"the default output folder {default} (choose another "
                                      f"with --out)")


def _guarded(label: str, action) -> int:
    """Run ``action``; a failure is one line on stderr and exit status 1, not a traceback.

    ``GRADKIT_TRACEBACK=1`` in the environment lets the traceback through, for debugging.
    """
    from .recipes import failure_text

    try:
        result = action()
    except KeyboardInterrupt:
        sys.stderr.write(f"{label}: interrupted\n")
        return 130
    except Exception as e:
        if os.environ.get("GRADKIT_TRACEBACK"):
            raise
        from .errors import GradkitError

        hint = "" if isinstance(e, GradkitError | OSError) else \
            "; set GRADKIT_TRACEBACK=1 to see where"
        sys.stderr.write(f"{label}: {failure_text(e)}{hint}\n")
        return 1
    return result if isinstance(result, int) else 0


def _config(args, module):
    """The Config for a single run: defaults (or smoke), then --epochs, then --set."""
    from .recipes import override

    cfg = module.Config.smoke() if args.smoke else module.Config()
    settings = list(args.settings)
    if args.epochs is not None:
        if "epochs" not in cfg.__dataclass_fields__:
            from .recipes import ConfigError

            raise ConfigError(f"--epochs: recipe {args.name} has no epochs (its settings: "
                              f"{', '.join(cfg.__dataclass_fields__)})")
        settings.insert(0, f"epochs={args.epochs}")
    return override(cfg, settings, args.name) if settings else cfg


def _run(args) -> int:
    from . import recipes

    problem = _argument_problem(args, recipes.names())
    if problem is not None:
        sys.stderr.write(f"gradkit: {problem}\n")
        return 2
    if args.name == "all":
        return _run_all(args)
    module = recipes.get(args.name)
    try:
        cfg = _config(args, module)
        module.SPEC.check_requirements()
    except recipes.ConfigError as e:
        sys.stderr.write(f"gradkit: {' '.join(str(e).split())}\n")
        return 2
    except recipes.MissingDependency as e:
        sys.stderr.write(f"gradkit run {args.name}: {e}\n")
        return 2
    return _guarded(f"gradkit run {args.name}",
                    lambda: recipes.run(args.name, cfg, seed=args.seed, out=args.out,
                                        resume=args.resume, verbose=not args.quiet))


def _run_all(args) -> int:
    from . import recipes
    from .recipes import _scoreboard

    root = Path("runs") if args.out is None else Path(args.out)

    def action() -> int:
        failures = recipes.run_all(seed=args.seed, out=root, resume=args.resume,
                                   verbose=not args.quiet, smoke=args.smoke)
        text = _scoreboard.write(root, _scoreboard.collect(root, failures))
        print(f"\n{text}\n(written to {root / 'scoreboard.md'} and scoreboard.json)")
        if failures:
            sys.stderr.write(f"gradkit run all: {len(failures)} recipe(s) failed: "
                             f"{', '.join(failures)}\n")
            return 1
        return 0

    return _guarded("gradkit run all", action)


def _list() -> int:
    from . import recipes

    rows = [("recipe", "summary", "metric (goal)", "baseline")]
    for name in recipes.names():
        spec = recipes.get(name).SPEC
        rows.append((name, spec.summary, f"{spec.metric} ({spec.goal_text()})",
                     f"{spec.baseline} ({spec.baseline_source})"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[3])
    return 0


def _report(args) -> int:
    from .recipes import _report as report

    runs = Path(args.runs)
    if not report.has_runs(runs):
        sys.stderr.write(f"gradkit report: no recipe has run under {runs} yet; run "
                         f"'gradkit run all' (or --runs FOLDER) first\n")
        return 1
    if args.out is not None:
        problem = _out_problem(str(Path(args.out).parent), f"--out {args.out}")
        if problem is not None:
            sys.stderr.write(f"gradkit: {problem}\n")
            return 2

    def action() -> None:
        print(f"report written to {report.write(runs, args.out)}")

    return _guarded("gradkit report", action)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run as demo

        return _guarded("gradkit demo", demo)
    if args.command == "list":
        return _list()
    if args.command == "run":
        return _run(args)
    if args.command == "report":
        return _report(args)
    parser.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
