"""The edges recipe: gradkit's Sobel against SciPy's on real photographs, and derivatives
through it (the contract is checked for every recipe in test_recipe_contract.py)."""

import numpy as np
import pytest
from scipy import ndimage

from gradkit import check_grads, cli, grad, recipes
from gradkit import signal as gsignal
from gradkit.recipes.edges import MODES, SHIPPED_IMAGES, Config, edge_energy, load_image


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("edges")
    # Every image whole, every mode; a smaller denoising than the defaults' (seconds).
    cfg = Config(denoise_size=96, weights=(0.04, 0.08), iterations=200)
    return out, recipes.run("edges", cfg, out=out, verbose=False)


def test_equal_to_scipy_in_every_mode_on_every_image(run):
    _, m = run
    assert set(m["comparisons"]) == set(SHIPPED_IMAGES)
    for per_image in m["comparisons"].values():
        assert set(per_image) == set(MODES)
        for diffs in per_image.values():
            assert max(diffs[k] for k in ("gx", "gy", "magnitude", "orientation")) <= 1e-12
    assert m["value"] <= 1e-12 and m["goal_met"] is True


def test_the_clipped_snippet_loses_edges(run):
    _, m = run
    for lost in m["clipped_snippet"].values():
        # Roughly half of the strong edges face "backwards" in one direction or both.
        assert 0.3 < lost["edges_losing_half"] < 0.7
        assert lost["edges_outside_first_quadrant"] > 0.5


def test_denoising_by_gradient_descent_through_the_filter(run):
    out, m = run
    d = m["denoise"]
    assert d["forward"]["psnr"] > d["psnr_noisy"] + 3
    assert d["sobel"]["psnr"] > d["psnr_noisy"]
    assert m["loss_gradient"].startswith("order 2")
    for name in ("edges", "loss_gradient"):
        assert (out / f"{name}.png").stat().st_size > 10_000


def test_orientation_and_magnitude_by_hand():
    image = load_image("coins")[100:140, 100:150]
    gy, gx = ndimage.sobel(image, axis=0), ndimage.sobel(image, axis=1)
    assert np.max(np.abs(gsignal.gradient_magnitude(image) - np.hypot(gx, gy))) < 1e-13
    angle = gsignal.gradient_orientation(image)
    strong = np.hypot(gx, gy) > 0.05
    assert np.max(np.abs(angle - np.arctan2(gy, gx))[strong]) < 1e-13


def test_the_edge_energy_gradient_is_checked_and_sees_what_sobel_misses():
    patch = load_image("camera")[240:256, 240:256]
    check_grads(edge_energy, (patch,), order=2, eps=1e-6)
    board = np.indices((32, 32)).sum(0) % 2.0
    inner = (slice(2, -2), slice(2, -2))
    # The central difference cannot see a checkerboard: inside, the Sobel energy's
    # gradient vanishes there, the forward difference's does not.
    assert np.abs(grad(edge_energy)(board)[inner]).max() < 1e-12
    assert np.abs(grad(lambda u: edge_energy(u, "forward"))(board)[inner]).max() > 1e-3


def test_user_images_and_bad_names(tmp_path, capsys):
    from PIL import Image

    rgb = (np.random.default_rng(0).random((40, 30, 3)) * 255).astype(np.uint8)
    path = tmp_path / "photo.png"
    Image.fromarray(rgb).save(path)
    grey = load_image(str(path))
    assert grey.shape == (40, 30)
    assert np.allclose(grey, rgb / 255.0 @ np.array([0.2125, 0.7154, 0.0721]))
    assert cli.main(["run", "edges", "--smoke", "--quiet", "--set", f"images={path}",
                     "--out", str(tmp_path / "run")]) == 0
    assert cli.main(["run", "edges", "--set", "images=camera,nope.png"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "images must be shipped images" in err
    assert "'nope.png' is neither" in err
