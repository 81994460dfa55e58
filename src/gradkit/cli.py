"""The ``gradkit`` command line: ``gradkit demo``, ``gradkit run NAME``."""

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
    run = sub.add_parser("run", help="run a recipe on bundled data")
    run.add_argument("name", help="recipe name")
    run.add_argument("--epochs", type=int, default=None)
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--out", default=None, help="output folder (default runs/NAME)")
    run.add_argument("--resume", action="store_true")
    return parser


def _recipes() -> dict:
    try:
        from .recipes import RECIPES
    except ImportError as e:  # the optional extra is missing
        sys.stderr.write(f"gradkit: recipes need the 'recipes' extra ({e.name} is missing): "
                         f"pip install 'gradkit[recipes]'\n")
        raise SystemExit(2) from e
    return RECIPES


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


def _argument_problem(args, recipes: dict) -> str | None:
    if args.name not in recipes:
        return f"unknown recipe '{args.name}' (known: {', '.join(sorted(recipes))})"
    if args.epochs is not None and args.epochs < 1:
        return f"--epochs must be at least 1, got {args.epochs}"
    if not 0 <= args.seed <= MAX_SEED:
        return f"--seed must be an integer from 0 to {MAX_SEED} (NumPy's seed range), got " \
               f"{args.seed}"
    if args.out is not None:
        return _out_problem(args.out, f"--out {args.out}")
    default = Path("runs") / args.name
    return _out_problem(str(default), f"the default output folder {default} (choose another "
                                      f"with --out)")


def _one_line(exc: BaseException) -> str:
    """The cause of a failure, on one line."""
    text = " ".join(str(exc).split())
    if isinstance(exc, OSError) and exc.strerror:
        where = exc.filename if exc.filename is not None else ""
        text = f"{exc.strerror}: {where}" if where else exc.strerror
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _guarded(label: str, action) -> int:
    """Run ``action``; a failure is one line on stderr and exit status 1, not a traceback.

    ``GRADKIT_TRACEBACK=1`` in the environment lets the traceback through, for debugging.
    """
    from .errors import GradkitError

    try:
        action()
    except KeyboardInterrupt:
        sys.stderr.write(f"{label}: interrupted\n")
        return 130
    except Exception as e:
        if os.environ.get("GRADKIT_TRACEBACK"):
            raise
        if isinstance(e, GradkitError):
            sys.stderr.write(f"{label}: {' '.join(str(e).split())}\n")
        elif isinstance(e, OSError):
            sys.stderr.write(f"{label}: cannot read or write a file ({_one_line(e)})\n")
        else:
            sys.stderr.write(f"{label}: failed ({_one_line(e)}; set GRADKIT_TRACEBACK=1 "
                             f"to see where)\n")
        return 1
    return 0


def _run_recipe(args) -> int:
    recipes = _recipes()
    problem = _argument_problem(args, recipes)
    if problem is not None:
        sys.stderr.write(f"gradkit: {problem}\n")
        return 2
    return _guarded(f"gradkit run {args.name}",
                    lambda: recipes[args.name](epochs=args.epochs, seed=args.seed,
                                               out=args.out, resume=args.resume))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run as demo

        return _guarded("gradkit demo", demo)
    if args.command == "run":
        return _run_recipe(args)
    parser.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
