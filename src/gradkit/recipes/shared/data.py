"""Data loaders of the recipes, with one split helper so that every recipe splits alike."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as onp

__all__ = ["Split", "stratified_split", "load_digits_split", "load_breast_cancer_split",
           "DIGITS_SPLIT"]

DIGITS_SPLIT = "stratified 80/20, train_test_split(test_size=0.2, stratify=y, random_state=0)"


@dataclass
class Split:
    """A train/test split of features ``X_*`` and labels ``y_*``."""

    X_train: onp.ndarray
    X_test: onp.ndarray
    y_train: onp.ndarray
    y_test: onp.ndarray


def stratified_split(X, y, test_size: float, seed: int) -> Split:
    """scikit-learn's ``train_test_split`` stratified on ``y`` with ``random_state=seed``.

    Examples
    --------
    >>> import numpy as np
    >>> s = stratified_split(np.arange(20.0)[:, None], np.arange(20) % 2, 0.25, seed=0)
    >>> s.X_train.shape, s.X_test.shape, int(s.y_test.sum())
    ((15, 1), (5, 1), 2)
    """
    from sklearn.model_selection import train_test_split

    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, stratify=y,
                                              random_state=seed)
    return Split(X_tr, X_te, y_tr, y_te)


def load_digits_split() -> Split:
    """scikit-learn's bundled digits (1797 images 8x8), split 80/20 as the baselines are.

    The split is fixed (``random_state=0``, stratified) whatever the recipe's seed, so
    that every model is compared on the same 360 held-out images. Pixels (0..16) are
    divided by 16, for gradkit's models and the scikit-learn baselines alike.

    Returns
    -------
    Split
        ``X_*`` of shape ``(n, 64)``, float32 in [0, 1]; ``y_*`` int64 labels 0-9.
    """
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return stratified_split((X / 16.0).astype(onp.float32), y.astype(onp.int64), 0.2, seed=0)


def load_breast_cancer_split(seed: int = 0) -> Split:
    """Breast-cancer data: stratified 70/30 split, standardised on the training part."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    split = stratified_split(X, y, 0.3, seed)
    scaler = StandardScaler().fit(split.X_train)
    return Split(scaler.transform(split.X_train), scaler.transform(split.X_test),
                 split.y_train, split.y_test)
