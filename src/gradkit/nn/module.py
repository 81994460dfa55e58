"""``Module``: parameters, buffers and submodules with names, in the PyTorch style.

A parameter is an ordinary :class:`gradkit.Tensor` leaf with ``requires_grad=True``:
assigning one to a module attribute registers it under that name, so
``loss.backward()`` fills its ``.grad`` and an optimiser can assign ``p.data``. A
buffer (BatchNorm's running statistics) is a NumPy array registered with
:meth:`Module.register_buffer`; it is saved in the state dict but not trained.
Submodules assigned as attributes are registered too, and names nest with dots
(``"0.weight"`` in a :class:`Sequential`).

Two ways to train:

* the PyTorch way: ``loss = loss_fn(model(x), y); loss.backward()``, then update each
  ``p.data`` from ``p.grad`` (see :meth:`Module.zero_grad`);
* the functional way: :func:`functional_call` runs the model with the parameters
  taken from a dict of arrays, so that ``gradkit.grad`` can differentiate a loss with
  respect to that dict. :func:`gradkit.nn.fit` trains this way.

Examples
--------
>>> import numpy as np
>>> import gradkit as gk
>>> from gradkit import nn
>>> model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.ReLU(), nn.Linear(4, 2, rng=1))
>>> [name for name, _ in model.named_parameters()]
['0.weight', '0.bias', '2.weight', '2.bias']
>>> x = np.ones((5, 3), dtype=np.float32)
>>> loss = (model(x) ** 2).mean()
>>> loss.backward()
>>> model[0].weight.grad.shape
(4, 3)
>>> grads = gk.grad(lambda p: (nn.functional_call(model, p, x) ** 2).mean())(
...     model.state_dict())
>>> bool(np.allclose(grads["0.weight"], model[0].weight.grad.numpy()))
True
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from ..errors import GradkitError
from ..graph import Tensor, raw

__all__ = ["Module", "Sequential", "ModuleList", "parameter", "functional_call"]


def parameter(data, dtype=None) -> Tensor:
    """A new trainable parameter: a Tensor leaf with ``requires_grad=True`` (its own copy).

    Examples
    --------
    >>> from gradkit.nn import parameter
    >>> p = parameter([1.0, 2.0], dtype="float32")
    >>> p.requires_grad, p.dtype
    (True, dtype('float32'))
    """
    value = np.array(raw(data), dtype=dtype, copy=True)
    if value.dtype.kind != "f":
        raise GradkitError(f"parameter: parameters must be floating point, got dtype "
                           f"{value.dtype}")
    return Tensor(value, requires_grad=True)


def _is_parameter(value) -> bool:
    return type(value) is Tensor and value.requires_grad and value.is_leaf


class Module:
    """Base class of layers and models.

    Subclasses call ``super().__init__()`` first, then assign parameters (Tensors with
    ``requires_grad=True``, see :func:`parameter`), submodules and buffers
    (:meth:`register_buffer`), and define ``forward``. Calling the module calls
    ``forward``.

    Attributes
    ----------
    training : bool
        True in training mode (the default), False after :meth:`eval`. Dropout and
        BatchNorm behave differently in the two modes.

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit import nn
    >>> class Affine(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.scale = nn.parameter(np.ones(2))
    ...         self.register_buffer("count", np.zeros((), dtype=np.int64))
    ...     def forward(self, x):
    ...         return x * self.scale
    >>> m = Affine()
    >>> list(m.state_dict())
    ['scale', 'count']
    >>> m(np.array([3.0, 4.0]))
    Tensor([3., 4.], grad_fn=multiply)
    """

    training: bool

    def __init__(self) -> None:
        d = self.__dict__
        d["_param_names"] = []
        d["_buffer_names"] = []
        d["_module_names"] = []
        d["training"] = True

    # -- registration -------------------------------------------------------------------
    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        if "_param_names" not in d:
            raise GradkitError(f"{type(self).__name__}: call super().__init__() before "
                               f"assigning attributes")
        params, buffers, modules = d["_param_names"], d["_buffer_names"], d["_module_names"]
        if isinstance(value, Module):
            self._unregister(name)
            modules.append(name)
        elif _is_parameter(value):
            if name not in params:
                self._unregister(name)
                params.append(name)
        elif name in buffers:
            if value is not None:
                value = np.asarray(raw(value))
        elif name in params:
            if value is not None:
                raise GradkitError(
                    f"{type(self).__name__}.{name} is a parameter: assign a Tensor with "
                    f"requires_grad=True (gradkit.nn.parameter), set .data to change its "
                    f"value, or assign None to remove it; got {type(value).__name__}")
            params.remove(name)
        elif name in modules:
            modules.remove(name)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._unregister(name)
        object.__delattr__(self, name)

    def _unregister(self, name: str) -> None:
        for key in ("_param_names", "_buffer_names", "_module_names"):
            names = self.__dict__[key]
            if name in names:
                names.remove(name)

    def register_buffer(self, name: str, value) -> None:
        """Register a NumPy array that belongs to the state but is not trained.

        Buffers appear in :meth:`state_dict` after the parameters of the same module.
        """
        if "." in name or not name.isidentifier():
            raise GradkitError(f"register_buffer: {name!r} is not a valid attribute name")
        self._unregister(name)
        self.__dict__["_buffer_names"].append(name)
        object.__setattr__(self, name, None if value is None else np.asarray(raw(value)))

    def register_parameter(self, name: str, value) -> None:
        """Register ``value`` (an array or Tensor, copied) as a parameter called ``name``."""
        setattr(self, name, None if value is None else parameter(value))

    # -- forward ------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # -- traversal ----------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        d = self.__dict__
        for name in d["_module_names"]:
            yield name, d[name]

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every submodule, depth first, with dotted names ("" for self)."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def _named(self, kind: str, prefix: str = "") -> Iterator[tuple[str, object, Module, str]]:
        """(dotted name, value, owner, attribute) of each parameter or buffer, in order."""
        d = self.__dict__
        for name in d[kind]:
            value = d[name]
            if value is not None:
                yield (f"{prefix}{name}", value, self, name)
        for name in d["_module_names"]:
            yield from d[name]._named(kind, f"{prefix}{name}.")

    def named_parameters(self) -> list[tuple[str, Tensor]]:
        """``(name, parameter)`` pairs in a deterministic order: each module's own
        parameters in the order they were assigned, then its submodules' (depth first).
        A parameter shared by several modules appears once, under its first name."""
        seen: set[int] = set()
        out = []
        for name, value, _, _ in self._named("_param_names"):
            if id(value) not in seen:
                seen.add(id(value))
                out.append((name, value))
        return out

    def parameters(self) -> list[Tensor]:
        """The parameters (Tensors with ``requires_grad=True``), in :meth:`named_parameters`
        order."""
        return [p for _, p in self.named_parameters()]

    def named_buffers(self) -> list[tuple[str, np.ndarray]]:
        return [(name, value) for name, value, _, _ in self._named("_buffer_names")]

    def buffers(self) -> list[np.ndarray]:
        return [b for _, b in self.named_buffers()]

    def num_parameters(self) -> int:
        """The number of trainable scalars.

        Examples
        --------
        >>> from gradkit import nn
        >>> nn.Linear(10, 3).num_parameters()
        33
        """
        return sum(p.size for p in self.parameters())

    def _slots(self) -> dict[str, list[tuple[Module, str, str]]]:
        """Dotted name -> every (owner module, attribute, "parameter" or "buffer") holding
        that value: a parameter shared by several modules is listed under its first name
        with all its places."""
        return self._slots_and_aliases()[0]

    def _slots_and_aliases(self) -> tuple[dict, dict[str, str]]:
        """:meth:`_slots`, and every dotted name (a shared value's other names too) -> the
        first name of its value (PyTorch's state dicts list a shared parameter under each)."""
        slots: dict[str, list[tuple[Module, str, str]]] = {}
        aliases: dict[str, str] = {}
        self._collect_slots(slots, aliases, "", {})
        return slots, aliases

    def _collect_slots(self, slots: dict, aliases: dict, prefix: str, first: dict) -> None:
        d = self.__dict__
        for key, kind in (("_param_names", "parameter"), ("_buffer_names", "buffer")):
            for name in d[key]:
                value = d[name]
                if value is not None:
                    owner_name = first.setdefault(id(value), prefix + name)
                    slots.setdefault(owner_name, []).append((self, name, kind))
                    aliases[prefix + name] = owner_name
        for name in d["_module_names"]:
            d[name]._collect_slots(slots, aliases, f"{prefix}{name}.", first)

    # -- state --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """An ordered ``name -> array`` dict of every parameter and buffer (copies).

        Per module: its parameters, then its buffers, then its submodules', depth first
        (PyTorch's order). Parameters shared between modules appear once (PyTorch lists them
        under each name; :meth:`load_state_dict` takes either form).
        """
        out: dict[str, np.ndarray] = {}
        seen: set[int] = set()
        self._state(out, "", seen)
        return out

    def _state(self, out: dict, prefix: str, seen: set) -> None:
        d = self.__dict__
        for name in d["_param_names"]:
            p = d[name]
            if p is not None and id(p) not in seen:
                seen.add(id(p))
                out[prefix + name] = np.array(raw(p), copy=True)
        for name in d["_buffer_names"]:
            b = d[name]
            if b is not None:
                out[prefix + name] = np.array(b, copy=True)
        for name in d["_module_names"]:
            d[name]._state(out, f"{prefix}{name}.", seen)

    def load_state_dict(self, state: Mapping[str, object], strict: bool = True) -> None:
        """Copy values into the parameters and buffers, by name.

        Values are cast to each parameter's dtype. Raises :class:`gradkit.GradkitError`,
        changing nothing, when a shape differs or (with ``strict``, the default) when a
        name is missing or unexpected.

        Examples
        --------
        >>> import numpy as np
        >>> from gradkit import nn
        >>> m = nn.Linear(2, 1)
        >>> m.load_state_dict({"weight": np.ones((1, 3))})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        gradkit.errors.GradkitError: load_state_dict: missing keys ['bias']; wrong shape for ...
        """
        slots, aliases = self._slots_and_aliases()
        problems = []
        given: dict[str, tuple[str, np.ndarray]] = {}  # first name -> (key, value)
        for key, value in state.items():
            first = aliases.get(key)
            if first is None:
                continue
            new = np.asarray(raw(value))
            if first in given:  # a shared parameter under another of its names
                other, seen = given[first]
                if seen.shape != new.shape or not np.array_equal(
                        seen, new, equal_nan=seen.dtype.kind in "fc" and new.dtype.kind in "fc"):
                    problems.append(f"{other!r} and {key!r} name one shared value but are "
                                    f"given different values")
                continue
            given[first] = (key, new)
        if strict:
            missing = [k for k in slots if k not in given]
            unexpected = [k for k in state if k not in aliases]
            if missing:
                problems.append(f"missing keys {missing}")
            if unexpected:
                problems.append(f"unexpected keys {unexpected}")
        updates = []
        for first, (key, new) in given.items():
            owner, attr, kind = slots[first][0]
            current = owner.__dict__[attr]
            if new.shape != tuple(current.shape):
                problems.append(f"wrong shape for {key!r}: {new.shape} given, "
                                f"{type(self).__name__} expects {tuple(current.shape)}")
                continue
            updates.append((slots[first], kind, current, new))
        if problems:
            raise GradkitError("load_state_dict: " + "; ".join(problems))
        for places, kind, current, new in updates:
            if kind == "parameter":
                current.data = np.array(new, dtype=current.dtype, copy=True)
            else:
                value = np.array(new, dtype=current.dtype, copy=True)
                for owner, attr, _ in places:
                    object.__setattr__(owner, attr, value)

    # -- modes and gradients ------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=False`` is :meth:`eval`) here and in every submodule."""
        for m in self.modules():
            m.__dict__["training"] = bool(mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode: Dropout is the identity, BatchNorm uses running statistics."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Clear ``.grad`` of every parameter (``backward`` accumulates into it)."""
        for p in self.parameters():
            p.grad = None

    def astype(self, dtype) -> Module:
        """Convert every floating-point parameter and buffer to ``dtype``, in place.

        Parameters become new Tensors (optimisers bound to the old ones must be bound
        again). Returns the module.
        """
        dtype = np.dtype(dtype)
        converted: dict[int, Tensor] = {}  # shared parameters stay shared
        for m in self.modules():
            d = m.__dict__
            for name in d["_param_names"]:
                p = d[name]
                if p is not None:
                    if id(p) not in converted:
                        converted[id(p)] = parameter(raw(p), dtype=dtype)
                    object.__setattr__(m, name, converted[id(p)])
            for name in d["_buffer_names"]:
                b = d[name]
                if b is not None and b.dtype.kind == "f":
                    object.__setattr__(m, name, b.astype(dtype))
        return self

    # -- printing -----------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside this module's parentheses in ``repr`` (override in layers)."""
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not children:
            return head + ")"
        lines = [head]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines) + "\n)"


class Sequential(Module):
    """Modules applied one after the other; they are named "0", "1", ...

    Examples
    --------
    >>> import numpy as np
    >>> from gradkit import nn
    >>> net = nn.Sequential(nn.Linear(4, 8, rng=0), nn.Tanh(), nn.Linear(8, 1, rng=1))
    >>> net(np.zeros((2, 4), dtype=np.float32)).shape
    (2, 1)
    >>> len(net), type(net[1]).__name__
    (3, 'Tanh')
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise GradkitError(f"Sequential: argument {i} is a {type(layer).__name__}, "
                                   f"not a Module")
            setattr(self, str(i), layer)

    def __getitem__(self, i: int | slice) -> Module:
        layers = list(self.children())
        return Sequential(*layers[i]) if isinstance(i, slice) else layers[i]

    def __len__(self) -> int:
        return len(self.__dict__["_module_names"])

    def __iter__(self) -> Iterator[Module]:
        return self.children()

    def append(self, layer: Module) -> Sequential:
        setattr(self, str(len(self)), layer)
        return self

    def forward(self, x):
        d = self.__dict__
        for name in d["_module_names"]:
            x = d[name](x)
        return x


class ModuleList(Module):
    """A list of modules, registered as "0", "1", ... (for models with custom ``forward``)."""

    def __init__(self, modules=()) -> None:
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module: Module) -> ModuleList:
        if not isinstance(module, Module):
            raise GradkitError(f"ModuleList: got a {type(module).__name__}, not a Module")
        setattr(self, str(len(self)), module)
        return self

    def __getitem__(self, i: int) -> Module:
        return list(self.children())[i]

    def __len__(self) -> int:
        return len(self.__dict__["_module_names"])

    def __iter__(self) -> Iterator[Module]:
        return self.children()


def functional_call(module: Module, params: Mapping[str, object], *args, **kwargs):
    """Call ``module(*args, **kwargs)`` with its parameters (and buffers) taken from ``params``.

    ``params`` maps dotted names (as in :meth:`Module.state_dict`) to arrays or Tensors;
    names left out keep the module's own values. The module is restored afterwards,
    even on error. This is how to differentiate with respect to the parameters with
    :func:`gradkit.grad`, and how to run a model on a plain-array state dict. Buffers
    passed in ``params`` are read only: updates a layer makes to them during the call
    (BatchNorm's running statistics in training mode) are discarded, while buffers not
    passed are the module's own and are updated as usual.

    Examples
    --------
    >>> import numpy as np
    >>> import gradkit as gk
    >>> from gradkit import nn
    >>> lin = nn.Linear(2, 1, rng=0)
    >>> x = np.array([[1.0, 2.0]], dtype=np.float32)
    >>> loss = lambda p: (nn.functional_call(lin, p, x) ** 2).sum()
    >>> g = gk.grad(loss)({"weight": np.ones((1, 2), np.float32), "bias": np.zeros(1, np.float32)})
    >>> g["weight"]
    array([[ 6., 12.]], dtype=float32)
    """
    slots = module._slots()
    saved: list[tuple[Module, str, object]] = []
    try:
        for name, value in params.items():
            try:
                places = slots[name]
            except KeyError:
                raise GradkitError(f"functional_call: {type(module).__name__} has no parameter "
                                   f"or buffer named {name!r}; its names are "
                                   f"{list(slots)}") from None
            for owner, attr, _ in places:  # every module sharing the parameter
                d = owner.__dict__
                saved.append((owner, attr, d[attr]))
                d[attr] = value
        return module(*args, **kwargs)
    finally:
        for owner, attr, old in reversed(saved):
            owner.__dict__[attr] = old
