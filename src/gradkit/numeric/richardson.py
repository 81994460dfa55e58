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


@dataclass
class _Sampler:
    """The base stencil at a step per point, reusing values where it can.

    It keeps ``g(origin)`` and each point's previous level, so that a level at half the
    previous step evaluates only the offsets that the two do not share.
    """

    evaluate: Callable
    origin: object      # (P,)
    argmag: object      # (P,) magnitude of the argument, for the rounding bound
    n: int
    offsets: object     # (Q,)
    weights: object     # (Q,)
    f0: object          # (P, K) g(origin), where known
    has_f0: object      # (P,)
    prev_h: object      # (P,) step of each point's previous level
    prev_vals: object   # (Q, P, K) values of each point's previous level

    @classmethod
    def create(cls, evaluate: Callable, origin, argmag, ncomp: int, n: int, method: str,
               accuracy: int, at_origin=None) -> _Sampler:
        offsets, weights = stencil(n, method, accuracy)
        npts = origin.size
        sampler = cls(evaluate, origin, argmag, n, offsets, weights,
                      xp.full((npts, ncomp), xp.nan), xp.zeros(npts, dtype=bool),
                      xp.full(npts, xp.nan), xp.full((offsets.size, npts, ncomp), xp.nan))
        if at_origin is not None:
            sampler.f0[...] = at_origin
            sampler.has_f0[...] = True
        return sampler

    def level(self, idx, h):
        """The base stencil at step ``h`` (k,) for the points ``idx`` (k,).

        Returns D (k, K), rounding magnitude A (k, K), the largest ``|g|`` (k, K) and the
        evaluations (k,).
        """
        vals, need = self._known(idx, h)
        t = self.origin[idx][None, :] + self.offsets[:, None] * h[None, :]
        if need.any():
            which = xp.broadcast_to(idx[None, :], need.shape)[need]
            vals[need] = self.evaluate(t[need], which)
        self._remember(idx, h, vals)
        d, a, gmax = self._combine(idx, h, vals)
        return d, a, gmax, need.sum(axis=0)

    def _zero(self):
        """Index of the offset 0 in the stencil, or None."""
        zero = xp.flatnonzero(self.offsets == 0)
        return zero[0] if zero.size else None

    def _halving_pairs(self):
        """``(i, j)``: offset ``i`` at step ``h`` is offset ``j`` at step ``2 h``."""
        for i, o in enumerate(self.offsets):
            src = xp.flatnonzero(self.offsets == o / 2)
            if o % 2 == 0 and o != 0 and src.size:
                yield i, src[0]

    def _known(self, idx, h):
        """Values (Q, k, K) known without evaluating (NaN elsewhere), and which are not."""
        vals = xp.full((self.offsets.size, idx.size, self.f0.shape[1]), xp.nan)
        need = xp.ones((self.offsets.size, idx.size), dtype=bool)
        zero = self._zero()
        if zero is not None:
            vals[zero] = self.f0[idx]
            need[zero] = ~self.has_f0[idx]
        halved = h == self.prev_h[idx] / 2
        if halved.any():
            for i, j in self._halving_pairs():
                vals[i, halved] = self.prev_vals[j, idx[halved]]
                need[i, halved] = False
        return vals, need

    def _remember(self, idx, h, vals):
        zero = self._zero()
        if zero is not None:
            self.f0[idx] = vals[zero]
            self.has_f0[idx] = True
        self.prev_h[idx] = h
        self.prev_vals[:, idx] = vals

    def _combine(self, idx, h, vals):
        """D, its rounding magnitude A and the largest ``|g|`` from a level's values."""
        # Rounding is measured in units of the output's precision (float32 output: its eps).
        # Read after evaluating: the first evaluation is what tells the precision.
        unit = getattr(self.evaluate, "eps", EPS) / EPS
        offsets, weights, n = self.offsets, self.weights, self.n
        with xp.errstate(all="ignore"):
            d = xp.einsum("q,qkc->kc", weights, vals) / (h ** n)[:, None]
            slope = (vals[-1] - vals[0]) / ((offsets[-1] - offsets[0]) * h)[:, None]
            arg = self.argmag[idx][None, :] + xp.abs(offsets[:, None] * h[None, :])
            nu = xp.abs(vals) + arg[..., None] * xp.abs(slope)[None]
            a = unit * xp.einsum("q,qkc->kc", xp.abs(weights), nu) / (h ** n)[:, None]
            gmax = xp.abs(vals).max(axis=0)
        return d, a, gmax


@dataclass
class _Best:
    """A best estimate per point and component, with what judging it takes."""

    value: object       # (P, K)
    error: object       # (P, K) total error estimate; inf where there is none
    noise: object       # (P, K) its rounding part
    magnitude: object   # (P, K) largest |D| of the run(s) it came from
    gmax: object        # (P, K) largest |g| those runs saw

    @classmethod
    def empty(cls, shape) -> _Best:
        return cls(xp.full(shape, xp.nan), xp.full(shape, xp.inf), xp.zeros(shape),
                   xp.zeros(shape), xp.zeros(shape))

    def clear(self, sel):
        self.value[sel], self.error[sel], self.noise[sel] = xp.nan, xp.inf, 0.0
        self.magnitude[sel], self.gmax[sel] = 0.0, 0.0

    def take(self, sel, other: _Best, mask):
        """Replace the entries of the points ``sel`` by ``other``'s where ``mask`` (k, K)."""
        for name in ("value", "error", "noise", "magnitude", "gmax"):
            dst, src = getattr(self, name), getattr(other, name)
            dst[sel] = xp.where(mask, src[sel], dst[sel])


@dataclass
class _Runs:
    """The current run of each point: its newest levels (last on the level axis), the step
    of its next level, and its best extrapolant so far."""

    d: object           # (P, K, _DEPTH) D of the newest levels; NaN before the run's start
    a: object           # (P, K, _DEPTH) their rounding magnitudes
    length: object      # (P,) levels in the run
    step: object        # (P,) step of the next level
    top: object         # (P,) step of the run's first level
    stall: object       # (P,) levels since the run's estimate last improved
    best: _Best

    @classmethod
    def create(cls, h, ncomp: int) -> _Runs:
        npts = h.size
        table = (npts, ncomp, _DEPTH)
        return cls(xp.full(table, xp.nan), xp.full(table, xp.nan), xp.zeros(npts, dtype=int),
                   h, h.copy(), xp.zeros(npts, dtype=int), _Best.empty((npts, ncomp)))

    def start(self, sel, step):
        """Start new runs at ``step`` for the points ``sel``."""
        self.d[sel] = xp.nan
        self.a[sel] = xp.nan
        self.length[sel] = 0
        self.stall[sel] = 0
        self.best.clear(sel)
        self.step[sel] = step
        self.top[sel] = step

    def push(self, sel, d, a):
        """Append a level to the runs of the points ``sel``."""
        rd = xp.roll(self.d[sel], -1, axis=-1)
        ra = xp.roll(self.a[sel], -1, axis=-1)
        rd[..., -1], ra[..., -1] = d, a
        self.d[sel], self.a[sel] = rd, ra
        self.length[sel] += 1

    def contradicted(self, sel):
        """Points whose newest level is much farther from the run's estimate than the level
        before it, beyond noise (k,)."""
        # In the asymptotic regime each level lands closer to the limit than the one before;
        # one that does not contradicts the run, as when the first steps alias an
        # oscillation.
        b = self.best
        with xp.errstate(invalid="ignore"):
            far = xp.abs(self.d[sel, :, -1] - b.value[sel])
            near = xp.abs(self.d[sel, :, -2] - b.value[sel])
            noise = 4.0 * EPS * self.a[sel, :, -1]
            return (far > 2.0 * near + b.error[sel] + noise).any(axis=1)

    def restart_at_newest(self, sel):
        """Start the runs of the points ``sel`` over from their newest level."""
        keep_d, keep_a = self.d[sel, :, -1], self.a[sel, :, -1]
        self.start(sel, self.step[sel])
        self.d[sel, :, -1], self.a[sel, :, -1] = keep_d, keep_a
        self.length[sel] = 1

    def extrapolate(self, sel, powers, gmax):
        """Update the runs' estimates with their newest level (``gmax``: its largest ``|g|``)."""
        value, error, noise = _extrapolate(self.d[sel], self.a[sel], powers)
        b = self.best
        improved = error < b.error[sel]
        b.value[sel] = xp.where(improved, value, b.value[sel])
        b.noise[sel] = xp.where(improved, noise, b.noise[sel])
        b.error[sel] = xp.where(improved, error, b.error[sel])
        b.magnitude[sel] = xp.maximum(b.magnitude[sel], xp.abs(self.d[sel, :, -1]))
        b.gmax[sel] = xp.maximum(b.gmax[sel], gmax)
        counted = self.length[sel] >= _MIN_LEVELS
        self.stall[sel] = xp.where(improved.any(axis=1), 0, self.stall[sel] + counted)

    def trend(self, sel, shrink):
        """Per point (k,): the newest levels differ by noise only (noisy); their differences
        do not shrink by ``shrink`` (not asymptotic); the estimate is rounding-limited."""
        d, length, b = self.d[sel], self.length[sel], self.best
        with xp.errstate(invalid="ignore"):
            d1 = xp.abs(d[..., -1] - d[..., -2])
            d0 = xp.abs(d[..., -2] - d[..., -3])
            noisy_c = d1 <= 4.0 * EPS * (self.a[sel, :, -1] + self.a[sel, :, -2])
            noisy = (length >= 2) & noisy_c.all(axis=1)
            nonasym = (length >= 3) & ((d1 > shrink * d0) & ~noisy_c).any(axis=1)
            converged = (length >= _MIN_LEVELS) & (b.error[sel] <= 2.0 * b.noise[sel]).all(axis=1)
        return noisy, nonasym, converged

    def cap_error(self, sel):
        """A run that stops converging cannot claim to be closer to the limit than its
        newest (finest) level is."""
        with xp.errstate(invalid="ignore"):
            floor = xp.abs(self.d[sel, :, -1] - self.best.value[sel])
        self.best.error[sel] = xp.maximum(self.best.error[sel], floor)


@dataclass
class _Search:
    """The state of :func:`adaptive`: the runs, the best estimate over all runs per point,
    and the counters that bound the search."""

    sampler: _Sampler
    runs: _Runs
    best: _Best
    best_top: object    # (P,) first step of the run that gave the best estimate
    scale: object       # (P,)
    n: int
    powers: list        # error powers of the extrapolation
    rtarget: float      # relative error that ends the search
    shrink: float       # differences shrinking by less than this are not asymptotic
    nfev: object        # (P,)
    n_invalid: object   # (P,) step cuts by 16 so far
    n_down: object      # (P,) jumps down by 8 so far
    n_up: object        # (P,) restarts at larger steps so far
    going_up: object    # (P,) the point is restarting at larger steps
    ever_valid: object  # (P,) some level was finite
    active: object      # (P,)

    @classmethod
    def create(cls, sampler: _Sampler, scale, ncomp: int, n: int, method: str, accuracy: int,
               h0=None) -> _Search:
        powers = error_powers(method, accuracy, _DEPTH)
        npts = sampler.origin.size
        h = initial_step(scale) if h0 is None else xp.array(h0, dtype=xp.float64)
        h = xp.broadcast_to(h, (npts,)).astype(xp.float64)
        zeros = xp.zeros(npts, dtype=int)
        # In the asymptotic regime successive differences shrink by 2**-powers[0]; a run
        # whose differences shrink by less than twice that is not there yet.
        return cls(sampler, _Runs.create(h, ncomp), _Best.empty((npts, ncomp)),
                   best_top=h.copy(), scale=scale, n=n, powers=powers,
                   rtarget=1e-10 * 16.0 ** (n - 1), shrink=2.0 ** (1 - powers[0]),
                   nfev=zeros.copy(), n_invalid=zeros.copy(), n_down=zeros.copy(),
                   n_up=zeros.copy(), going_up=zeros.astype(bool), ever_valid=zeros.astype(bool),
                   active=xp.ones(npts, dtype=bool))

    def refine(self) -> bool:
        """One level for every active point; False when none is left."""
        idx = xp.flatnonzero(self.active)
        if not idx.size:
            return False
        step = self.runs.step[idx]
        d, a, gmax, used = self.sampler.level(idx, step)
        self.nfev[idx] += used
        valid = (xp.isfinite(d) & xp.isfinite(a)).all(axis=1)
        self.ever_valid[idx] |= valid
        self._not_finite(idx[~valid])
        self._extend(idx[valid], d[valid], a[valid], gmax[valid], step[valid])
        return True

    def _not_finite(self, sel):
        """Points where the function was not finite at the step: end a run long enough for
        an estimate, else cut the step by 16 (or give up)."""
        long_run = self.runs.length[sel] >= _MIN_LEVELS
        young = sel[~long_run]
        self._end_runs(sel[long_run], self.runs.step[sel[long_run]])
        self.active[young[self.going_up[young]]] = False
        young = young[~self.going_up[young]]
        self.n_invalid[young] += 1
        self.active[young[self.n_invalid[young] > _MAX_INVALID]] = False
        self.runs.start(young, self.runs.step[young] / 16.0)

    def _extend(self, sel, d, a, gmax, step):
        """Add a finite level to the runs of the points ``sel``, then decide how they go on."""
        runs = self.runs
        runs.push(sel, d, a)
        runs.restart_at_newest(sel[runs.contradicted(sel)])
        runs.extrapolate(sel, self.powers, gmax)
        noisy, nonasym, converged = runs.trend(sel, self.shrink)
        length = runs.length[sel]
        jump = ~converged & nonasym & (length == _MIN_LEVELS) & (self.n_down[sel] < _MAX_DOWN)
        finish = converged | ((length >= _MIN_LEVELS) & ~jump & (
            noisy | nonasym | (runs.stall[sel] >= 2) | (length >= _MAX_RUN)))
        runs.cap_error(sel[finish & nonasym & ~converged])
        self.n_down[sel[jump]] += 1
        runs.start(sel[jump], step[jump] / 8.0)
        self._end_runs(sel[finish], step[finish])
        cont = sel[~(jump | finish)]
        runs.step[cont] = runs.step[cont] / 2.0

    def _merge(self, sel):
        """Merge the runs of the points ``sel`` into their best estimates; returns where
        the run was rejected (k,)."""
        new, old, going_up = self.runs.best, self.best, self.going_up[sel]
        with xp.errstate(invalid="ignore"):
            agree = ~(xp.abs(new.value[sel] - old.value[sel]) > new.error[sel] + old.error[sel])
        reject = going_up & ~agree.all(axis=1)
        # Going down, a run that disagrees with the estimate from larger steps overrules it:
        # larger steps are the ones that truncation and aliasing corrupt.
        overrule = ~going_up[:, None] & ~agree & xp.isfinite(new.error[sel])
        take = ((new.error[sel] < old.error[sel]) | overrule) & ~reject[:, None]
        old.take(sel, new, take)
        self.best_top[sel] = xp.where(take.any(axis=1), self.runs.top[sel], self.best_top[sel])
        return reject

    def _end_runs(self, sel, step):
        """End the runs of the points ``sel`` (``step``: their last step), then start one
        lower or higher, or stop."""
        if not sel.size:
            return
        down, up, gamma = self._fallback(sel, self._merge(sel))
        self.active[sel[~(down | up)]] = False
        self.n_down[sel[down]] += 1
        self.runs.start(sel[down], step[down] / 8.0)
        self.n_up[sel[up]] += 1
        self.going_up[sel[up]] = True
        self.runs.start(sel[up], self.best_top[sel[up]] * gamma)

    def _fallback(self, sel, reject):
        """Where the best estimate is still poor: a run 8 times lower where truncation
        limits it (down), one higher by ``gamma`` where rounding does (up)."""
        best, going_up = self.best, self.going_up[sel]
        ref = _reference(best.value[sel], best.magnitude[sel])
        poor = ~(best.error[sel] <= self.rtarget * ref)
        truncation = best.error[sel] > 2.0 * best.noise[sel]
        down = ((poor & truncation).any(axis=1) & ~going_up & (self.n_down[sel] < _MAX_DOWN)
                & ~reject)
        with xp.errstate(all="ignore"):
            factor = xp.where(poor & ~truncation, best.error[sel] / (self.rtarget * ref),
                              0.0).max(axis=1)
        # Larger steps help when |g| dwarfs the change of g over the scale of t, so that
        # rounding error, not truncation, limits the estimate.
        offset = best.gmax[sel] > _OFFSET * self.scale[sel, None] ** self.n * ref
        up = (~down & (poor & ~truncation & offset).any(axis=1) & (self.n_up[sel] < _MAX_UP)
              & ~reject)
        gamma = 2.0 ** xp.clip(xp.ceil(xp.log2(xp.maximum(factor[up], 1.0))), 4, 10)
        return down, up, gamma

    def estimate(self) -> Estimate:
        """The best estimates, merging the runs cut short by the level limit."""
        cut = xp.flatnonzero(self.active & (self.runs.length >= _MIN_LEVELS))
        if cut.size:
            self._merge(cut)
        best = self.best
        ref = _reference(best.value, best.magnitude)
        status = xp.where(best.error <= _TRUST * ref, OK, LARGE_ERROR)
        ref = xp.where(xp.isinf(ref), 0.0, ref)
        status = xp.where(xp.isfinite(best.error), status, NO_ESTIMATE)
        status = xp.where(~self.ever_valid[:, None], NOT_FINITE, status)
        value = xp.where(xp.isfinite(best.error), best.value, xp.nan)
        error = xp.where(xp.isfinite(best.error), best.error, xp.inf)
        return Estimate(value, error, self.nfev, status, ref)


def adaptive(evaluate: Callable, origin, scale, argmag, ncomp: int, n: int, method: str,
             accuracy: int, h0=None, at_origin=None) -> Estimate:
    """Adaptive Richardson extrapolation for ``P = origin.size`` points (see module doc).

    ``at_origin`` (P, K), if given, holds the known values at the origins.
    """
    sampler = _Sampler.create(evaluate, origin, argmag, ncomp, n, method, accuracy, at_origin)
    search = _Search.create(sampler, scale, ncomp, n, method, accuracy, h0)
    for _ in range(_MAX_LEVELS):
        if not search.refine():
            break
    return search.estimate()


def fixed_step(evaluate: Callable, origin, argmag, ncomp: int, n: int, method: str,
               accuracy: int, step, at_origin=None) -> Estimate:
    """The base stencil at the given ``step`` (no extrapolation).

    The error estimate compares with the same stencil at ``2 * step`` (which costs the
    evaluations at the offsets that the two do not share): twice the Richardson estimate
    ``|D(h) - D(2h)| / (2**p - 1)`` of the leading truncation term, plus the rounding term.
    """
    sampler = _Sampler.create(evaluate, origin, argmag, ncomp, n, method, accuracy, at_origin)
    npts = origin.size
    h = xp.broadcast_to(xp.asarray(step, dtype=xp.float64), (npts,)).copy()
    idx = xp.arange(npts)
    d2, _, _, used2 = sampler.level(idx, 2.0 * h)
    d1, a1, _, used1 = sampler.level(idx, h)
    with xp.errstate(invalid="ignore"):
        p = error_powers(method, accuracy, 1)[0]
        error = 2.0 * xp.abs(d1 - d2) / (2.0 ** p - 1.0) + EPS * a1
        finite = xp.isfinite(d1)
        error = xp.where(finite & xp.isfinite(error), error, xp.inf)
        ref = xp.where(xp.isfinite(d2), xp.maximum(xp.abs(d1), xp.abs(d2)), xp.abs(d1))
        status = xp.where(error <= _TRUST * ref, OK, LARGE_ERROR)
    status = xp.where(finite, status, NOT_FINITE)
    return Estimate(xp.where(finite, d1, xp.nan), error, used1 + used2, status, ref)
