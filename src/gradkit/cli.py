"""The ``gradkit`` command line: ``gradkit demo``, ``gradkit run NAME``."""

from __future__ import annotations

import argparse
import sys

KNOWN_RECIPES = ("diagnosis", "mlp", "cnn")


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


def _run_recipe(args) -> int:
    recipes = _recipes()
    if args.name not in recipes:
        sys.stderr.write(f"gradkit: unknown recipe '{args.name}' "
                         f"(known: {', '.join(sorted(recipes))})\n")
        return 2
    if args.epochs is not None and args.epochs < 1:
        sys.stderr.write(f"gradkit: --epochs must be at least 1, got {args.epochs}\n")
        return 2
    from .errors import GradkitError

    try:
        recipes[args.name](epochs=args.epochs, seed=args.seed, out=args.out,
                           resume=args.resume)
    except GradkitError as e:
        sys.stderr.write(f"gradkit run {args.name}: {e}\n")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run as demo

        demo()
        return 0
    if args.command == "run":
        return _run_recipe(args)
    parser.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
