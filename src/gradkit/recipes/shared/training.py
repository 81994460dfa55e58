"""Training a classifier the way the digits recipes do: AdamW, a cosine schedule, a progress
bar, per-epoch checkpoints in the run's folder, then the held-out loss and accuracy."""

from __future__ import annotations

import math

from ... import nn
from ...optim import AdamW, cosine
from .._rundir import RunDir
from .._spec import at_least, positive
from .progress import EpochBar

__all__ = ["check_training", "fit_classifier"]


def check_training(cfg) -> None:
    """Check a Config's training fields: ``epochs``, ``batch_size``, ``lr``, ``weight_decay``."""
    at_least(cfg, "epochs", 1)
    at_least(cfg, "batch_size", 1)
    positive(cfg, "lr")
    at_least(cfg, "weight_decay", 0)


def fit_classifier(rd: RunDir, model: nn.Module, loss, train: tuple, test: tuple, cfg
                   ) -> tuple[list[dict], dict]:
    """Train ``model`` on ``train = (X, y)``, evaluating on ``test`` after every epoch.

    AdamW (``cfg.lr`` decayed to 0 by a cosine schedule over the run, ``cfg.weight_decay``),
    batches of ``cfg.batch_size`` for ``cfg.epochs`` epochs, shuffled from the run's seed;
    the training loop checkpoints after every epoch in ``rd.checkpoint_dir`` and resumes
    from there when the run does.

    Returns
    -------
    (list of dict, dict)
        The per-epoch history and the held-out ``{"loss", "metric"}`` (cross-entropy,
        accuracy).
    """
    steps = cfg.epochs * math.ceil(len(train[0]) / cfg.batch_size)
    optimizer = AdamW(lr=cosine(cfg.lr, steps), weight_decay=cfg.weight_decay)
    bar = EpochBar(rd.name) if rd.verbose else None
    try:
        history = nn.fit(model, loss, optimizer, *train, epochs=cfg.epochs,
                         batch_size=cfg.batch_size, seed=rd.seed, validation=test,
                         metric=nn.accuracy, callbacks=[bar] if bar else [],
                         checkpoint_dir=rd.checkpoint_dir, resume=rd.resume, progress=False)
    finally:
        if bar is not None:
            bar.close()
    return history, nn.evaluate(model, nn.cross_entropy, *test, metric=nn.accuracy)
