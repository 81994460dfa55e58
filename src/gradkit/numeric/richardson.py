"""Adaptive Richardson extrapolation: the engine behind every real-arithmetic estimate.

The engine differentiates ``P`` one-dimensional functions ``g_p(t)`` (each with ``K``
output components) at ``t = origin[p]``, all at once. It sees them only through
``evaluate(t, which)``, which returns ``g_which[i](t[i])`` for flat arrays ``t`` and
``which`` (so the caller decides how evaluations are batched), and ``evaluate.eps``, the
precision of the values (float64's eps unless ``f`` returns float32).

How one point is handled
------------------------
* Steps are powers of two, starting at ``h0 = 2**round(log2(scale / 16))``, so that the
  stencil points ``t + j*h`` are exact whenever ``|t|`` and ``h`` are not far apart, and
  halving a step reuses the points the two levels share.
* A *run* evaluates the base stencil at ``h, h/2, h/4, ...`` and extrapolates every window
  of at least three consecutive levels (Richardson with the known error powers). Each
  extrapolant's error estimate is its spread -- the largest of its distances to the two
  lower-order values it was built from (Ridders' estimate) and to the neighbouring window
  of its own order -- plus a rounding bound ``eps * sum(|w| (|g| + |t g'|)) / h**n``
  carried through the same extrapolation weights. The entry with the smallest estimate
  wins.
* A run descends while it improves. It jumps down by 8 when its first three levels are not
  in the asymptotic regime (successive differences do not shrink as the error power says),
  and by 16 when the function is not finite at a step (a domain-aware step). It ends when
  the estimate is rounding-limited, stalls, or stops converging. A later run (at smaller
  steps) that disagrees with the best estimate so far overrules it: large steps are the
  ones that truncation and aliasing corrupt.
* When the best estimate is still poor and truncation-limited, a new run starts 8 times
  lower. When it is poor and rounding-limited because ``|g|`` dwarfs the change of ``g``
  (``1e-8 x**3 + 1``), a new run starts at a larger step; its result is only accepted if it
  agrees with the earlier one within their error estimates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..backend import xp
from .stencils import error_powers, stencil

__all__ = ["EPS", "Estimate", "adaptive", "fixed_step", "initial_step", "typical_scale",
           "OK", "LARGE_ERROR", "NOT_FINITE", "NO_ESTIMATE"]

EPS = float(xp.finfo(xp.float64).eps)

# Status codes, per point and component.
OK, LARGE_ERROR, NOT_FINITE, NO_ESTIMATE = 0, 1, 2, 3

_DEPTH = 8          # levels of a run that the extrapolation table keeps
_MIN_LEVELS = 3     # an estimate needs at least three levels
_MAX_RUN = 10       # a run ends after this many levels
_MAX_LEVELS = 48    # levels per point, all runs together
_MAX_INVALID = 6    # step cuts by 16 while the function is not finite
_MAX_DOWN = 4       # jumps down by 8 after runs that are not in the asymptotic regime
_MAX_UP = 3         # restarts at a larger step when rounding error dominates
_OFFSET = 1e3      # restart at larger steps only where |g| > _OFFSET * scale**n * |g^(n)|
_TRUST = 1e-3       # success needs error <= _TRUST * magnitude of the derivative


@dataclass
class Estimate:
    """Per point ``p`` and component ``c``: the derivative and its error estimate."""

    value: object       # (P, K)
    error: object       # (P, K)
    nfev: object        # (P,)
    status: object      # (P, K) one of OK, LARGE_ERROR, NOT_FINITE, NO_ESTIMATE
    magnitude: object   # (P, K) scale of the derivative, for relative tolerances


def typical_scale(x):
    """The scale on which a function of ``x`` is assumed to vary: ``1 + log(max(|x|, 1))``.

    It grows with ``|x|`` (a function of a large ``x`` usually varies on a larger scale)
    but slowly, so that the first steps stay short of the period of an oscillation: steps
    far beyond it alias, and can then look like a converging sequence.
    """
    return 1.0 + xp.log(xp.maximum(xp.abs(x), 1.0))


def initial_step(scale):
    """The first step of the ladder: a power of two near ``scale / 16``."""
    return 2.0 ** xp.round(xp.log2(scale / 16.0))


def _reference(value, magnitude):
    """The magnitude that relative tolerances refer to: the larger of ``|value|`` and the
    largest ``|D|`` of the run that gave it; infinite where every ``D`` was exactly zero
    (an exact zero, as for an even function differentiated by a symmetric stencil)."""
    ref = xp.maximum(xp.abs(value), magnitude)
    return xp.where(ref == 0, xp.inf, ref)


def _extrapolate(run_d, run_a, powers):
    """Best extrapolant of a run (newest level last) per point and component.

    Returns value, total error estimate and rounding part, over the windows of at least
    ``_MIN_LEVELS`` levels; NaN levels (not yet evaluated) make their windows NaN.
    """
    with xp.errstate(all="ignore"):
        return _extrapolate_table(run_d, run_a, powers)


def _extrapolate_table(run_d, run_a, powers):
    shape = run_d.shape[:-1]
    best_v = xp.full(shape, xp.nan)
    best_e = xp.full(shape, xp.inf)
    best_n = xp.full(shape, xp.nan)
    t, a = run_d, run_a
    for j in range(1, run_d.shape[-1]):
        c = 1.0 / (2.0 ** powers[j - 1] - 1.0)
        t_new = t[..., 1:] + (t[..., 1:] - t[..., :-1]) * c
        a_new = a[..., 1:] * (1.0 + c) + a[..., :-1] * c
        # The spread of an extrapolant: its larger distance to the two lower-order values
        # it combines (Ridders), and to the neighbouring window of its own order (the next
        # finer one; for the finest, the next coarser), so that a plateau in one column of
        # the table does not pass for convergence.
        spread = xp.maximum(xp.abs(t_new - t[..., 1:]), xp.abs(t_new - t[..., :-1]))
        gap = xp.full(t_new.shape[:-1] + (t_new.shape[-1] + 1,), xp.nan)
        gap[..., 1:-1] = xp.abs(xp.diff(t_new, axis=-1))
        same = xp.where(xp.isnan(gap[..., 1:]), gap[..., :-1], gap[..., 1:])
        spread = xp.maximum(spread, xp.where(xp.isnan(same), 0.0, same))
        t, a = t_new, a_new
        if j + 1 < _MIN_LEVELS:
            continue
        noise = EPS * a
        total = spread + noise
        total = xp.where(xp.isfinite(total), total, xp.inf)
        k = xp.argmin(total, axis=-1)[..., None]
        e = xp.take_along_axis(total, k, axis=-1)[..., 0]
        better = e < best_e
        best_v = xp.where(better, xp.take_along_axis(t, k, axis=-1)[..., 0], best_v)
        best_n = xp.where(better, xp.take_along_axis(noise, k, axis=-1)[..., 0], best_n)
        best_e = xp.where(better, e, best_e)
    return best_v, best_e, best_n


def _level(evaluate, origin, argmag, idx, h, offsets, weights, n, cache):
    """Evaluate the base stencil at step ``h`` for the points ``idx``.

    Reuses ``g(origin)`` and, when ``h`` halves the previous step, the previous level's
    values at even offsets. Returns D (k, K), rounding magnitude A (k, K), the largest
    ``|g|`` (k, K) and the evaluations (k,).
    """
    f0, has_f0, prev_h, prev_vals = cache
    q, k = offsets.size, idx.size
    ncomp = f0.shape[1]
    vals = xp.full((q, k, ncomp), xp.nan)
    need = xp.ones((q, k), dtype=bool)
    zero = xp.flatnonzero(offsets == 0)
    if zero.size:
        vals[zero[0]] = f0[idx]
        need[zero[0]] = ~has_f0[idx]
    halved = h == prev_h[idx] / 2
    if halved.any():
        for i, o in enumerate(offsets):
            src = xp.flatnonzero(offsets == o / 2)
            if o % 2 == 0 and o != 0 and src.size:
                vals[i, halved] = prev_vals[src[0], idx[halved]]
                need[i, halved] = False
    t = origin[idx][None, :] + offsets[:, None] * h[None, :]
    if need.any():
        which = xp.broadcast_to(idx[None, :], (q, k))[need]
        vals[need] = evaluate(t[need], which)
    # Rounding is measured in units of the output's precision (float32 output: its eps).
    unit = getattr(evaluate, "eps", EPS) / EPS
    if zero.size:
        f0[idx] = vals[zero[0]]
        has_f0[idx] = True
    prev_h[idx] = h
    prev_vals[:, idx] = vals
    with xp.errstate(all="ignore"):
        d = xp.einsum("q,qkc->kc", weights, vals) / (h ** n)[:, None]
        slope = (vals[-1] - vals[0]) / ((offsets[-1] - offsets[0]) * h)[:, None]
        arg = argmag[idx][None, :] + xp.abs(offsets[:, None] * h[None, :])
        nu = xp.abs(vals) + arg[..., None] * xp.abs(slope)[None]
        a = unit * xp.einsum("q,qkc->kc", xp.abs(weights), nu) / (h ** n)[:, None]
        gmax = xp.abs(vals).max(axis=0)
    return d, a, gmax, need.sum(axis=0)


def adaptive(evaluate: Callable, origin, scale, argmag, ncomp: int, n: int, method: str,
             accuracy: int, h0=None, at_origin=None) -> Estimate:
    """Adaptive Richardson extrapolation for ``P = origin.size`` points (see module doc).

    ``at_origin`` (P, K), if given, holds the known values at the origins.
    """
    offsets, weights = stencil(n, method, accuracy)
    powers = error_powers(method, accuracy, _DEPTH)
    rtarget = 1e-10 * 16.0 ** (n - 1)
    # In the asymptotic regime successive differences shrink by 2**-powers[0]; a run whose
    # differences shrink by less than twice that is not there yet.
    shrink = 2.0 ** (1 - powers[0])
    npts = origin.size
    shape_pk = (npts, ncomp)
    h = initial_step(scale) if h0 is None else xp.array(h0, dtype=xp.float64)
    h = xp.broadcast_to(h, (npts,)).astype(xp.float64)

    cache = (xp.full(shape_pk, xp.nan), xp.zeros(npts, dtype=bool), xp.full(npts, xp.nan),
             xp.full((offsets.size, npts, ncomp), xp.nan))
    if at_origin is not None:
        cache[0][...] = at_origin
        cache[1][...] = True
    run_d = xp.full(shape_pk + (_DEPTH,), xp.nan)
    run_a = xp.full(shape_pk + (_DEPTH,), xp.nan)
    run_len = xp.zeros(npts, dtype=int)
    run_top = h.copy()
    run_stall = xp.zeros(npts, dtype=int)
    rb_v, rb_e, rb_n = xp.full(shape_pk, xp.nan), xp.full(shape_pk, xp.inf), xp.zeros(shape_pk)
    rb_mag, rb_g = xp.zeros(shape_pk), xp.zeros(shape_pk)
    gb_v, gb_e, gb_n = xp.full(shape_pk, xp.nan), xp.full(shape_pk, xp.inf), xp.zeros(shape_pk)
    gb_mag, gb_g = xp.zeros(shape_pk), xp.zeros(shape_pk)
    gb_top = h.copy()
    nfev = xp.zeros(npts, dtype=int)
    n_invalid = xp.zeros(npts, dtype=int)
    n_down = xp.zeros(npts, dtype=int)
    n_up = xp.zeros(npts, dtype=int)
    going_up = xp.zeros(npts, dtype=bool)
    ever_valid = xp.zeros(npts, dtype=bool)
    active = xp.ones(npts, dtype=bool)

    def new_run(sel, step):
        run_d[sel] = xp.nan
        run_a[sel] = xp.nan
        run_len[sel] = 0
        run_stall[sel] = 0
        rb_v[sel], rb_e[sel], rb_n[sel], rb_mag[sel], rb_g[sel] = xp.nan, xp.inf, 0.0, 0.0, 0.0
        h[sel] = step
        run_top[sel] = step

    def merge(sel):
        """Merge the runs of points ``sel`` into their best estimates; False if rejected."""
        with xp.errstate(invalid="ignore"):
            agree = ~(xp.abs(rb_v[sel] - gb_v[sel]) > rb_e[sel] + gb_e[sel])
        reject = going_up[sel] & ~agree.all(axis=1)
        # Going down, a run that disagrees with the estimate from larger steps overrules it:
        # larger steps are the ones that truncation and aliasing corrupt.
        overrule = ~going_up[sel, None] & ~agree & xp.isfinite(rb_e[sel])
        take = ((rb_e[sel] < gb_e[sel]) | overrule) & ~reject[:, None]
        for dst, src in ((gb_v, rb_v), (gb_e, rb_e), (gb_n, rb_n), (gb_mag, rb_mag),
                         (gb_g, rb_g)):
            dst[sel] = xp.where(take, src[sel], dst[sel])
        gb_top[sel] = xp.where(take.any(axis=1), run_top[sel], gb_top[sel])
        return reject

    def end_run(sel, step):
        """Merge the runs of points ``sel``, then choose: a run lower, higher, or stop."""
        if not sel.size:
            return
        reject = merge(sel)
        ref = _reference(gb_v[sel], gb_mag[sel])
        poor = ~(gb_e[sel] <= rtarget * ref)
        truncation = gb_e[sel] > 2.0 * gb_n[sel]
        down = ((poor & truncation).any(axis=1) & ~going_up[sel] & (n_down[sel] < _MAX_DOWN)
                & ~reject)
        with xp.errstate(all="ignore"):
            factor = xp.where(poor & ~truncation, gb_e[sel] / (rtarget * ref), 0.0).max(axis=1)
        # Larger steps help when |g| dwarfs the change of g over the scale of t, so that
        # rounding error, not truncation, limits the estimate.
        offset = gb_g[sel] > _OFFSET * scale[sel, None] ** n * ref
        up = (~down & (poor & ~truncation & offset).any(axis=1) & (n_up[sel] < _MAX_UP)
              & ~reject)
        finished = ~(down | up)
        active[sel[finished]] = False
        d, u = sel[down], sel[up]
        n_down[d] += 1
        new_run(d, step[down] / 8.0)
        gamma = 2.0 ** xp.clip(xp.ceil(xp.log2(xp.maximum(factor[up], 1.0))), 4, 10)
        n_up[u] += 1
        going_up[u] = True
        new_run(u, gb_top[u] * gamma)

    for _ in range(_MAX_LEVELS):
        idx = xp.flatnonzero(active)
        if not idx.size:
            break
        step = h[idx]
        d, a, gmax, used = _level(evaluate, origin, argmag, idx, step, offsets, weights, n,
                                  cache)
        nfev[idx] += used
        valid = (xp.isfinite(d) & xp.isfinite(a)).all(axis=1)
        ever_valid[idx] |= valid

        # Points where the function was not finite at this step.
        bad = idx[~valid]
        long_run = run_len[bad] >= _MIN_LEVELS
        end_run(bad[long_run], h[bad[long_run]])
        young = bad[~long_run]
        active[young[going_up[young]]] = False
        young = young[~going_up[young]]
        n_invalid[young] += 1
        active[young[n_invalid[young] > _MAX_INVALID]] = False
        new_run(young, h[young] / 16.0)

        # Points with a valid level: extend their run.
        ok = idx[valid]
        d, a, step, gmax = d[valid], a[valid], step[valid], gmax[valid]
        rd = xp.roll(run_d[ok], -1, axis=-1)
        ra = xp.roll(run_a[ok], -1, axis=-1)
        rd[..., -1], ra[..., -1] = d, a
        run_d[ok], run_a[ok] = rd, ra
        run_len[ok] += 1
        rl = run_len[ok]
        # In the asymptotic regime each level lands closer to the limit than the one before.
        # A level much farther from the run's estimate than its predecessor (beyond noise)
        # contradicts it -- as when the first steps alias an oscillation -- so the run starts
        # over from this level.
        with xp.errstate(invalid="ignore"):
            far = xp.abs(d - rb_v[ok])
            near = xp.abs(rd[..., -2] - rb_v[ok])
            contradicted = (far > 2.0 * near + rb_e[ok] + 4.0 * EPS * a).any(axis=1)
        restart = ok[contradicted]
        if restart.size:
            keep_d, keep_a = rd[contradicted, :, -1], ra[contradicted, :, -1]
            new_run(restart, h[restart])
            run_d[restart, :, -1], run_a[restart, :, -1] = keep_d, keep_a
            run_len[restart] = 1
            rd[contradicted], ra[contradicted] = run_d[restart], run_a[restart]
            rl = run_len[ok]
        cand_v, cand_e, cand_n = _extrapolate(rd, ra, powers)
        improved = cand_e < rb_e[ok]
        rb_v[ok] = xp.where(improved, cand_v, rb_v[ok])
        rb_n[ok] = xp.where(improved, cand_n, rb_n[ok])
        rb_e[ok] = xp.where(improved, cand_e, rb_e[ok])
        rb_mag[ok] = xp.maximum(rb_mag[ok], xp.abs(d))
        rb_g[ok] = xp.maximum(rb_g[ok], gmax)
        run_stall[ok] = xp.where(improved.any(axis=1), 0, run_stall[ok] + (rl >= _MIN_LEVELS))

        with xp.errstate(invalid="ignore"):
            d1 = xp.abs(rd[..., -1] - rd[..., -2])
            d0 = xp.abs(rd[..., -2] - rd[..., -3])
            noise = EPS * (ra[..., -1] + ra[..., -2])
            noisy_c = d1 <= 4.0 * noise
            noisy = (rl >= 2) & noisy_c.all(axis=1)
            nonasym = (rl >= 3) & ((d1 > shrink * d0) & ~noisy_c).any(axis=1)
            converged = (rl >= _MIN_LEVELS) & (rb_e[ok] <= 2.0 * rb_n[ok]).all(axis=1)
        jump = ~converged & nonasym & (rl == _MIN_LEVELS) & (n_down[ok] < _MAX_DOWN)
        finish = converged | ((rl >= _MIN_LEVELS) & ~jump & (
            noisy | nonasym | (run_stall[ok] >= 2) | (rl >= _MAX_RUN)))
        # A run that stops converging cannot claim to be closer to the limit than its
        # newest (finest) level is.
        diverged = finish & nonasym & ~converged
        with xp.errstate(invalid="ignore"):
            floor = xp.abs(rd[diverged, :, -1] - rb_v[ok[diverged]])
        rb_e[ok[diverged]] = xp.maximum(rb_e[ok[diverged]], floor)
        j = ok[jump]
        n_down[j] += 1
        new_run(j, step[jump] / 8.0)
        end_run(ok[finish], step[finish])
        cont = ok[~(jump | finish)]
        h[cont] = h[cont] / 2.0

    cut = xp.flatnonzero(active & (run_len >= _MIN_LEVELS))  # out of levels mid-run
    if cut.size:
        merge(cut)
    ref = _reference(gb_v, gb_mag)
    status = xp.where(gb_e <= _TRUST * ref, OK, LARGE_ERROR)
    ref = xp.where(xp.isinf(ref), 0.0, ref)
    status = xp.where(xp.isfinite(gb_e), status, NO_ESTIMATE)
    status = xp.where(~ever_valid[:, None], NOT_FINITE, status)
    value = xp.where(xp.isfinite(gb_e), gb_v, xp.nan)
    error = xp.where(xp.isfinite(gb_e), gb_e, xp.inf)
    return Estimate(value, error, nfev, status, ref)


def fixed_step(evaluate: Callable, origin, argmag, ncomp: int, n: int, method: str,
               accuracy: int, step, at_origin=None) -> Estimate:
    """The base stencil at the given ``step`` (no extrapolation).

    The error estimate compares with the same stencil at ``2 * step`` (which costs the
    evaluations at the offsets that the two do not share): twice the Richardson estimate
    ``|D(h) - D(2h)| / (2**p - 1)`` of the leading truncation term, plus the rounding term.
    """
    offsets, weights = stencil(n, method, accuracy)
    npts = origin.size
    h = xp.broadcast_to(xp.asarray(step, dtype=xp.float64), (npts,)).copy()
    idx = xp.arange(npts)
    cache = (xp.full((npts, ncomp), xp.nan), xp.zeros(npts, dtype=bool), xp.full(npts, xp.nan),
             xp.full((offsets.size, npts, ncomp), xp.nan))
    if at_origin is not None:
        cache[0][...] = at_origin
        cache[1][...] = True
    d2, _, _, used2 = _level(evaluate, origin, argmag, idx, 2.0 * h, offsets, weights, n, cache)
    d1, a1, _, used1 = _level(evaluate, origin, argmag, idx, h, offsets, weights, n, cache)
    with xp.errstate(invalid="ignore"):
        p = error_powers(method, accuracy, 1)[0]
        error = 2.0 * xp.abs(d1 - d2) / (2.0 ** p - 1.0) + EPS * a1
        finite = xp.isfinite(d1)
        error = xp.where(finite & xp.isfinite(error), error, xp.inf)
        ref = xp.where(xp.isfinite(d2), xp.maximum(xp.abs(d1), xp.abs(d2)), xp.abs(d1))
        status = xp.where(error <= _TRUST * ref, OK, LARGE_ERROR)
    status = xp.where(finite, status, NOT_FINITE)
    return Estimate(xp.where(finite, d1, xp.nan), error, used1 + used2, status, ref)
