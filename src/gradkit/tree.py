"""Pytrees: nested lists, tuples (named tuples too) and dicts of arrays.

``None`` is an empty subtree; anything else is a leaf.
"""

from __future__ import annotations

__all__ = ["tree_flatten", "tree_unflatten", "tree_map", "tree_leaves"]

_LEAF = "leaf"


def tree_flatten(tree) -> tuple[list, object]:
    """Leaves of ``tree`` in order, and a description to rebuild it from new leaves.

    Examples
    --------
    >>> leaves, treedef = tree_flatten({"w": 1.0, "b": [2.0, 3.0]})
    >>> leaves
    [1.0, 2.0, 3.0]
    >>> tree_unflatten(treedef, [4, 5, 6])
    {'w': 4, 'b': [5, 6]}
    """
    leaves: list = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree, leaves):
    kind = type(tree)
    if kind is list or kind is tuple or (kind is not dict and isinstance(tree, list | tuple)):
        return (kind, [_flatten(t, leaves) for t in tree])
    if kind is dict:
        return (dict, list(tree), [_flatten(t, leaves) for t in tree.values()])
    if tree is None:
        return None
    leaves.append(tree)
    return _LEAF


def tree_unflatten(treedef, leaves):
    it = iter(leaves)
    return _unflatten(treedef, it)


def _unflatten(treedef, it):
    if treedef is None:
        return None
    if treedef is _LEAF:
        return next(it)
    kind = treedef[0]
    if kind is dict:
        return {k: _unflatten(d, it) for k, d in zip(treedef[1], treedef[2])}
    items = [_unflatten(d, it) for d in treedef[1]]
    if kind is list:
        return items
    if kind is tuple:
        return tuple(items)
    return kind(*items)  # a named tuple


def tree_leaves(tree) -> list:
    return tree_flatten(tree)[0]


def tree_map(f, tree, *rest):
    """Apply ``f`` leaf by leaf to one tree or several trees of the same structure."""
    leaves, treedef = tree_flatten(tree)
    others = [tree_flatten(r)[0] for r in rest]
    return tree_unflatten(treedef, [f(*xs) for xs in zip(leaves, *others)])


def same_structure(a, b) -> bool:
    return tree_flatten(a)[1] == tree_flatten(b)[1]
