"""The gan recipe's parts: the data, the judge, the R1 penalty (a gradient of a gradient),
the checkpointed state."""

import numpy as np
import pytest

import gradkit as gk
from gradkit import nn
from gradkit.recipes import gan


def test_eight_gaussians_sit_on_their_modes():
    x = gan.eight_gaussians(8000, np.random.default_rng(0))
    assert x.shape == (8000, 2) and x.dtype == np.float32
    cover = gan.mode_coverage(x)
    assert cover["modes"] == 8 and cover["within"] == 1.0
    assert min(cover["per_mode"]) > 0.1   # each mode about 1/8 of the samples
    assert cover["rms"] == pytest.approx(0.02 * np.sqrt(2), rel=0.03)  # 2-D std 0.02


def test_mode_coverage_counts_modes_by_their_share():
    centres = gan._centres()
    near = np.repeat(centres[:3], [500, 300, 5], axis=0) + 0.05   # 0.07 from the centre
    far = np.zeros((195, 2))                                      # the origin: no mode
    cover = gan.mode_coverage(np.vstack([near, far]))
    assert cover["modes"] == 2            # the third mode holds 0.5% < 1%
    assert cover["within"] == pytest.approx(805 / 1000)
    assert cover["per_mode"][2] == pytest.approx(0.005)


def _linear_d(w, b):
    D = nn.Sequential(nn.Linear(2, 1, dtype=np.float64))
    params = {"0.weight": np.array([w], dtype=np.float64), "0.bias": np.array([b], float)}
    return D, params


def test_r1_penalty_is_half_r1_times_the_squared_input_gradient():
    # A linear discriminator's input gradient is its weight w: the penalty is r1/2 |w|^2,
    # and its gradient with respect to w is r1 w (a derivative of a derivative).
    D, p = _linear_d([0.6, -0.8], 0.1)
    real = np.random.default_rng(1).standard_normal((16, 2))
    fake = np.random.default_rng(2).standard_normal((16, 2))
    plain = gan.discriminator_loss(p, D, real, fake, 0.0)
    assert gan.discriminator_loss(p, D, real, fake, 2.0) == pytest.approx(plain + 1.0)
    g0 = gk.grad(gan.discriminator_loss)(p, D, real, fake, 0.0)
    g2 = gk.grad(gan.discriminator_loss)(p, D, real, fake, 2.0)
    np.testing.assert_allclose(g2["0.weight"] - g0["0.weight"], [[1.2, -1.6]], atol=1e-12)


def test_r1_penalty_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    D = nn.Sequential(nn.Linear(2, 6, rng=rng, dtype=np.float64), nn.LeakyReLU(0.2),
                      nn.Linear(6, 1, rng=rng, dtype=np.float64))
    params = D.state_dict()
    real, fake = rng.standard_normal((8, 2)), rng.standard_normal((8, 2))
    gk.check_grads(lambda p: gan.discriminator_loss(p, D, real, fake, 0.5), (params,),
                   order=1, modes=("rev",))


def test_the_training_state_round_trips_through_a_checkpoint():
    trainer = gan._Trainer(gan.Config(), 0)
    state = trainer.start()
    back = gan._unflatten(gan._flatten(state))
    assert back.keys() == state.keys()
    for part, tree in state.items():
        assert back[part].keys() == tree.keys()
        for key, value in tree.items():
            if isinstance(value, dict):
                assert back[part][key].keys() == value.keys()
                for name, array in value.items():
                    np.testing.assert_array_equal(back[part][key][name], array)
            else:
                np.testing.assert_array_equal(back[part][key], value)


def test_bad_settings_are_refused():
    from gradkit.recipes import ConfigError

    with pytest.raises(ConfigError, match="gan.Config: data must be one of"):
        gan.Config(data="faces")
    with pytest.raises(ConfigError, match="r1"):
        gan.Config(r1=-1.0)


def test_refine_climbs_the_discriminators_logit():
    # A linear discriminator's gradient is its weight: each step moves x by rate * w.
    D, p = _linear_d([0.6, -0.8], 0.1)
    x = np.random.default_rng(4).standard_normal((5, 2))
    moved = gan.refine(D, p, x, steps=7, rate=0.01)
    np.testing.assert_allclose(moved - x, np.tile([0.042, -0.056], (5, 1)), atol=1e-12)
    np.testing.assert_array_equal(gan.refine(D, p, x, steps=0, rate=0.01), x)


def test_each_data_set_has_its_own_settings_unless_they_are_given():
    assert gan.Config().penalty == gan.SETTINGS["gaussians"]["r1"] == 0.01
    assert gan.Config(data="digits").penalty == gan.SETTINGS["digits"]["r1"] == 3.0
    assert gan.Config(data="digits", r1=0.0).penalty == 0.0
    assert gan.Config(data="digits").n_steps == 10000 and gan.Config().batch_size == 256
    assert gan.Config().decay == gan.Config(data="digits").decay == 0.0
    assert gan.Config(data="digits", ema=0.999).decay == 0.999
    assert gan.Config().refinement == ("samples", 20, 0.01)
    assert gan.Config(data="digits").refinement == ("noise", 50, 0.1)
    assert gan.Config(data="digits", refine_in="samples", refine_steps=0).refinement == (
        "samples", 0, 0.1)


def test_bad_averaging_and_refinement_settings_are_refused():
    from gradkit.recipes import ConfigError

    with pytest.raises(ConfigError, match="ema"):
        gan.Config(ema=1.0)
    with pytest.raises(ConfigError, match="refine_in must be 'samples' or 'noise'"):
        gan.Config(refine_in="pixels")
    with pytest.raises(ConfigError, match="refine_rate"):
        gan.Config(refine_rate=0.0)


def test_ema_update_blends_each_weight_by_the_decay():
    rng = np.random.default_rng(5)
    average = {"a": rng.standard_normal((3, 2)), "b": rng.standard_normal(4)}
    params = {"a": rng.standard_normal((3, 2)), "b": rng.standard_normal(4)}
    new = gan.ema_update(average, params, 0.75)
    for name in average:
        np.testing.assert_allclose(new[name], 0.75 * average[name] + 0.25 * params[name])
    assert gan.ema_update(average, params, 0.0)["b"] == pytest.approx(params["b"])


def test_the_trainer_keeps_a_moving_average_of_the_generator():
    trainer = gan._Trainer(gan.Config(ema=0.9), 0)
    start = trainer.start()
    for name, value in start["G"].items():  # the average starts at the first weights
        np.testing.assert_array_equal(start["ema"][name], value)
    one, _ = trainer.steps(start, 1)
    two, _ = trainer.steps(one, 1)
    for name in start["G"]:
        expected = 0.9 * (0.9 * start["G"][name] + 0.1 * one["G"][name]) + 0.1 * two["G"][name]
        np.testing.assert_allclose(two["ema"][name], expected, rtol=1e-5, atol=1e-7)
        assert not np.allclose(two["ema"][name], two["G"][name])
    assert "ema" not in gan._Trainer(gan.Config(), 0).start()   # the 8 Gaussians: none
    back = gan._unflatten(gan._flatten(two))                    # and it is checkpointed
    np.testing.assert_array_equal(back["ema"]["0.weight"], two["ema"]["0.weight"])


def test_refine_noise_climbs_the_logit_of_the_generated_sample():
    # Linear G (z -> A z + c) and D (x -> w.x + b): grad_z D(G(z)) = A^T w, the same for
    # every z, so each step moves z by rate * A^T w.
    G = nn.Sequential(nn.Linear(3, 2, dtype=np.float64))
    A = np.array([[1.0, -2.0, 0.5], [0.3, 0.0, 4.0]])
    pg = {"0.weight": A, "0.bias": np.array([0.2, -0.1])}
    D, pd = _linear_d([0.6, -0.8], 0.1)
    z = np.random.default_rng(6).standard_normal((4, 3))
    moved = gan.refine_noise(G, pg, D, pd, z, steps=5, rate=0.02)
    np.testing.assert_allclose(moved - z, np.tile(5 * 0.02 * A.T @ [0.6, -0.8], (4, 1)),
                               atol=1e-12)


def test_mosaic_tiles_the_digits_row_by_row():
    images = np.arange(4)[:, None] * np.ones((4, 64))        # image k: every pixel k
    grid = gan._mosaic(images, rows=2)
    assert grid.shape == (18, 18)
    assert grid[0, 0] == 0 and grid[0, 9] == 1 and grid[9, 0] == 2 and grid[17, 17] == -1
    assert grid[8, 0] == -1                                  # the blank row between them


def test_a_short_digits_run_judges_the_average_refined_and_own_samples(tmp_path):
    from gradkit import recipes

    cfg = gan.Config(data="digits", steps=20, chunk=10, samples=100, refine_steps=3, ema=0.99)
    metrics = recipes.run("gan", cfg, seed=0, out=tmp_path, verbose=False)
    assert metrics["value"] == metrics["classes"]
    for key in ("refined", "without_ema"):
        assert 0 <= metrics[key]["classes"] <= 10
        assert 0.1 <= metrics[key]["confidence"] <= 1.0
    assert metrics["refined"]["confidence"] != metrics["confidence"]
    assert len(list(tmp_path.rglob("samples.png"))) == 1
