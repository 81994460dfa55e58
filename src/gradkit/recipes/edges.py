"""Edge detection: Sobel gradients of real photographs, and derivatives through them.

The gradient magnitude and orientation of six real photographs (scikit-image's CC0 and
public-domain images, shipped with gradkit) are computed by :mod:`gradkit.signal` in
every boundary mode and compared with ``scipy.ndimage.sobel``: the primary metric is the
largest absolute difference over all images, modes, components, magnitudes and
orientations (orientation where the gradient is not zero: there its angle is undefined).
Beside it, the snippet this recipe replaces, which clips each directional response to
[0, 255] before combining them, and what that loses. Then a derivative-based use: the
gradient of an image loss with respect to the image, through the Sobel filter, checked
by ``check_grads`` and put to work denoising a photograph by L-BFGS.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as onp

from .. import numpy as gnp
from .. import signal as gsignal
from ..check import check_grads
from ..optim import LBFGS
from ..transforms import grad, value_and_grad
from ..validation import invalid
from ._rundir import RunDir
from ._spec import ConfigError, Spec, at_least, positive, refuse
from .shared.figures import new_figure, save_figure

__all__ = ["Config", "SPEC", "run", "load_image", "SHIPPED_IMAGES", "MODES"]

SHIPPED_IMAGES = ("camera", "coins", "brick", "astronaut", "chelsea", "coffee")
MODES = ("reflect", "nearest", "mirror", "wrap", "constant")
_DATA = Path(__file__).parent / "data" / "images"
# ITU-R BT.709 luma, as skimage.color.rgb2gray.
_LUMA = onp.array([0.2125, 0.7154, 0.0721])

SPEC = Spec(
    name="edges",
    summary="Sobel edges of real photographs equal to scipy.ndimage, and derivatives "
            "through them",
    metric="max_abs_diff", higher_is_better=False, goal=1e-12,
    baseline="scipy.ndimage.sobel (the reference: value is gradkit's largest difference "
             "from it)", baseline_source="measured",
    requires=("scipy", "matplotlib", "PIL"),
    timing_keys=("seconds", "gradkit_ms", "scipy_ms"))


@dataclass(frozen=True)
class Config:
    """Settings of the edges recipe.

    Parameters
    ----------
    images : tuple of str
        Shipped images by name (``camera``, ``coins``, ``brick``, ``astronaut``,
        ``chelsea``, ``coffee``) or paths to image files (PNG, JPEG...). Colour images
        are converted to grey (BT.709 luma); intensities are scaled to [0, 1].
    modes : tuple of str
        Boundary modes compared with SciPy.
    crop : int, default 0
        Compare on the top-left ``crop x crop`` pixels of each image (0: whole images).
    denoise_size : int, default 256
        Side of the centre patch of the first image, denoised by gradient descent.
    noise : float, default 0.1
        Standard deviation of the Gaussian noise added to it.
    weights : tuple of float
        Weights of the edge energy tried in the denoising objective (the best is kept,
        as the Gaussian blur's best sigma is).
    iterations : int, default 500
        Most L-BFGS iterations of each denoising.
    """

    images: tuple[str, ...] = SHIPPED_IMAGES
    modes: tuple[str, ...] = MODES
    crop: int = 0
    denoise_size: int = 256
    noise: float = 0.1
    weights: tuple[float, ...] = (0.01, 0.02, 0.04, 0.08, 0.16)
    iterations: int = 500

    def __post_init__(self) -> None:
        missing = [n for n in self.images if n not in SHIPPED_IMAGES and not Path(n).is_file()]
        if missing or not self.images:
            raise refuse(self, "images", f"shipped images ({', '.join(SHIPPED_IMAGES)}) or "
                                         f"image files; {missing[0]!r} is neither" if missing
                         else "at least one image")
        if not self.modes or any(m not in MODES for m in self.modes):
            raise refuse(self, "modes", f"one or more of {', '.join(MODES)}")
        at_least(self, "crop", 0)
        at_least(self, "denoise_size", 8)
        positive(self, "noise")
        if not self.weights or min(self.weights) <= 0:
            raise refuse(self, "weights", "one or more positive numbers")
        at_least(self, "iterations", 1)

    @classmethod
    def smoke(cls) -> Config:
        return cls(images=("camera", "chelsea"), crop=64, denoise_size=24, weights=(0.04,),
                   iterations=20)


def load_image(name: str) -> onp.ndarray:
    """A shipped image by name, or an image file by path, as grey float64 in [0, 1].

    Examples
    --------
    >>> image = load_image("camera")
    >>> image.shape, image.dtype, float(image.min()) >= 0.0, float(image.max()) <= 1.0
    ((512, 512), dtype('float64'), True, True)
    """
    from PIL import Image

    path = _DATA / f"{name}.png" if name in SHIPPED_IMAGES else Path(name)
    if not path.is_file():
        raise invalid("recipes.edges.load_image", "name", f"a shipped image "
                      f"({', '.join(SHIPPED_IMAGES)}) or an image file", name,
                      error=ConfigError)
    with Image.open(path) as im:
        if im.mode not in ("L", "RGB", "RGBA"):
            im = im.convert("RGB")
        pixels = onp.asarray(im, dtype=onp.float64) / 255.0
    return pixels[..., :3] @ _LUMA if pixels.ndim == 3 else pixels


def _angle_gap(a, b):
    """|a - b| for angles, wrapped to [0, pi]."""
    return onp.abs(onp.angle(onp.exp(1j * (a - b))))


def _compare(image: onp.ndarray, mode: str) -> dict:
    """gradkit's Sobel against SciPy's in one boundary mode: the largest differences."""
    from scipy import ndimage

    gy, gx = gsignal.sobel(image, axis=0, mode=mode), gsignal.sobel(image, axis=1, mode=mode)
    sy, sx = ndimage.sobel(image, axis=0, mode=mode), ndimage.sobel(image, axis=1, mode=mode)
    magnitude = gsignal.gradient_magnitude(image, mode=mode)
    reference = ndimage.generic_gradient_magnitude(image, ndimage.sobel, mode=mode)
    orientation = gsignal.gradient_orientation(image, mode=mode)
    # The angle of a zero gradient is undefined (arctan2 of rounding noise): compare where
    # the exact gradient is not zero. Sobel of 8-bit data is a multiple of 1/255 there.
    defined = reference > 1e-6
    angle = _angle_gap(orientation, onp.arctan2(sy, sx))[defined]
    return {"gx": float(onp.max(onp.abs(gx - sx))), "gy": float(onp.max(onp.abs(gy - sy))),
            "magnitude": float(onp.max(onp.abs(magnitude - reference))),
            "orientation": float(angle.max()) if angle.size else 0.0,
            "flat_fraction": float(1.0 - defined.mean())}


def _clipped(image: onp.ndarray) -> tuple[onp.ndarray, dict]:
    """The snippet's Sobel: each response clipped to [0, 255], then combined."""
    from scipy import ndimage

    img = image * 255.0
    sx, sy = ndimage.sobel(img, axis=1), ndimage.sobel(img, axis=0)
    truth = onp.hypot(sx, sy)
    clipped = onp.hypot(onp.clip(sx, 0, 255), onp.clip(sy, 0, 255))
    edges = truth >= onp.quantile(truth, 0.9)  # the strongest tenth of the pixels
    angle = onp.arctan2(sy, sx)[edges]
    return clipped, {
        "edges_losing_half": float(onp.mean(clipped[edges] < 0.5 * truth[edges])),
        "edges_outside_first_quadrant": float(onp.mean((angle < 0) | (angle > onp.pi / 2))),
        "mean_relative_loss": float(onp.mean(1 - clipped[edges] / truth[edges])),
        "saturated": float(onp.mean((onp.abs(sx) > 255) | (onp.abs(sy) > 255))),
    }


def edge_energy(u, operator: str = "sobel", eps: float = 1e-3):
    """Mean smoothed gradient magnitude ``sqrt(gx^2 + gy^2 + eps^2)`` of image ``u``.

    A total-variation penalty, differentiable everywhere (``eps`` smooths the corner at
    zero gradient), with the gradient taken by :func:`gradkit.signal.sobel`
    (``operator="sobel"``) or by forward differences (``"forward"``, the usual TV).

    Examples
    --------
    >>> import numpy as np
    >>> flat, ramp = np.zeros((6, 6)), np.tile(np.arange(6.0), (6, 1))
    >>> bool(edge_energy(flat) < edge_energy(ramp))
    True
    >>> board = np.indices((32, 32)).sum(0) % 2.0  # a checkerboard: Sobel's blind spot
    >>> float(edge_energy(board, "forward")) > 10 * float(edge_energy(board, "sobel"))
    True
    """
    if operator == "sobel":
        gx, gy = gsignal.sobel(u, axis=1), gsignal.sobel(u, axis=0)
    else:
        gx, gy = gnp.diff(u, axis=1)[:-1, :], gnp.diff(u, axis=0)[:, :-1]
    return gnp.mean(gnp.sqrt(gx * gx + gy * gy + eps * eps))


def _denoise(clean: onp.ndarray, cfg: Config, seed: int) -> tuple[dict, dict]:
    """Denoising by L-BFGS on ``0.5 mean((u - f)^2) + weight * edge_energy(u)``.

    Each operator keeps its best weight, and the Gaussian blur its best sigma, all chosen
    on the clean patch: a comparison of the operators, not a blind denoiser.
    """
    from scipy import ndimage

    rng = onp.random.default_rng(seed)
    noisy = clean + cfg.noise * rng.standard_normal(clean.shape)
    arrays = {"noisy": noisy}
    values = {"psnr_noisy": _psnr(noisy, clean)}
    for operator in ("sobel", "forward"):
        best = None
        for weight in cfg.weights:
            def objective(u, weight=weight, operator=operator):
                return 0.5 * gnp.mean((u - noisy) ** 2) + weight * edge_energy(u, operator)

            res = LBFGS(gtol=1e-10, ftol=1e-12, max_iter=cfg.iterations).minimize(
                value_and_grad(objective), noisy, jac=True)
            score = _psnr(res.x, clean)
            if best is None or score > best[0]:
                best = (score, weight, res)
        arrays[operator] = best[2].x
        values[operator] = {"psnr": best[0], "weight": best[1],
                            "lbfgs_iterations": int(best[2].nit)}
    sigmas = onp.linspace(0.3, 3.0, 28)
    blurred = [ndimage.gaussian_filter(noisy, s, mode="reflect") for s in sigmas]
    k = int(onp.argmax([_psnr(b, clean) for b in blurred]))
    arrays["gaussian"] = blurred[k]
    values["gaussian"] = {"psnr": _psnr(blurred[k], clean), "sigma": float(sigmas[k])}
    return arrays, values


def _psnr(u, clean) -> float:
    return float(10 * onp.log10(1.0 / onp.mean((onp.asarray(u) - clean) ** 2)))


def _timings(image: onp.ndarray) -> dict:
    """Milliseconds for one gradient magnitude of ``image``: gradkit and SciPy, best of 5."""
    from scipy import ndimage

    def best(f):
        times = []
        for _ in range(5):
            t = time.perf_counter()
            f()
            times.append(time.perf_counter() - t)
        return round(1e3 * min(times), 3)

    return {"gradkit_ms": best(lambda: gsignal.gradient_magnitude(image)),
            "scipy_ms": best(lambda: ndimage.generic_gradient_magnitude(image, ndimage.sobel))}


def run(cfg: Config, rd: RunDir) -> dict:
    """Compare gradkit's Sobel with SciPy's; show the clipped snippet; differentiate through it.

    Figures: ``edges.png`` (magnitude, orientation, the clipped version),
    ``loss_gradient.png`` (the gradient of the edge energy, and the denoising).
    """
    images = {}
    for name in cfg.images:
        image = load_image(name)
        images[name] = image[:cfg.crop, :cfg.crop] if cfg.crop else image
    comparisons = {}
    for name, image in images.items():
        _, comparisons[name] = rd.stage(
            f"compare-{name}", lambda image=image: ({}, {m: _compare(image, m)
                                                         for m in cfg.modes}))
    _, clipped = rd.stage("clipped", lambda: ({}, {n: _clipped(im)[1]
                                                   for n, im in images.items()}))
    first = load_image(cfg.images[0])
    size = min(cfg.denoise_size, *first.shape)
    top, left = (first.shape[0] - size) // 2, (first.shape[1] - size) // 2
    clean = first[top:top + size, left:left + size]

    def checked():
        patch = clean[:16, :16]
        # Raises if a derivative is off. The loss bends on the scale of its smoothing
        # (1e-3), so the finite-difference step must be far below it.
        for operator in ("sobel", "forward"):
            check_grads(lambda u, op=operator: edge_energy(u, op), (patch,), order=2,
                        eps=1e-6)
        g = grad(edge_energy)(clean)
        return {"gradient": g}, {"check_grads": "order 2, reverse and forward: passed"}

    arrays, check = rd.stage("loss-gradient", checked)
    denoised, denoise = rd.stage("denoise", lambda: _denoise(clean, cfg, rd.seed))
    _plot_edges(images, rd.figure_path("edges"))
    _plot_gradient(clean, arrays["gradient"], denoised, denoise, rd.figure_path("loss_gradient"))

    worst = max(v for per_image in comparisons.values() for per_mode in per_image.values()
                for k, v in per_mode.items() if k != "flat_fraction")
    lost = onp.mean([c["edges_losing_half"] for c in clipped.values()])
    rd.say(f"  clipped snippet: {100 * lost:.0f}% of edge pixels lose half their magnitude; "
           f"denoising PSNR {denoise['psnr_noisy']:.2f} dB -> Sobel TV "
           f"{denoise['sobel']['psnr']:.2f}, forward-difference TV "
           f"{denoise['forward']['psnr']:.2f}, best Gaussian blur "
           f"{denoise['gaussian']['psnr']:.2f} dB")
    return {
        "value": worst,
        "baseline_value": None,
        "comparisons": comparisons,
        "clipped_snippet": clipped,
        "loss_gradient": check["check_grads"],
        "denoise": denoise,
        **_timings(images[cfg.images[0]]),
    }


def _centre(image: onp.ndarray, size: int) -> onp.ndarray:
    top, left = max(0, (image.shape[0] - size) // 2), max(0, (image.shape[1] - size) // 2)
    return image[top:top + size, left:left + size]


def _plot_edges(images: dict, path: Path) -> None:
    """Centre crops at about one figure pixel per image pixel: edges stay visible."""
    names = list(images)[:3]
    fig, axes = new_figure(len(names), 4, figsize=(10, 2.6 * len(names)), squeeze=False)
    for row, name in zip(axes, names):
        image = _centre(images[name], 224)
        magnitude = gsignal.gradient_magnitude(image)
        clipped, lost = _clipped(image)
        panels = [(image, "gray", f"{name}"),
                  (magnitude, "magma", "gradient magnitude (gradkit)"),
                  (onp.where(magnitude > 0.05 * magnitude.max(),
                             gsignal.gradient_orientation(image), onp.nan), "twilight",
                   "orientation (where the magnitude is over 5% of its max)"),
                  (clipped / 255.0, "magma",
                   f"clipped snippet: {100 * lost['edges_losing_half']:.0f}% of edges lose half")]
        for ax, (data, cmap, title) in zip(row, panels):
            ax.imshow(data, cmap=cmap, vmax=float(magnitude.max()) if cmap == "magma" else None)
            ax.set_title(title, fontsize=8)
            ax.set_axis_off()
    save_figure(fig, path, dpi=80)


def _plot_gradient(clean, gradient, denoised: dict, info: dict, path: Path) -> None:
    fig, axes = new_figure(2, 3, figsize=(9, 6.4))
    axes = axes.ravel()
    lim = float(onp.quantile(onp.abs(gradient), 0.99))  # a few extremes would wash it out
    panels = [(clean, None, "clean patch"),
              (gradient, lim, "d edge_energy / d image, through Sobel"),
              (denoised["noisy"], None, f"noisy: {info['psnr_noisy']:.2f} dB"),
              (denoised["gaussian"], None,
               f"best Gaussian blur: {info['gaussian']['psnr']:.2f} dB"),
              (denoised["sobel"], None, f"L-BFGS, Sobel TV: {info['sobel']['psnr']:.2f} dB"),
              (denoised["forward"], None,
               f"L-BFGS, forward-difference TV: {info['forward']['psnr']:.2f} dB")]
    for ax, (data, v, title) in zip(axes, panels):
        if v is None:
            ax.imshow(onp.clip(data, 0, 1), cmap="gray", vmin=0, vmax=1)
        else:
            ax.imshow(data, cmap="RdBu_r", vmin=-v, vmax=v)
        ax.set_title(title, fontsize=8)
        ax.set_axis_off()
    save_figure(fig, path, dpi=90)
