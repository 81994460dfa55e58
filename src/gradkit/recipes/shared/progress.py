"""Progress bars for the recipes' training loops."""

from __future__ import annotations

from ... import nn

__all__ = ["EpochBar"]


class EpochBar(nn.Callback):
    """One tqdm progress bar over all of a :class:`~gradkit.nn.Trainer` run's steps."""

    def __init__(self, desc: str) -> None:
        self.desc = desc
        self.bar = None

    def on_train_begin(self, ctx: nn.FitContext) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=ctx.epochs * ctx.steps_per_epoch, initial=ctx.step,
                        desc=self.desc, unit="step", dynamic_ncols=True)

    def on_step_end(self, ctx: nn.FitContext) -> None:
        self.bar.update(1)

    def on_epoch_end(self, ctx: nn.FitContext) -> None:
        shown = {"epoch": f"{ctx.epoch}/{ctx.epochs}", "loss": f"{ctx.logs['loss']:.4f}"}
        if "val_metric" in ctx.logs:
            shown["test_acc"] = f"{ctx.logs['val_metric']:.4f}"
        self.bar.set_postfix(shown)

    def on_train_end(self, ctx: nn.FitContext) -> None:
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
