"""Harness shared by the benchmark scripts in bench/ (autodiff.py, train.py).

A script imports this module first and calls ``prepare_environment()`` before it imports
NumPy or PyTorch. So that this works, importing this module loads neither: its top level
imports only the standard library and threadpoolctl (which loads no BLAS), and the
helpers that need NumPy import it when they are called.
"""

import argparse
import importlib.metadata
import os
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

try:
    import threadpoolctl
except ImportError:
    threadpoolctl = None

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
BLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
REEXEC_MARK = "GRADKIT_BENCH_REMOVED_ENV"


def prepare_environment() -> None:
    """Pin every thread pool to 1 thread and drop the OpenBLAS overrides.

    Must run before NumPy (and so OpenBLAS) or PyTorch is loaded. Some machines set the
    overrides for old OpenBLAS builds, and they make a current NumPy pick slow kernels.
    OpenBLAS reads them when it loads, so the process re-executes itself without them to
    be certain no library saw them (``print_environment`` reports it).
    """
    for var in THREAD_VARS:
        os.environ[var] = "1"
    removed = [f"{v}={os.environ.pop(v)}" for v in BLAS_OVERRIDES if v in os.environ]
    if removed:
        os.environ[REEXEC_MARK] = " ".join(removed)
        sys.stdout.flush()
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def limit_torch_threads(torch) -> None:
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only allowed before any inter-op work has started
        pass


def quick_requested(description: str) -> bool:
    """Parse the command line, whose only option is ``--quick``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="fewer repeats (rougher numbers)")
    return parser.parse_args().quick


def run_single_threaded(main: Callable[[], None]) -> None:
    if threadpoolctl is not None:
        with threadpoolctl.threadpool_limits(limits=1):
            main()
    else:
        main()


# --------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------


@dataclass
class TimingConfig:
    min_time: float  # seconds of timed calls per cell
    min_repeats: int
    max_repeats: int
    warmup_time: float = 0.0  # median_ms: seconds of untimed calls first ...
    min_warmup: int = 0  # ... and at least this many of them
    warmup_calls: int = 0  # interleaved_medians: untimed calls of each fn first


def median_ms(fn: Callable[[], object], cfg: TimingConfig) -> float:
    """Median wall time of ``fn()`` in milliseconds, after warm-up calls."""
    start = time.perf_counter()
    for i in range(cfg.max_repeats):
        fn()
        if i + 1 >= cfg.min_warmup and time.perf_counter() - start >= cfg.warmup_time:
            break
    times: list[float] = []
    total = 0.0
    while len(times) < cfg.max_repeats and (len(times) < cfg.min_repeats or total < cfg.min_time):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        times.append(dt)
        total += dt
    return statistics.median(times) * 1e3


def _each_after_each(n: int) -> list[int]:
    """A cyclic order of 0..n-1 in which every k follows every other j exactly once.

    An Euler circuit of the complete directed graph on n nodes (Hierholzer's walk): each
    function is called n - 1 times per cycle, once right after each of the others.
    """
    if n == 1:
        return [0]
    left = {a: [b for b in range(n) if b != a] for a in range(n)}
    stack, walk = [0], []
    while stack:
        if left[stack[-1]]:
            stack.append(left[stack[-1]].pop())
        else:
            walk.append(stack.pop())
    return walk[::-1][:-1]  # a closed walk: the last step returns to where it began


def interleaved_medians(fns: dict[str, Callable[[], object]], cfg: TimingConfig,
                        burst: int = 1) -> dict[str, float | str]:
    """Median milliseconds of each ``fn()``, its calls interleaved with the others'.

    The calls follow a cycle in which every function comes right after every other
    function equally often: a call right after a peer that evicted the caches is slower,
    and an order that put one function always after the same peer would charge that peer
    to it. ``cfg``'s repeats count the calls of each function; whole cycles are timed.

    With ``burst`` > 1 each function is called ``burst`` times back to back and the calls
    after the first are kept: the steady state of a function called repeatedly (a
    training loop), its caches warm, still interleaved against the machine's drift.
    """
    times: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        for _ in range(cfg.warmup_calls):
            fn()
    items = list(fns.items())
    cycle = [items[k] for k in _each_after_each(len(items))]
    while True:
        for name, fn in cycle:
            for k in range(burst):
                t0 = time.perf_counter()
                fn()
                if k or burst == 1:
                    times[name].append(time.perf_counter() - t0)
        done = min(len(t) for t in times.values())
        if done >= cfg.max_repeats or (
                done >= cfg.min_repeats and min(sum(t) for t in times.values()) >= cfg.min_time):
            break
    return {k: statistics.median(t) * 1e3 for k, t in times.items()}


# --------------------------------------------------------------------------------------
# Checking
# --------------------------------------------------------------------------------------


class CheckError(AssertionError):
    """A library's result disagrees with the hand-written NumPy one."""


def _leaves(tree) -> list:
    import numpy as np

    if isinstance(tree, list | tuple):
        return [leaf for item in tree for leaf in _leaves(item)]
    if isinstance(tree, dict):
        return [leaf for key in sorted(tree) for leaf in _leaves(tree[key])]
    return [np.asarray(tree)]


def dtypes_of(tree) -> set[str]:
    return {str(leaf.dtype) for leaf in _leaves(tree)}


def assert_close(got, want, rtol: float, *, check_dtype: bool = False) -> None:
    """Each leaf of ``got`` equals that of ``want`` up to ``rtol`` times the leaf's max-abs.

    With ``check_dtype``, each leaf must also have the dtype of ``want``'s.
    """
    import numpy as np

    got_leaves, want_leaves = _leaves(got), _leaves(want)
    if len(got_leaves) != len(want_leaves):
        raise CheckError(f"{len(got_leaves)} result arrays, expected {len(want_leaves)}")
    for i, (g, w) in enumerate(zip(got_leaves, want_leaves)):
        if g.shape != w.shape:
            raise CheckError(f"result {i}: shape {g.shape}, expected {w.shape}")
        if check_dtype and g.dtype != w.dtype:
            raise CheckError(f"result {i}: dtype {g.dtype}, expected {w.dtype}")
        scale = max(float(np.max(np.abs(w), initial=0.0)), 1e-30)
        err = float(np.max(np.abs(g.astype(np.float64) - w), initial=0.0)) / scale
        if not err <= rtol:
            raise CheckError(f"result {i}: max error {err:.2e} of max |value|, tolerance {rtol}")


def last_lines(exc: BaseException, n: int = 6) -> str:
    lines = "".join(traceback.format_exception(exc)).rstrip().splitlines()
    return "\n".join("      " + line for line in lines[-n:])


# --------------------------------------------------------------------------------------
# Cases and the table
# --------------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    rtol: float
    setups: dict[str, Callable[[], tuple]]  # column -> () -> (result to check, timed fn)
    cells: dict[str, float | str] = field(default_factory=dict)


def run_cases(cases: list, run_case: Callable[..., None], cfg: TimingConfig) -> list[str]:
    """Call ``run_case(case, cfg, notes)`` for each case, print how long it took; the notes."""
    notes: list[str] = []
    started = time.perf_counter()
    for case in cases:
        run_case(case, cfg, notes)
    print(f"\n(measured in {time.perf_counter() - started:.0f} s)\n")
    return notes


def fmt_ms(cell: float | str, decimals: int = 3) -> str:
    return f"{cell:.{decimals}f}" if isinstance(cell, float) else cell


def fmt_ratio(num: float | str, den: float | str) -> str:
    if isinstance(num, float) and isinstance(den, float):
        return f"{num / den:.2f}x"
    return "-"


def print_rows(headers: list[str], rows: list[list[str]]) -> None:
    """A table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        return "  ".join([first, *(s.rjust(w) for s, w in zip(cells[1:], widths[1:]))])

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


def print_notes(notes: list[str]) -> None:
    if notes:
        print("\nnotes:")
        for note in notes:
            print(f"  - {note}")


# --------------------------------------------------------------------------------------
# Environment report
# --------------------------------------------------------------------------------------


def version_of(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def print_environment(libraries: Iterable[tuple[str, str]], import_errors: dict[str, str],
                      torch, timing: str) -> None:
    """Report the re-exec, versions (``libraries``: (name, distribution) pairs), thread
    pools, and then the line ``timing`` that describes the timing protocol."""
    import numpy as np

    if os.environ.get(REEXEC_MARK):
        print(f"removed {os.environ[REEXEC_MARK]} from the environment and re-executed, so that")
        print("  OpenBLAS loaded without them (they make current NumPy pick slow kernels)")
    print(f"Python {sys.version.split()[0]}, NumPy {np.__version__}")
    for name, dist in libraries:
        status = import_errors.get(name)
        print(f"{name}: {version_of(dist) if status is None else 'n/a (' + status + ')'}")
    threads = ", ".join(f"{v}={os.environ[v]}" for v in THREAD_VARS)
    torch_threads = f", torch.get_num_threads()={torch.get_num_threads()}" if torch else ""
    print(f"all libraries on 1 thread: {threads}{torch_threads}")
    if threadpoolctl is not None:
        for pool in threadpoolctl.threadpool_info():
            extra = f", architecture {pool['architecture']}" if "architecture" in pool else ""
            print(
                f"  threadpoolctl: {pool['internal_api']} {pool.get('version')}"
                f" ({os.path.basename(pool['filepath'])}), {pool['num_threads']} thread(s){extra}"
            )
    print(timing)
