"""gradkit.nn.fit: reproducibility, resume after a kill, atomic checkpoints, NaN, callbacks."""

import json
import sys

import numpy as np
import pytest

import gradkit as gk
from gradkit import nn
from gradkit.nn import checkpoint

# -- an optimiser with the protocol of gradkit.optim, written here so that fit is tested alone --


class SGD:
    """SGD with momentum: ``init(params) -> state``, ``update(grads, state, params)``."""

    def __init__(self, lr=0.1, momentum=0.9):
        self.lr, self.momentum = lr, momentum

    def init(self, params):
        return {"step": np.array(0), "velocity": {k: np.zeros_like(v) for k, v in params.items()}}

    def update(self, grads, state, params):
        velocity = {k: self.momentum * state["velocity"][k] + grads[k] for k in params}
        new = {k: p - self.lr * velocity[k] for k, p in params.items()}
        return new, {"step": state["step"] + 1, "velocity": velocity}


class Killed(Exception):
    """Stands for the process being killed."""


class KillAt(nn.Callback):
    """Raise in the middle of ``epoch`` (after ``step`` steps of it), like a kill."""

    def __init__(self, epoch, step=3):
        self.epoch, self.step = epoch, step

    def on_step_end(self, ctx):
        if ctx.epoch == self.epoch and ctx.step - (ctx.epoch - 1) * ctx.steps_per_epoch == \
                self.step:
            raise Killed


def data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 1, 6, 6)).astype(np.float32)
    y = (X[:, 0, :3].mean(axis=(1, 2)) > 0).astype(np.int64) + 2 * (X[:, 0, :, :3].mean(
        axis=(1, 2)) > 0)
    return X, y


def model_with_everything(seed=0):
    """Conv, BatchNorm (buffers), Dropout (randomness), pooling, linear."""
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, rng=rng), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.25),
                         nn.Linear(36, 4, rng=rng))


def run(tmp_path=None, epochs=4, seed=0, resume=False, callbacks=(), validation=True, **kw):
    X, y = data()
    model = kw.pop("model", None) or model_with_everything()
    history = nn.fit(model, nn.cross_entropy, kw.pop("optimizer", SGD(0.05)), X[:64], y[:64],
                     epochs=epochs, batch_size=kw.pop("batch_size", 10), seed=seed,
                     validation=(X[64:], y[64:]) if validation else None,
                     callbacks=callbacks, checkpoint_dir=tmp_path, resume=resume,
                     metric=nn.accuracy, progress=kw.pop("progress", False), **kw)
    return model, history


def assert_same_model(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert sa[k].dtype == sb[k].dtype
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)


# -- tests ----------------------------------------------------------------------------------------


def test_fit_learns_and_logs_history():
    model, history = run(epochs=6)
    assert [h["epoch"] for h in history] == [1, 2, 3, 4, 5, 6]
    assert set(history[0]) == {"epoch", "loss", "metric", "val_loss", "val_metric"}
    assert history[-1]["loss"] < 0.6 * history[0]["loss"]
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert model.training  # the mode the model was in before
    assert model[5].rng is not None  # its own generator is given back
    assert all(p.grad is None for p in model.parameters())
    with gk.no_grad():  # fit records its own graph regardless
        _, again = run(epochs=6)
    assert again == history


def test_fit_solves_a_separable_problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 2)).astype(np.float32)
    y = (X[:, 0] - 2 * X[:, 1] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(2, 16, rng=0), nn.Tanh(), nn.Linear(16, 2, rng=1))
    history = nn.fit(model, nn.cross_entropy, SGD(0.1), X[:150], y[:150], epochs=10,
                     batch_size=16, seed=0, validation=(X[150:], y[150:]), metric=nn.accuracy,
                     progress=False)
    assert history[-1]["metric"] > 0.95 and history[-1]["val_metric"] > 0.95
    assert nn.accuracy(model(X[150:]), y[150:]) == history[-1]["val_metric"]


def test_same_seed_same_result_different_seed_different_result():
    a, ha = run(seed=3)
    b, hb = run(seed=3)
    assert_same_model(a, b)
    assert ha == hb
    c, hc = run(seed=4)
    assert hc != ha
    assert not np.array_equal(a.state_dict()["0.weight"], c.state_dict()["0.weight"])


def test_resume_after_a_kill_is_bit_identical(tmp_path):
    uninterrupted, history = run(tmp_path / "full")
    with pytest.raises(Killed):
        run(tmp_path / "killed", callbacks=[KillAt(epoch=3, step=4)])
    _, meta = checkpoint.load_checkpoint(tmp_path / "killed")
    assert meta["epoch"] == 2
    resumed, resumed_history = run(tmp_path / "killed", resume=True)
    assert_same_model(resumed, uninterrupted)
    assert resumed_history == history
    # the checkpoints of the two runs agree too
    a, meta_a = checkpoint.load_checkpoint(tmp_path / "full")
    b, meta_b = checkpoint.load_checkpoint(tmp_path / "killed")
    assert meta_a == meta_b
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_a_killed_model_keeps_the_last_completed_epoch(tmp_path):
    model = model_with_everything()
    with pytest.raises(Killed):
        run(tmp_path, model=model, callbacks=[KillAt(epoch=2, step=2)])
    arrays, _ = checkpoint.load_checkpoint(tmp_path)
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.numpy(), arrays[f"params/{name}"])


def test_resume_can_extend_training_and_a_finished_run_does_nothing(tmp_path):
    full, _ = run(tmp_path / "a", epochs=4)
    run(tmp_path / "b", epochs=2)
    extended, history = run(tmp_path / "b", epochs=4, resume=True)
    assert_same_model(extended, full)
    again, history_again = run(tmp_path / "b", epochs=4, resume=True)
    assert_same_model(again, full)  # nothing left to train: the checkpoint is loaded
    assert history_again == history


def test_resume_checks_the_run_it_continues(tmp_path):
    run(tmp_path, epochs=1)
    with pytest.raises(gk.GradkitError, match="seed=0, batch_size=10"):
        run(tmp_path, epochs=2, seed=1, resume=True)
    with pytest.raises(gk.GradkitError, match="structure of this optimiser's state"):
        run(tmp_path, epochs=2, resume=True, optimizer=SimpleSGD(0.1))
    with pytest.raises(gk.GradkitError, match="the model has"):
        run(tmp_path, epochs=2, resume=True, model=nn.Sequential(nn.Flatten(),
                                                                  nn.Linear(36, 4)))
    with pytest.raises(gk.GradkitError, match="needs checkpoint_dir"):
        run(None, resume=True)
    fresh, _ = run(tmp_path / "empty", epochs=1, resume=True)  # no checkpoint: start afresh
    assert_same_model(fresh, run(epochs=1)[0])


class SimpleSGD:
    def __init__(self, lr):
        self.lr = lr

    def init(self, params):
        return {"step": np.array(0)}

    def update(self, grads, state, params):
        return {k: p - self.lr * grads[k] for k, p in params.items()}, {"step": state["step"] + 1}


def test_checkpoint_files_are_npz_and_json_without_pickle(tmp_path):
    run(tmp_path, epochs=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.json", "checkpoint.npz"]
    meta = json.loads((tmp_path / "checkpoint.json").read_text())
    assert meta["meta"]["epoch"] == 2 and meta["meta"]["rng"]["bit_generator"] == "PCG64"
    with np.load(tmp_path / "checkpoint.npz", allow_pickle=False) as z:
        assert "params/0.weight" in z.files and "buffers/1.running_mean" in z.files
        assert all(z[k].dtype != object for k in z.files)


def test_a_crash_while_writing_the_arrays_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    run(tmp_path, epochs=2)
    before, meta_before = checkpoint.load_checkpoint(tmp_path)

    def half_written(f, **arrays):
        f.write(b"PK\x03\x04 half of a zip file")
        raise Killed

    monkeypatch.setattr(checkpoint.np, "savez", half_written)
    with pytest.raises(Killed):
        run(tmp_path, epochs=3, resume=True)
    monkeypatch.undo()
    after, meta_after = checkpoint.load_checkpoint(tmp_path)
    assert meta_after == meta_before
    for k in before:
        np.testing.assert_array_equal(after[k], before[k])
    assert not list(tmp_path.glob(".*.tmp"))  # temporary files cleaned up


def test_a_crash_between_the_two_renames_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    run(tmp_path, epochs=1)
    before, meta_before = checkpoint.load_checkpoint(tmp_path)
    real_replace = checkpoint.os.replace

    def crash_on_json(src, dst):
        if str(dst).endswith("checkpoint.json"):
            raise Killed  # the new .npz is in place, the JSON still names the old one
        real_replace(src, dst)

    monkeypatch.setattr(checkpoint.os, "replace", crash_on_json)
    with pytest.raises(Killed):
        run(tmp_path, epochs=2, resume=True)
    monkeypatch.undo()
    assert (tmp_path / "checkpoint.prev.npz").exists()
    after, meta_after = checkpoint.load_checkpoint(tmp_path)
    assert meta_after == meta_before
    for k in before:
        np.testing.assert_array_equal(after[k], before[k])
    resumed, _ = run(tmp_path, epochs=3, resume=True)  # and training goes on from there
    assert_same_model(resumed, run(epochs=3)[0])


def test_a_tampered_checkpoint_is_refused(tmp_path):
    checkpoint.save_checkpoint(tmp_path, {"w": np.ones(3)}, {"epoch": 1})
    np.savez(tmp_path / "checkpoint.npz", w=np.zeros(3))
    with pytest.raises(checkpoint.CheckpointError, match="matches"):
        checkpoint.load_checkpoint(tmp_path)
    assert checkpoint.load_checkpoint(tmp_path / "nothing-here") is None
    with pytest.raises(checkpoint.CheckpointError, match="object"):
        checkpoint.save_checkpoint(tmp_path, {"w": np.array([{}], dtype=object)})


def test_tree_spec_round_trip():
    tree = {"a": (np.float32(1.5), 2, [True, None]), "b": {"c": np.arange(3)}, "d": 0.25}
    spec, leaves = checkpoint.tree_to_spec(tree)
    json.dumps(spec)
    back = checkpoint.tree_from_spec(spec, leaves)
    assert back["a"][0] == np.float32(1.5) and type(back["a"][0]) is np.float32
    assert back["a"][1:] == (2, [True, None]) and type(back["a"][1]) is int
    np.testing.assert_array_equal(back["b"]["c"], np.arange(3))
    assert back["d"] == 0.25
    with pytest.raises(checkpoint.CheckpointError, match="keys must be strings"):
        checkpoint.tree_to_spec({1: np.ones(1)})


def test_nan_loss_stops_naming_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
    X, y = data()
    X = X[:64].copy()
    model = model_with_everything()
    nn.fit(model, nn.cross_entropy, SGD(0.05), X, y[:64], epochs=2, batch_size=10, seed=0,
           checkpoint_dir=tmp_path, progress=False)
    good, _ = checkpoint.load_checkpoint(tmp_path)
    shuffles = np.random.default_rng(0)  # fit's generator: one permutation per epoch (the
    shuffles.permutation(64)             # model's dropout draws from it too, after the
    X[7] = np.nan                        # permutation of the epoch)
    with pytest.raises(gk.NaNError) as info:
        nn.fit(model, nn.cross_entropy, SGD(0.05), X, y[:64], epochs=4, batch_size=10,
               seed=0, checkpoint_dir=tmp_path, resume=True, progress=False)
    _, meta = checkpoint.load_checkpoint(tmp_path)
    shuffles.bit_generator.state = meta["rng"]
    step = int(np.flatnonzero(shuffles.permutation(64) == 7)[0]) // 10 + 1
    assert f"epoch 3, step {step} of 7 (step {14 + step} overall)" in str(info.value)
    assert "checkpoint is untouched" in str(info.value)
    after, meta = checkpoint.load_checkpoint(tmp_path)
    assert meta["epoch"] == 2
    for k in good:
        np.testing.assert_array_equal(after[k], good[k])
    state = model.state_dict()  # parameters and BatchNorm statistics of epoch 2, no NaN
    for name in state:
        key = f"params/{name}" if f"params/{name}" in good else f"buffers/{name}"
        np.testing.assert_array_equal(state[name], good[key])


def test_early_stopping_stops_and_a_resume_respects_it(tmp_path):
    calls = []

    def record(ctx):
        calls.append(ctx.epoch)

    stop = nn.EarlyStopping(monitor="val_loss", patience=2)
    # a learning rate that makes the validation loss climb after the first epoch
    model, history = run(tmp_path, epochs=20, optimizer=SGD(3.0, 0.9),
                         callbacks=[stop, record])
    assert len(history) < 20
    assert stop.epochs_since_best(history) == 2
    assert calls == [h["epoch"] for h in history]
    _, meta = checkpoint.load_checkpoint(tmp_path)
    assert meta["stopped"] is True
    _, again = run(tmp_path, epochs=20, optimizer=SGD(3.0, 0.9), callbacks=[stop],
                   resume=True)
    assert again == history
    with pytest.raises(gk.GradkitError, match="val_loss"):
        run(epochs=1, validation=False, callbacks=[nn.EarlyStopping()])


def test_callback_state_is_checkpointed(tmp_path):
    class Counter(nn.Callback):
        def __init__(self):
            self.steps = 0

        def on_step_end(self, ctx):
            self.steps += 1

        def state_dict(self):
            return {"steps": self.steps}

        def load_state_dict(self, state):
            self.steps = state["steps"]

    counter = Counter()
    with pytest.raises(Killed):
        run(tmp_path, callbacks=[counter, KillAt(epoch=3, step=2)])
    counter = Counter()
    run(tmp_path, resume=True, callbacks=[counter])
    assert counter.steps == 4 * 7


def test_progress_bar_and_fallback(capsys, monkeypatch):
    run(epochs=1, progress=True)
    err = capsys.readouterr().err
    assert "epoch 1/1" in err and "loss" in err
    monkeypatch.setitem(sys.modules, "tqdm", None)  # as if tqdm were not installed
    run(epochs=1, progress=True)
    err = capsys.readouterr().err
    assert "epoch 1/1: loss" in err and "val_metric" in err


def test_fit_and_evaluate_check_their_inputs():
    X, y = data()
    model = model_with_everything()
    with pytest.raises(gk.GradkitError, match="same number of examples"):
        nn.fit(model, nn.cross_entropy, SGD(), X, y[:10], epochs=1, batch_size=4, seed=0)
    with pytest.raises(gk.GradkitError, match="batch_size >= 1"):
        nn.fit(model, nn.cross_entropy, SGD(), X, y, epochs=1, batch_size=0, seed=0)
    with pytest.raises(gk.GradkitError, match="must return a scalar"):
        nn.fit(model, lambda out, y: nn.cross_entropy(out, y, "none"), SGD(), X, y, epochs=1,
               batch_size=4, seed=0, progress=False)
    logs = nn.evaluate(model, nn.cross_entropy, X, y, batch_size=7, metric=nn.accuracy)
    full = model.eval()(X)
    assert logs["loss"] == pytest.approx(float(nn.cross_entropy(full, y)), rel=1e-5)
    assert logs["metric"] == pytest.approx(nn.accuracy(full, y))


# -- the Trainer: fit in parts ----------------------------------------------------------------


def trainer(**kw):
    return nn.Trainer(kw.pop("model", None) or model_with_everything(), nn.cross_entropy,
                      SGD(0.05), batch_size=10, seed=kw.pop("seed", 0), metric=nn.accuracy,
                      progress=False, **kw)


def test_trainer_epochs_one_by_one_are_fit():
    X, y = data()
    reference, history = run(epochs=3)
    t = trainer()
    logs = [t.epoch(X[:64], y[:64], validation=(X[64:], y[64:])) for _ in range(3)]
    assert logs == history and t.history == history
    assert t.ctx.step == 3 * 7 and t.epochs_done == 3
    assert_same_model(t.model, reference)
    assert t.model[5].rng is not None and t.model[5].rng is not t.rng  # lent, given back
    again = trainer()
    assert again.run(X[:64], y[:64], epochs=3, validation=(X[64:], y[64:])) == history
    assert_same_model(again.model, reference)


def test_trainer_step_returns_the_loss_before_the_update():
    X, y = data()
    model = nn.Sequential(nn.Flatten(), nn.Linear(36, 4, rng=0))
    t = trainer(model=model)
    before = model.state_dict()
    expected = float(nn.cross_entropy(model(X[:10]), y[:10]))
    w = before["1.weight"]
    loss = t.step((X[:10], y[:10]))
    assert loss == pytest.approx(expected, rel=1e-6)
    assert not np.array_equal(model.state_dict()["1.weight"], w)
    np.testing.assert_array_equal(t.params["1.weight"], model.state_dict()["1.weight"])
    assert t.ctx.step == 1 and all(p.grad is not None for p in model.parameters())
    Xn = X[:10].copy()
    Xn[0] = np.nan
    w = model.state_dict()["1.weight"]
    with pytest.raises(gk.NaNError, match="Trainer.step: the training loss is nan at step 2"):
        t.step((Xn, y[:10]))
    np.testing.assert_array_equal(model.state_dict()["1.weight"], w)
    assert t.ctx.step == 1


def test_trainer_step_draws_dropout_from_its_seed():
    X, y = data()
    losses = []
    for _ in range(2):
        model = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(36, 4, rng=0))
        own = model[1].rng
        t = trainer(model=model, seed=5)
        losses.append([t.step((X[:10], y[:10])) for _ in range(3)])
        assert model[1].rng is own
    assert losses[0] == losses[1]
    model = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(36, 4, rng=0))
    assert [trainer(model=model, seed=6).step((X[:10], y[:10])) for _ in range(3)] != losses[0]


def test_a_failed_trainer_epoch_leaves_the_trainer_as_before(tmp_path):
    X, y = data()
    X = X[:64].copy()
    t = trainer(checkpoint_dir=tmp_path)
    t.epoch(X, y[:64])
    state = (t.ctx.step, list(t.history), t.rng.bit_generator.state, t.model.state_dict())
    bad = X.copy()
    bad[7] = np.nan
    with pytest.raises(gk.NaNError, match="Trainer: the training loss is nan at epoch 2"):
        t.epoch(bad, y[:64])
    assert (t.ctx.step, t.history, t.rng.bit_generator.state) == state[:3]
    for k, v in t.model.state_dict().items():
        np.testing.assert_array_equal(v, state[3][k], err_msg=k)
    assert all(p.grad is None for p in t.model.parameters())
    assert checkpoint.load_checkpoint(tmp_path)[1]["epoch"] == 1
    t.epoch(X, y[:64])  # and it goes on as if the failed epoch had never run
    clean = trainer()
    clean.epoch(X, y[:64])
    clean.epoch(X, y[:64])
    assert t.history == clean.history
    assert_same_model(t.model, clean.model)


def test_trainer_resume_and_its_errors(tmp_path):
    X, y = data()
    t = trainer(checkpoint_dir=tmp_path)
    t.run(X[:64], y[:64], epochs=2)
    resumed = trainer(checkpoint_dir=tmp_path)
    assert resumed.restore() and resumed.epochs_done == 2
    assert resumed.history == t.history
    assert_same_model(resumed.model, t.model)
    with pytest.raises(gk.GradkitError, match=r"Trainer\(resume=True\) from .*seed=0"):
        trainer(checkpoint_dir=tmp_path, seed=1).restore()
    with pytest.raises(gk.GradkitError, match="resume=True needs checkpoint_dir"):
        trainer().run(X, y, epochs=1, resume=True)
    with pytest.raises(gk.GradkitError, match="batch_size >= 1"):
        nn.Trainer(model_with_everything(), nn.cross_entropy, SGD(), batch_size=0, seed=0)
    with pytest.raises(gk.GradkitError, match="Trainer: callback 3"):
        trainer(callbacks=[3])
