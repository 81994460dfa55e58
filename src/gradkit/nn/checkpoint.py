"""Atomic checkpoints: arrays in ``.npz``, everything else in JSON. Never pickle.

A checkpoint called ``name`` in ``directory`` is the pair ``name.npz`` (the arrays,
written by :func:`numpy.savez`, read back with ``allow_pickle=False``) and ``name.json``
(metadata, plus the SHA-256 of the ``.npz`` file it belongs to). Loading a pickle can
run arbitrary code; neither of these formats can.

Saving is atomic: both files are written to temporary files in the same directory
and flushed to disk, then renamed into place with :func:`os.replace`, the JSON last,
so the JSON's rename is the commit. The ``.npz`` being replaced is first renamed to
``name.prev.npz``, and the loader takes whichever of ``name.npz`` and
``name.prev.npz`` has the hash that ``name.json`` names. A crash (or a kill) at any
moment of a save therefore leaves either the previous checkpoint or the new one
loadable, never a mixture of the two.

:func:`save_training_state` and :func:`load_training_state` store and restore a whole
training run (parameters, optimiser state, buffers, generator, history, callbacks) in
that format; :class:`gradkit.nn.Trainer` calls them after each epoch and on resume.

Examples
--------
>>> import tempfile, numpy as np
>>> from gradkit.nn import checkpoint
>>> with tempfile.TemporaryDirectory() as d:
...     _ = checkpoint.save_checkpoint(d, {"w": np.arange(3.0)}, {"epoch": 1})
...     arrays, meta = checkpoint.load_checkpoint(d)
>>> arrays["w"], meta["epoch"]
(array([0., 1., 2.]), 1)
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import GradkitError
from ..graph import raw
from ..tree import tree_flatten

__all__ = ["save_checkpoint", "load_checkpoint", "checkpoint_exists", "tree_to_spec",
           "tree_from_spec", "CheckpointError", "save_training_state", "load_training_state",
           "TrainingState"]

FORMAT = "gradkit.nn.checkpoint"
VERSION = 1


class CheckpointError(GradkitError):
    """A checkpoint is missing a file, inconsistent, or not one of gradkit's."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on some platforms (Windows); the renames still are atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temp(directory: Path, name: str, suffix: str) -> Path:
    fd, path = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=f"{suffix}.tmp")
    os.close(fd)
    return Path(path)


def _write_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())


def _write_json(path: Path, doc: dict) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())


def save_checkpoint(directory, arrays: Mapping[str, object], meta: dict | None = None,
                    name: str = "checkpoint") -> Path:
    """Write ``arrays`` and ``meta`` atomically as ``directory/name.npz`` + ``name.json``.

    Parameters
    ----------
    directory : str or path
        Created if missing.
    arrays : mapping of str to array
        Numeric or boolean arrays (object arrays are refused: they would need pickle).
    meta : dict, optional
        JSON-serialisable metadata (ints of any size, floats, strings, lists, dicts).
    name : str, default "checkpoint"

    Returns
    -------
    Path
        The JSON file.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    clean = {}
    for key, value in arrays.items():
        arr = np.asarray(raw(value))
        if arr.dtype.hasobject:
            raise CheckpointError(f"save_checkpoint: array {key!r} has dtype object, which "
                                  f"cannot be saved without pickle")
        clean[str(key)] = arr
    for stale in directory.glob(f".{name}.*.tmp"):  # left by an earlier crash
        stale.unlink(missing_ok=True)
    npz, js = directory / f"{name}.npz", directory / f"{name}.json"
    prev = directory / f"{name}.prev.npz"
    tmp_npz = _temp(directory, name, ".npz")
    tmp_json = _temp(directory, name, ".json")
    try:
        _write_npz(tmp_npz, clean)
        doc = {
            "format": FORMAT, "version": VERSION, "npz": npz.name,
            "sha256": _sha256(tmp_npz),
            "arrays": {k: {"shape": list(a.shape), "dtype": a.dtype.str} for k, a in
                       clean.items()},
            "meta": {} if meta is None else meta,
        }
        try:
            _write_json(tmp_json, doc)
        except (TypeError, ValueError) as e:
            raise CheckpointError(f"save_checkpoint: metadata is not JSON-serialisable: "
                                  f"{e}") from e
        if npz.exists():
            os.replace(npz, prev)  # json still names this one: the old pair stays loadable
        os.replace(tmp_npz, npz)
        os.replace(tmp_json, js)  # the commit
        _fsync_dir(directory)
    finally:
        tmp_npz.unlink(missing_ok=True)
        tmp_json.unlink(missing_ok=True)
    prev.unlink(missing_ok=True)
    _fault_point()
    return js


_saves_in_process = 0


def _fault_point() -> None:
    """Fault injection for resume tests: ``GRADKIT_FAULT_KILL_AFTER_SAVES=k`` in the
    environment kills this process with SIGKILL right after its k-th committed save, so a
    test can stop a run at a chosen point and check that resuming it loses nothing."""
    global _saves_in_process
    _saves_in_process += 1
    target = os.environ.get("GRADKIT_FAULT_KILL_AFTER_SAVES")
    if target and target.strip() == str(_saves_in_process):
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))


def checkpoint_exists(directory, name: str = "checkpoint") -> bool:
    """Whether ``directory`` holds a committed checkpoint (its JSON file)."""
    return (Path(directory) / f"{name}.json").is_file()


def load_checkpoint(directory, name: str = "checkpoint"):
    """Read the checkpoint ``name`` from ``directory``.

    Returns
    -------
    (dict of str to numpy.ndarray, dict) or None
        The arrays and the metadata, or None when the directory holds no committed
        checkpoint (no ``name.json``: nothing was ever fully saved there).

    Raises
    ------
    CheckpointError
        When no ``.npz`` file matches the hash the JSON names, or the files are not a
        gradkit checkpoint.
    """
    directory = Path(directory)
    js = directory / f"{name}.json"
    if not js.is_file():
        return None
    try:
        doc = json.loads(js.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CheckpointError(f"load_checkpoint: cannot read {js}: {e}") from e
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointError(f"load_checkpoint: {js} is not a gradkit checkpoint")
    if doc.get("version") != VERSION:
        raise CheckpointError(f"load_checkpoint: {js} has version {doc.get('version')}, this "
                              f"gradkit reads version {VERSION}")
    for candidate in (directory / f"{name}.npz", directory / f"{name}.prev.npz"):
        if candidate.is_file() and _sha256(candidate) == doc["sha256"]:
            break
    else:
        raise CheckpointError(f"load_checkpoint: no .npz file in {directory} matches {js} "
                              f"(sha256 {doc['sha256'][:12]}...): the arrays are missing or "
                              f"were modified")
    with np.load(candidate, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    if set(arrays) != set(doc["arrays"]):
        raise CheckpointError(f"load_checkpoint: {candidate} holds arrays {sorted(arrays)}, "
                              f"{js} lists {sorted(doc['arrays'])}")
    return {k: arrays[k] for k in doc["arrays"]}, doc["meta"]


# -- pytrees as JSON + leaves -------------------------------------------------------------------

_SCALARS = {bool: "bool", int: "int", float: "float"}


def tree_to_spec(tree) -> tuple[object, list[np.ndarray]]:
    """A JSON-serialisable description of a pytree and its leaves as arrays.

    Containers are dicts (with string keys), lists, tuples and None. Leaves are arrays,
    NumPy scalars or Python ``bool``/``int``/``float``; :func:`tree_from_spec` gives each
    back with its type.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit.nn.checkpoint import tree_to_spec, tree_from_spec
    >>> spec, leaves = tree_to_spec({"step": 3, "m": [np.zeros(2), None]})
    >>> spec
    {'dict': [['step', {'leaf': 'int'}], ['m', {'list': [{'leaf': 'array'}, None]}]]}
    >>> tree_from_spec(spec, leaves)
    {'step': 3, 'm': [array([0., 0.]), None]}
    """
    leaves: list[np.ndarray] = []

    def encode(t):
        kind = type(t)
        if t is None:
            return None
        if kind is dict:
            for k in t:
                if not isinstance(k, str):
                    raise CheckpointError(f"tree_to_spec: dict keys must be strings, got "
                                          f"{k!r}")
            return {"dict": [[k, encode(v)] for k, v in t.items()]}
        if kind is list:
            return {"list": [encode(v) for v in t]}
        if kind is tuple:
            return {"tuple": [encode(v) for v in t]}
        if isinstance(t, tuple | list | dict):
            raise CheckpointError(f"tree_to_spec: cannot store a {kind.__name__} (only dict, "
                                  f"list and tuple containers)")
        arr = np.asarray(raw(t))
        if arr.dtype.hasobject:
            raise CheckpointError(f"tree_to_spec: leaf of type {kind.__name__} is not numeric")
        leaves.append(arr)
        if kind in _SCALARS:
            return {"leaf": _SCALARS[kind]}
        return {"leaf": "scalar" if isinstance(t, np.generic) else "array"}

    return encode(tree), leaves


def tree_from_spec(spec, leaves):
    """Rebuild the pytree described by :func:`tree_to_spec` from its leaves."""
    it = iter(leaves)

    def decode(s):
        if s is None:
            return None
        if "dict" in s:
            return {k: decode(v) for k, v in s["dict"]}
        if "list" in s:
            return [decode(v) for v in s["list"]]
        if "tuple" in s:
            return tuple(decode(v) for v in s["tuple"])
        arr = next(it)
        kind = s["leaf"]
        if kind == "bool":
            return bool(arr)
        if kind == "int":
            return int(arr)
        if kind == "float":
            return float(arr)
        if kind == "scalar":
            return arr[()]
        return arr

    try:
        out = decode(spec)
    except (StopIteration, KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"tree_from_spec: the description does not match the leaves "
                              f"({e!r})") from e
    if next(it, None) is not None:
        raise CheckpointError("tree_from_spec: more leaves than the description has places")
    return out


# -- the state of a training run --------------------------------------------------------------


class TrainingState(NamedTuple):
    """What :func:`load_training_state` restores; the model already holds ``params``."""

    params: dict
    opt_state: object
    rng_state: dict
    history: list
    epoch: int
    stopped: bool


def save_training_state(directory, *, model, params: Mapping, opt_state, rng, epoch: int,
                        step: int, history: list, seed: int, batch_size: int, stopped: bool,
                        callbacks: Sequence = ()) -> Path:
    """Checkpoint a training run (as :class:`gradkit.nn.Trainer` does after each epoch).

    ``checkpoint.npz`` gets the parameters (``params/<name>``), the leaves of the
    optimiser state (``opt/<i>``) and the model's buffers (``buffers/<name>``);
    ``checkpoint.json`` the epoch, step, seed, batch size, whether training was stopped,
    the history, the generator's ``bit_generator.state``, the parameter names, the
    optimiser state's tree structure and the callbacks' ``state_dict()`` (None for those
    without one). Written atomically by :func:`save_checkpoint`.

    Returns
    -------
    Path
        The JSON file.
    """
    spec, leaves = tree_to_spec(opt_state)
    arrays = {f"params/{k}": v for k, v in params.items()}
    arrays.update({f"opt/{i}": leaf for i, leaf in enumerate(leaves)})
    arrays.update({f"buffers/{k}": v for k, v in model.named_buffers()})
    states = [cb.state_dict() if hasattr(cb, "state_dict") else None for cb in callbacks]
    meta = {
        "epoch": epoch, "step": step, "seed": int(seed), "batch_size": batch_size,
        "stopped": stopped, "history": history, "rng": rng.bit_generator.state,
        "params": list(params), "opt_state": spec, "callbacks": states,
    }
    return save_checkpoint(Path(directory), arrays, meta)


def load_training_state(directory, model, fresh_opt_state, *, seed: int, batch_size: int,
                        callbacks: Sequence = (),
                        where: str = "load_training_state") -> TrainingState | None:
    """Restore a run saved by :func:`save_training_state`, or None if there is none.

    Checks that the checkpoint continues this run (same ``seed`` and ``batch_size``, the
    model's parameter names, the structure of ``fresh_opt_state``, a freshly initialised
    state of this optimiser), then loads the parameters and buffers into ``model`` and
    each callback's state into it (``load_state_dict``). ``where`` starts the error
    messages.

    Raises
    ------
    gradkit.GradkitError
        When the checkpoint belongs to a different run, model or optimiser.
    CheckpointError
        When the files are damaged (see :func:`load_checkpoint`).
    """
    found = load_checkpoint(Path(directory))
    if found is None:
        return None
    arrays, meta = found
    where = f"{where} from {directory}"
    if meta.get("seed") != int(seed) or meta.get("batch_size") != batch_size:
        raise GradkitError(f"{where}: the checkpoint was made with seed={meta.get('seed')}, "
                           f"batch_size={meta.get('batch_size')}; resuming with seed={seed}, "
                           f"batch_size={batch_size} would not reproduce the run")
    names = [name for name, _ in model.named_parameters()]
    if meta["params"] != names:
        raise GradkitError(f"{where}: the checkpoint has parameters {meta['params']}, the "
                           f"model has {names}")
    params = {k: arrays[f"params/{k}"] for k in names}
    model.load_state_dict(params, strict=False)  # checks shapes
    buffers = {k[len("buffers/"):]: v for k, v in arrays.items() if k.startswith("buffers/")}
    if buffers:
        model.load_state_dict(buffers, strict=False)
    leaves = [arrays[f"opt/{i}"] for i in range(sum(k.startswith("opt/") for k in arrays))]
    opt_state = tree_from_spec(meta["opt_state"], leaves)
    if tree_flatten(opt_state)[1] != tree_flatten(fresh_opt_state)[1]:
        raise GradkitError(f"{where}: the checkpointed optimiser state does not have the "
                           f"structure of this optimiser's state (a different optimiser?)")
    for cb, state in zip(callbacks, meta.get("callbacks") or []):
        if state is not None and hasattr(cb, "load_state_dict"):
            cb.load_state_dict(state)
    return TrainingState(params, opt_state, meta["rng"], meta["history"], int(meta["epoch"]),
                         bool(meta["stopped"]))
