"""Functional transforms with JAX's names and signatures.

``grad``, ``value_and_grad``, ``vjp``, ``jvp``, ``jacobian`` (``jacrev``, ``jacfwd``),
``hessian`` and ``elementwise_grad``. Arguments and outputs may be pytrees. All input
checking happens here, at the public boundary, so that the operations themselves
carry no per-call validation.

Forward mode uses the double-VJP trick: ``u -> vjp_fn(u)`` is linear, and its own
VJP with cotangent ``v`` is the JVP ``J v``. A leading batch axis on the
(co)tangents lets ``jacobian`` and ``hessian`` push every basis vector through one
pass instead of a Python loop.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence

from . import ops
from ._rules import _dtype, _shape
from .backend import (
    array_of,
    dtype_kind,
    eye_like_library,
    ones_like_library,
    standard_only,
    xp,
    zeros_like_library,
)
from .errors import (
    InputTypeError,
    NonScalarOutputError,
    OutputTypeError,
    ShapeMismatchError,
)
from .graph import CONST, Tensor, _box, backward_pass, leaf, new_trace, plain, raw
from .tree import tree_flatten, tree_unflatten

__all__ = ["grad", "value_and_grad", "vjp", "jvp", "jacobian", "jacrev", "jacfwd",
           "hessian", "elementwise_grad"]


# -- boundary checks ----------------------------------------------------------------------


def _as_input(x, where):
    """An argument to differentiate: a float array, or a box of an enclosing trace.

    ``where`` is a callable giving the argument's description, built only on error.
    """
    if type(x) is Tensor:
        if x._trace != CONST:
            if dtype_kind(x.dtype) != "f":
                raise InputTypeError(f"{where()} has dtype {x.dtype}; only floating-point "
                                     f"inputs can be differentiated")
            return x
        x = x._value
    if type(x) is xp.ndarray:
        value = x
    else:
        try:
            value = array_of(x)
        except (ValueError, TypeError) as e:
            raise InputTypeError(f"{where()} is a {type(x).__name__}, not an array: {e}") from e
    kind = dtype_kind(value.dtype)
    if kind != "f":
        if kind == "c":
            raise InputTypeError(f"{where()} is complex ({value.dtype}); gradkit "
                                 f"differentiates real functions of real inputs")
        if kind == "O":
            raise InputTypeError(f"{where()} is a {type(x).__name__}, not a numeric array")
        label = "integer" if kind in "iub" else "non-numeric"
        hint = " (write 3.0, not 3, or use x.astype(float))" if kind in "iu" else ""
        raise InputTypeError(f"{where()} has {label} dtype {value.dtype}; only floating-point "
                             f"inputs can be differentiated{hint}")
    return value


def _check_output(out, where: str):
    if type(out) is Tensor:
        return out
    if isinstance(out, xp.ndarray | xp.generic | float | int) and not isinstance(out, bool):
        value = array_of(out)
        if xp.issubdtype(value.dtype, xp.number):
            return value
    kind = type(out).__name__
    if isinstance(out, xp.ndarray):
        kind += f" of dtype {out.dtype}"
    raise OutputTypeError(f"{where} returned {kind}; it must return a numeric array")


def _check_transform(fun, argnums, name: str) -> None:
    """Checks of a transform's own arguments, made when the transform is created."""
    if not callable(fun):
        raise InputTypeError(f"{name}: fun must be callable, got {type(fun).__name__}")
    ok = isinstance(argnums, int | xp.integer) and not isinstance(argnums, bool)
    if not ok and isinstance(argnums, Sequence) and not isinstance(argnums, str):
        ok = all(isinstance(i, int | xp.integer) and not isinstance(i, bool) for i in argnums)
    if not ok:
        raise InputTypeError(f"{name}: argnums must be an int or a sequence of ints, got "
                             f"{argnums!r}")


def _argnums(argnums, nargs: int, where: str) -> tuple[tuple, bool]:
    single = isinstance(argnums, int | xp.integer)
    nums = (int(argnums),) if single else tuple(int(i) for i in argnums)
    for i in nums:
        if not -nargs <= i < nargs:
            raise InputTypeError(f"{where}: argnums={argnums} but the function was called "
                                 f"with {nargs} positional arguments")
    return tuple(i % nargs for i in nums), single


# -- the engine shared by every transform --------------------------------------------------


class _Traced:
    """One call of a function with some arguments boxed in a fresh trace."""

    def __init__(self, f: Callable, args: Sequence, kwargs: dict, argnums: tuple,
                 where: str):
        self.trace = new_trace()
        # A repeated argnum is one input: trace it once, hand its gradient out twice.
        self.argnums = argnums
        argnums = self.uniq = tuple(dict.fromkeys(argnums))
        dyn = tuple(args[i] for i in argnums)
        flat, self.in_def = tree_flatten(dyn)
        def describe(k):
            return lambda: (f"{where}: argument {argnums[0] if len(argnums) == 1 else argnums}"
                            f"{'' if len(flat) == 1 else f' (leaf {k})'}")

        self.in_values = [_as_input(x, describe(k)) for k, x in enumerate(flat)]
        self.boxes = [leaf(v, self.trace) for v in self.in_values]
        boxed = tree_unflatten(self.in_def, self.boxes)
        call_args = list(args)
        for i, sub in zip(argnums, boxed):
            call_args[i] = sub
        self.out = f(*call_args, **kwargs)
        self.where = where

    def expand(self, per_input) -> tuple:
        """Per-argument results in the order of argnums, repeats included."""
        return _in_argnum_order(per_input, self.uniq, self.argnums)

    def split_aux(self):
        if not (isinstance(self.out, tuple) and len(self.out) == 2):
            raise OutputTypeError(f"{self.where}: has_aux=True needs the function to return "
                                  f"a pair (output, aux), got {type(self.out).__name__}")
        self.out, aux = self.out
        return _strip(aux, self.trace)

    def outputs(self) -> tuple[list, object]:
        flat, out_def = tree_flatten(self.out)
        if not flat:
            got = "None" if self.out is None else f"an empty {type(self.out).__name__}"
            raise OutputTypeError(f"{self.where}: the function returned {got}; it must "
                                  f"return a numeric array")
        return [_check_output(o, self.where) for o in flat], out_def

    def pullback(self, outs: list, cts: list) -> list:
        """Cotangents of the inputs, given cotangents of the outputs ``outs``."""
        grads = _backprop([(o, ct) for o, ct in zip(outs, cts)
                           if type(o) is Tensor and o._trace == self.trace], self.trace)
        batch = _batch_shape(cts, outs)
        result = []
        for box, value in zip(self.boxes, self.in_values):
            ct = grads.get(id(box))
            dtype = _dtype(value)
            if ct is None:
                ct = zeros_like_library(value, batch + _shape(value), dtype)
            elif _dtype(ct) != dtype:
                ct = ops.astype(ct, dtype)
            result.append(ct)
        return result


def _in_argnum_order(per_input, uniq: tuple, argnums: tuple) -> tuple:
    if uniq == argnums:
        return tuple(per_input)
    return tuple(per_input[uniq.index(i)] for i in argnums)


def _batch_shape(cts, outs) -> tuple:
    for ct, o in zip(cts, outs):
        nb = len(_shape(ct)) - len(_shape(o))
        return tuple(_shape(ct)[:nb])
    return ()


def _backprop(pairs: list, trace: int) -> dict:
    """Run one backward pass from several (output, cotangent) pairs of one trace."""
    if not pairs:
        return {}
    if len(pairs) == 1:
        return backward_pass(pairs[0][0], pairs[0][1])[0]
    return backward_pass(_root(pairs, trace), True)[0]


def _root(pairs, trace):
    """A node whose parents are all the outputs: one backward pass serves them all."""
    cts = [ct for _, ct in pairs]

    def joint(g, node):
        return cts

    return _box(None, trace, _RootPrim(joint), tuple(enumerate(o for o, _ in pairs)), (), {})


class _RootPrim:
    __name__ = "outputs"
    vjps = ()

    def __init__(self, joint):
        self.joint = joint


def _strip(tree, trace):
    """Unbox the values of ``trace`` in an output pytree."""
    flat, d = tree_flatten(tree)
    return tree_unflatten(d, [o._value if type(o) is Tensor and o._trace == trace else o
                              for o in flat])


# -- transforms ---------------------------------------------------------------------------


def value_and_grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False):
    """A function that returns ``fun``'s value and its gradient.

    Parameters
    ----------
    fun : callable
        Returns a scalar (or ``(scalar, aux)`` with ``has_aux``).
    argnums : int or sequence of int, default 0
        Which positional arguments to differentiate. With a sequence, the gradient is a
        tuple with one entry per argument.
    has_aux : bool, default False
        ``fun`` returns a pair ``(output, aux)``; ``aux`` is returned undifferentiated.

    Returns
    -------
    callable
        ``(value, grad)``, or ``((value, aux), grad)`` with ``has_aux``.

    Examples
    --------
    >>> import gradkit as gk
    >>> gk.value_and_grad(lambda x: x ** 3)(2.0)
    (np.float64(8.0), np.float64(12.0))
    """

    _check_transform(fun, argnums, "grad")
    where = f"grad of {getattr(fun, '__name__', 'function')}"

    @functools.wraps(fun)
    def value_and_grad_f(*args, **kwargs):
        nums, single = _argnums(argnums, len(args), where)
        t = _Traced(fun, args, kwargs, nums, where)
        aux = t.split_aux() if has_aux else None
        outs, _ = t.outputs()
        if len(outs) != 1 or math.prod(_shape(outs[0])) != 1:
            shapes = [_shape(o) for o in outs]
            raise NonScalarOutputError(
                f"{where}: grad needs a function with scalar output, got "
                f"{'shape ' + str(shapes[0]) if len(shapes) == 1 else 'outputs ' + str(shapes)};"
                f" use jacobian, vjp or elementwise_grad for non-scalar outputs")
        out = outs[0]
        ct = ones_like_library(raw(out), _shape(out), _dtype(out))
        grads = t.expand(tree_unflatten(t.in_def, t.pullback([out], [ct])))
        value = _strip(out, t.trace)
        g = grads[0] if single else tuple(grads)
        return ((value, aux) if has_aux else value), g

    return value_and_grad_f


def grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False):
    """The gradient of a scalar-valued function.

    Parameters
    ----------
    fun : callable
        A function written with ``gradkit.numpy`` (or Tensor methods) returning a scalar.
    argnums : int or sequence of int, default 0
        Which positional arguments to differentiate.
    has_aux : bool, default False
        ``fun`` returns ``(output, aux)``; the gradient function then returns
        ``(grad, aux)``.

    Returns
    -------
    callable
        Same arguments as ``fun``; returns the gradient with the structure and dtype of
        the differentiated arguments.

    Examples
    --------
    >>> import gradkit as gk
    >>> gk.grad(lambda x: x ** 2)(3.0)
    np.float64(6.0)
    >>> gk.grad(gk.grad(lambda x: x ** 3))(2.0)
    np.float64(12.0)
    """
    vg = value_and_grad(fun, argnums, has_aux)

    @functools.wraps(fun)
    def grad_f(*args, **kwargs):
        (value, g) = vg(*args, **kwargs)
        if has_aux:
            return g, value[1]
        return g

    return grad_f


def vjp(fun: Callable, *primals, has_aux: bool = False):
    """Evaluate ``fun`` and return its vector-Jacobian product function.

    Returns
    -------
    out, vjp_fn
        ``vjp_fn(cotangent)`` takes a cotangent with the structure of ``out`` and returns
        a tuple with one cotangent per primal. With ``has_aux``: ``out, vjp_fn, aux``.

    Examples
    --------
    >>> import gradkit as gk, gradkit.numpy as gnp
    >>> out, f_vjp = gk.vjp(gnp.sin, 0.0)
    >>> f_vjp(2.0)
    (np.float64(2.0),)
    """
    _check_transform(fun, 0, "vjp")
    out, pull, aux, _ = _vjp(fun, primals, has_aux=has_aux, batched=False)
    return (out, pull, aux) if has_aux else (out, pull)


def _vjp(fun, primals, has_aux=False, batched=False, where="vjp"):
    t = _Traced(fun, primals, {}, tuple(range(len(primals))), where)
    aux = t.split_aux() if has_aux else None
    outs, out_def = t.outputs()
    out = tree_unflatten(out_def, [_strip(o, t.trace) for o in outs])

    def vjp_fn(cotangent):
        cts, ct_def = tree_flatten(cotangent)
        if ct_def != out_def:
            raise ShapeMismatchError(f"{where}: the cotangent's structure does not match the "
                                     f"output's")
        cts = [_cotangent(ct, o, batched, where) for ct, o in zip(cts, outs)]
        grads = t.pullback(outs, cts)
        return tuple(tree_unflatten(t.in_def, grads))

    return out, vjp_fn, aux, t


def _cotangent(ct, out, batched: bool, where: str):
    ct_value = ct if type(ct) is Tensor else array_of(ct)
    cs, os_ = _shape(ct_value), _shape(out)
    ok = cs == os_ or (batched and cs[len(cs) - len(os_):] == os_ and len(cs) > len(os_))
    if not ok:
        raise ShapeMismatchError(f"{where}: cotangent has shape {cs}, the output has shape "
                                 f"{os_}")
    if type(ct_value) is not Tensor and ct_value.dtype != _dtype(out):
        ct_value = ct_value.astype(_dtype(out))
    return ct_value


def jvp(fun: Callable, primals: Sequence, tangents: Sequence):
    """Evaluate ``fun`` and its Jacobian-vector product (forward mode).

    Parameters
    ----------
    fun : callable
    primals : tuple
        The arguments at which to evaluate.
    tangents : tuple
        One tangent per primal, with the same shapes.

    Returns
    -------
    out, tangent_out

    Examples
    --------
    >>> import gradkit as gk, gradkit.numpy as gnp
    >>> gk.jvp(gnp.exp, (0.0,), (3.0,))
    (np.float64(1.0), np.float64(3.0))
    """
    _check_transform(fun, 0, "jvp")
    return _jvp(fun, tuple(primals), tuple(tangents), batched=False)


def _jvp(fun, primals, tangents, batched, where="jvp"):
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise InputTypeError(f"{where}: primals and tangents must be tuples")
    p_flat, p_def = tree_flatten(primals)
    t_flat, t_def = tree_flatten(tangents)
    if p_def != t_def:
        raise ShapeMismatchError(f"{where}: tangents must have the structure of primals")
    out, _, _, t = _vjp(fun, primals, batched=False, where=where)
    outs, out_def = t.outputs()
    tangents_in = []
    for k, (tan, value) in enumerate(zip(t_flat, t.in_values)):
        tv = tan if type(tan) is Tensor else array_of(tan, dtype=_dtype(value))
        ts, vs = _shape(tv), _shape(value)
        if not (ts == vs or (batched and ts[len(ts) - len(vs):] == vs)):
            raise ShapeMismatchError(f"{where}: tangent {k} has shape {ts}, its primal has "
                                     f"shape {vs}")
        tangents_in.append(tv)
    # Forward mode from reverse mode: x_bar(u) = J^T u is linear in u, and the VJP of
    # that map with cotangent v is J v.
    inner = new_trace()
    u_boxes = [leaf(zeros_like_library(raw(o), _shape(o), _dtype(o)), inner) for o in outs]
    x_bars = t.pullback(outs, u_boxes)
    grads = _backprop([(xb, tv) for xb, tv in zip(x_bars, tangents_in)
                       if type(xb) is Tensor and xb._trace == inner], inner)
    batch = _batch_shape(tangents_in, t.in_values)
    t_out = []
    for u, o in zip(u_boxes, outs):
        ct = grads.get(id(u))
        if ct is None:
            ct = zeros_like_library(raw(o), batch + _shape(o), _dtype(o))
        t_out.append(ct)
    return out, tree_unflatten(out_def, t_out)


def _flat_basis(shapes, dtypes, total: int, like) -> list:
    if standard_only(like):  # a library of the standard alone: no in-place scatter
        eye = eye_like_library(like, total, dtypes[0])
        starts = itertools.accumulate((math.prod(s) for s in shapes), initial=0)
        return [ops.reshape(eye[:, k:k + math.prod(s)], (total,) + tuple(s))
                for k, s in zip(starts, shapes)]
    eye_rows = []
    offset = 0
    for shape, dtype in zip(shapes, dtypes):
        n = math.prod(shape)
        block = xp.zeros((total, n), dtype=dtype)
        block[offset + xp.arange(n), xp.arange(n)] = 1
        eye_rows.append(block.reshape((total,) + tuple(shape)))
        offset += n
    return eye_rows


def jacobian(fun: Callable, argnums: int | Sequence[int] = 0, mode: str = "rev",
             has_aux: bool = False):
    """The Jacobian of ``fun``, all basis vectors pushed through one batched pass.

    Parameters
    ----------
    fun : callable
    argnums : int or sequence of int, default 0
    mode : {"rev", "fwd"}, default "rev"
        Reverse mode (one pass per output element, batched) suits few outputs; forward
        mode (one per input element, batched) suits few inputs.

    Returns
    -------
    callable
        For output leaf of shape ``O`` and input leaf of shape ``I``, an array of shape
        ``O + I``; pytrees nest as outputs, then inputs.

    Examples
    --------
    >>> import gradkit as gk, numpy as np
    >>> A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    >>> gk.jacobian(lambda x: A @ x)(np.zeros(2))
    array([[1., 2.],
           [3., 4.],
           [5., 6.]])
    """
    if mode not in ("rev", "fwd"):
        raise InputTypeError(f"jacobian: mode must be 'rev' or 'fwd', got {mode!r}")
    _check_transform(fun, argnums, "jacobian")

    @functools.wraps(fun)
    def jac_f(*args, **kwargs):
        where = f"jacobian of {getattr(fun, '__name__', 'function')}"
        nums, single = _argnums(argnums, len(args), where)
        if mode == "rev":
            return _jacrev(fun, args, kwargs, nums, single, has_aux, where)
        return _jacfwd(fun, args, kwargs, nums, single, has_aux, where)

    return jac_f


def _assemble(blocks, out_shapes, in_shapes, out_def, in_def, single, expand):
    """blocks[j][k] has shape out_shapes[j] + in_shapes[k]; nest outputs, then inputs."""
    rows = []
    for j in range(len(out_shapes)):
        per_in = expand(tree_unflatten(in_def, blocks[j]))
        rows.append(per_in[0] if single else tuple(per_in))
    return tree_unflatten(out_def, rows)


def _jacrev(fun, args, kwargs, nums, single, has_aux, where):
    t = _Traced(fun, args, kwargs, nums, where)
    aux = t.split_aux() if has_aux else None
    outs, out_def = t.outputs()
    out_shapes = [_shape(o) for o in outs]
    in_shapes = [_shape(v) for v in t.in_values]
    if len(outs) == 1 and out_shapes[0] == ():
        # A scalar output needs no basis: a plain (unbatched) pullback of 1.
        cts = t.pullback(outs, [ones_like_library(raw(outs[0]), (), _dtype(outs[0]))])
        blocks = [cts]
    else:
        total = sum(math.prod(s) for s in out_shapes)
        basis = _flat_basis(out_shapes, [_dtype(o) for o in outs], total, plain(outs[0]))
        cts = t.pullback(outs, basis)
        blocks = []
        offset = 0
        for s in out_shapes:
            n = math.prod(s)
            blocks.append([ops.reshape(ops.getitem(ct, slice(offset, offset + n)),
                                       s + in_shapes[k]) for k, ct in enumerate(cts)])
            offset += n
    result = _assemble(blocks, out_shapes, in_shapes, out_def, t.in_def, single, t.expand)
    return (result, aux) if has_aux else result


def _jacfwd(fun, args, kwargs, argnums, single, has_aux, where):
    nums = tuple(dict.fromkeys(argnums))
    dyn = tuple(args[i] for i in nums)
    flat, in_def = tree_flatten(dyn)
    values = [_as_input(x, lambda: f"{where}: argument {nums}") for x in flat]
    in_shapes = [_shape(v) for v in values]
    total = sum(math.prod(s) for s in in_shapes)
    like = values[0] if values else None
    basis = _flat_basis(in_shapes, [_dtype(v) for v in values], total, like)
    aux_box = []

    def of_dyn(*leaves):
        call_args = list(args)
        for i, sub in zip(nums, tree_unflatten(in_def, list(leaves))):
            call_args[i] = sub
        out = fun(*call_args, **kwargs)
        if has_aux:
            out, aux = out
            aux_box.append(aux)
        return out

    out, t_out = _jvp(of_dyn, tuple(values), tuple(basis), batched=True, where=where)
    out_flat, out_def = tree_flatten(t_out)
    out_shapes = [_shape(o) for o in tree_flatten(out)[0]]
    blocks = []
    for tan, s in zip(out_flat, out_shapes):
        row = []
        offset = 0
        for shape in in_shapes:
            n = math.prod(shape)
            piece = ops.getitem(tan, slice(offset, offset + n))  # (n,) + out shape
            piece = ops.moveaxis(piece, 0, -1) if len(s) else piece
            row.append(ops.reshape(piece, s + shape))
            offset += n
        blocks.append(row)
    result = _assemble(blocks, out_shapes, in_shapes, out_def, in_def, single,
                       lambda per_in: _in_argnum_order(per_in, nums, argnums))
    if has_aux:
        return result, (aux_box[0] if aux_box else None)
    return result


def jacrev(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False):
    """``jacobian(fun, argnums, mode="rev")``."""
    return jacobian(fun, argnums, mode="rev", has_aux=has_aux)


def jacfwd(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False):
    """``jacobian(fun, argnums, mode="fwd")``."""
    return jacobian(fun, argnums, mode="fwd", has_aux=has_aux)


def hessian(fun: Callable, argnums: int | Sequence[int] = 0, mode: str = "rev"):
    """The Hessian of ``fun``: the Jacobian of its gradient.

    The gradient is computed in reverse mode and recorded; its Jacobian then takes all
    basis vectors through one batched pass (reverse-over-reverse by default,
    ``mode="fwd"`` for forward-over-reverse).

    Examples
    --------
    >>> import gradkit as gk, numpy as np
    >>> Q = np.array([[2.0, 1.0], [1.0, 3.0]])
    >>> gk.hessian(lambda x: 0.5 * x @ Q @ x)(np.ones(2))
    array([[2., 1.],
           [1., 3.]])
    """
    return jacobian(jacobian(fun, argnums, mode="rev"), argnums, mode=mode)


def elementwise_grad(fun: Callable, argnums: int | Sequence[int] = 0):
    """The sum of the Jacobian's rows: the derivative of an elementwise function.

    Examples
    --------
    >>> import gradkit as gk, gradkit.numpy as gnp, numpy as np
    >>> gk.elementwise_grad(gnp.sin)(np.array([0.0, np.pi]))
    array([ 1., -1.])
    """

    _check_transform(fun, argnums, "elementwise_grad")

    @functools.wraps(fun)
    def egrad(*args, **kwargs):
        where = f"elementwise_grad of {getattr(fun, '__name__', 'function')}"
        nums, single = _argnums(argnums, len(args), where)
        t = _Traced(fun, args, kwargs, nums, where)
        outs, _ = t.outputs()
        grads = t.pullback(outs, [xp.ones(_shape(o), dtype=_dtype(o)) for o in outs])
        grads = t.expand(tree_unflatten(t.in_def, grads))
        return grads[0] if single else tuple(grads)

    return egrad
