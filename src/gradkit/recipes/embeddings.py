"""Word embeddings: skip-gram with negative sampling (word2vec), trained by gradkit.

Word2vec's skip-gram model as its C code and gensim train it: frequent words subsampled
(``sample``), a dynamic window (each centre word draws its reach from 1..``window``),
``negative`` noise words per pair from the unigram distribution to the power 0.75, and
plain SGD with the learning rate decayed linearly. The step is minibatched and
vectorised: the rows a batch touches are gathered with :func:`gradkit.numpy.take`, the
loss ``sum(log(1 + exp(-s * u.v)))`` is differentiated by gradkit's reverse mode (the
gradient of ``take`` is its scatter-add), and only those rows are updated.

The default corpus is tiny Shakespeare (shipped; one sentence per speech);
``--set corpus=PATH`` trains on a text file or a folder of ``.txt`` files (one sentence
per line, alphabetic tokens: WikiText-2, say). The vectors are evaluated by the
Spearman correlation of their cosines with the human scores of MEN (shipped; the primary
metric), of WordSim-353 (``--set wordsim=PATH``) and by Google analogy accuracy
(``--set analogies=PATH``); they are saved in word2vec's text format (``vectors.txt``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as onp

from .. import numpy as gnp
from ..errors import GradkitError
from ..transforms import value_and_grad
from ._rundir import RunDir
from ._spec import Spec, at_least, in_range, positive, refuse
from .shared import word2vec as w2v
from .shared.figures import new_figure, save_figure
from .shared.threads import single_blas_thread

__all__ = ["Config", "SPEC", "run", "load_sentences", "load_corpus", "train_sgns", "sgns_loss",
           "SHAKESPEARE", "MEN"]

_DATA = Path(__file__).parent / "data" / "embeddings"
SHAKESPEARE = _DATA / "tiny_shakespeare.txt.gz"
MEN = _DATA / "MEN_dataset_natural_form_full.gz"

PUBLISHED_GENSIM_MEN = 0.161
"""gensim ``Word2Vec(sg=1, vector_size=100, window=5, negative=5, min_count=5, epochs=5)``
on tiny Shakespeare, MEN on its 420 covered pairs, mean of 3 runs (the issue's figure)."""

NOT_AVAILABLE = "not available"

SPEC = Spec(
    name="embeddings",
    summary="word2vec skip-gram with negative sampling trained by gradkit on tiny "
            "Shakespeare, scored on MEN",
    metric="men_spearman", higher_is_better=True, goal=PUBLISHED_GENSIM_MEN,
    baseline="gensim Word2Vec (sg=1)", baseline_source="published",
    requires=("scipy", "matplotlib"),
    timing_keys=("seconds", "train_seconds", "words_per_second"))


@dataclass(frozen=True)
class Config:
    """Settings of the embeddings recipe.

    Parameters
    ----------
    corpus : str or None, default None
        None: tiny Shakespeare (shipped). Otherwise a UTF-8 text file or a folder of
        ``.txt`` files (read in name order).
    tokenizer : {"auto", "speeches", "lines"}, default "auto"
        ``speeches``: a sentence per block of lines (blocks end at blank lines), words
        ``[a-z]+('[a-z]+)?``; ``lines``: a sentence per line, alphabetic whitespace
        tokens. ``auto``: speeches for the shipped corpus, lines for ``corpus``. Both
        lower-case.
    max_tokens : int, default 0
        Keep only the first sentences, up to this many tokens (0: all).
    men : str or None, default None
        MEN pairs (``w1 w2 score``); None: the shipped natural form.
    wordsim, analogies : str or None, default None
        WordSim-353 (``w1<TAB>w2<TAB>score``) and the Google analogy questions; not
        shipped, "not available" in the metrics when not given.
    dim, window, negative, min_count, epochs : int, default 100, 5, 5, 5, 5
        Word2vec's ``size``, ``window``, ``negative``, ``min_count`` and ``iter``.
    sample : float, default 1e-3
        The subsampling threshold (0: none).
    alpha, min_alpha : float, default 0.025 and 0.0001
        The learning rate, decayed linearly from ``alpha`` to ``min_alpha``.
    batch : int, default 2048
        Pairs per SGD step (each with ``negative`` noise words): big enough that the
        per-step overhead is small, small enough that the touched rows stay in cache.
    neighbours : tuple of str
        Words whose nearest neighbours the run reports (those in the vocabulary).
    """

    corpus: str | None = None
    tokenizer: str = "auto"
    max_tokens: int = 0
    men: str | None = None
    wordsim: str | None = None
    analogies: str | None = None
    dim: int = 100
    window: int = 5
    negative: int = 5
    min_count: int = 5
    epochs: int = 5
    sample: float = 1e-3
    alpha: float = 0.025
    min_alpha: float = 1e-4
    batch: int = 2048
    neighbours: tuple[str, ...] = ("king", "queen", "love", "death", "father", "day")

    def __post_init__(self) -> None:
        if self.corpus is not None and not _corpus_files(Path(self.corpus)):
            raise refuse(self, "corpus", "a text file or a folder holding .txt files")
        if self.tokenizer not in ("auto", "speeches", "lines"):
            raise refuse(self, "tokenizer", "'auto', 'speeches' or 'lines'")
        at_least(self, "max_tokens", 0)
        for name in ("men", "wordsim", "analogies"):
            if getattr(self, name) is not None and not Path(getattr(self, name)).is_file():
                raise refuse(self, name, "a readable file, or none")
        at_least(self, "dim", 1)
        at_least(self, "window", 1)
        at_least(self, "negative", 1)
        at_least(self, "min_count", 1)
        at_least(self, "epochs", 1)
        in_range(self, "sample", 0.0, 1.0)
        positive(self, "alpha")
        in_range(self, "min_alpha", 0.0, self.alpha)
        at_least(self, "batch", 1)

    @classmethod
    def smoke(cls) -> Config:
        return cls(max_tokens=60_000, dim=32, epochs=2)


def _corpus_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(path.glob("*.txt")) if path.is_dir() else []


def load_sentences(cfg: Config) -> list[list[str]]:
    """The run's corpus as sentences of tokens (see :class:`Config`)."""
    if cfg.corpus is None:
        text = w2v.read_text(SHAKESPEARE)
    else:
        text = "\n".join(w2v.read_text(p) for p in _corpus_files(Path(cfg.corpus)))
    tokenizer = cfg.tokenizer
    if tokenizer == "auto":
        tokenizer = "speeches" if cfg.corpus is None else "lines"
    sentences = (w2v.tokenize_speeches if tokenizer == "speeches" else w2v.tokenize_lines)(text)
    if cfg.max_tokens:
        ends = onp.cumsum([len(s) for s in sentences])
        sentences = sentences[:max(1, int(onp.searchsorted(ends, cfg.max_tokens, "right")))]
    return sentences


def load_corpus(cfg: Config) -> w2v.Corpus:
    """The run's corpus over its vocabulary (the words seen ``min_count`` times)."""
    return w2v.build_corpus(load_sentences(cfg), cfg.min_count)


def sgns_loss(rows_in, rows_out, at_in, at_out, weight):
    """The negative-sampling loss of a batch, summed over its pairs.

    Parameters
    ----------
    rows_in, rows_out : array, shape (n_in, dim) and (n_out, dim)
        The input (centre) and output (context) vectors the batch touches.
    at_in, at_out : ndarray of int, shape (B,) and (B, 1 + K)
        Rows of ``rows_in`` and ``rows_out``: the centre of each pair, and its context then
        noise words.
    weight : ndarray, shape (B, 1 + K)
        Each term's weight (0 drops a noise word that equals the context).

    Returns
    -------
    scalar
        ``sum(weight * log(1 + exp(-s * u.v)))``, ``s`` +1 for the context and -1 for the
        noise words.

    Examples
    --------
    >>> import numpy as np
    >>> v, u = np.array([[1.0, 0.0]]), np.array([[2.0, 0.0], [0.0, 1.0]])
    >>> loss = sgns_loss(v, u, np.array([0]), np.array([[0, 1]]), np.ones((1, 2)))
    >>> print(f"{float(loss):.6f} = {np.log1p(np.exp(-2.0)) + np.log(2.0):.6f}")
    0.820075 = 0.820075
    """
    # Row gathers: their derivative, a scatter-add of rows, runs on flat indices inside
    # gradkit's rule (NumPy's add.at is fastest on a 1-D target).
    centre = gnp.take(rows_in, at_in, axis=0)
    context = gnp.take(rows_out, at_out, axis=0)
    k1 = weight.shape[1]
    score = gnp.einsum("bkd,bd->bk", context, centre)
    sign = onp.ones(k1, dtype=score.dtype)
    sign[0] = -1.0
    return gnp.sum(weight * gnp.logaddexp(0.0, sign * score))


_sgns_value_and_grad = value_and_grad(sgns_loss, argnums=(0, 1))


def _touched(index: onp.ndarray, size: int) -> tuple[onp.ndarray, onp.ndarray]:
    """The distinct rows of ``index`` (sorted) and each entry's position among them."""
    seen = onp.zeros(size, dtype=bool)
    seen[index] = True
    rows = onp.flatnonzero(seen)
    return rows, (onp.cumsum(seen) - 1)[index]


def train_sgns(corpus: w2v.Corpus, cfg: Config, rng: onp.random.Generator,
               curve_points: int = 100) -> tuple[onp.ndarray, onp.ndarray, onp.ndarray]:
    """Train skip-gram with negative sampling; the input vectors, output vectors and the
    loss curve.

    Returns
    -------
    w_in, w_out : ndarray of float32, shape (V, dim)
        Word2vec's ``syn0`` (the word vectors) and ``syn1neg``.
    curve : ndarray, shape (n, 2)
        Training progress (epochs) and the mean loss per pair over each of (at most)
        ``curve_points`` equal stretches of steps.
    """
    vocab, dim = len(corpus.words), cfg.dim
    w_in = ((rng.random((vocab, dim)) - 0.5) / dim).astype(onp.float32)
    w_out = onp.zeros((vocab, dim), dtype=onp.float32)
    log = []  # (progress, summed loss, pairs) of each step
    for b in w2v.sgns_batches(corpus, window=cfg.window, negative=cfg.negative,
                              sample=cfg.sample, batch=cfg.batch, epochs=cfg.epochs,
                              alpha=cfg.alpha, min_alpha=cfg.min_alpha, rng=rng):
        rows_in, at_in = _touched(b.centre, vocab)
        rows_out, at_out = _touched(b.context, vocab)
        v, u = w_in[rows_in], w_out[rows_out]
        loss, (g_in, g_out) = _sgns_value_and_grad(v, u, at_in, at_out, b.weight)
        # the SGD step on the touched rows, in place in the gathered copies
        g_in *= -b.lr
        g_in += v
        w_in[rows_in] = g_in
        g_out *= -b.lr
        g_out += u
        w_out[rows_out] = g_out
        log.append((b.progress, float(loss), b.centre.size))
    return w_in, w_out, _curve(onp.asarray(log, dtype=onp.float64).reshape(-1, 3),
                               curve_points)


def _curve(log: onp.ndarray, points: int) -> onp.ndarray:
    """Mean loss per pair over equal stretches of steps, at each stretch's end."""
    if not len(log):
        return onp.zeros((0, 2))
    parts = onp.array_split(onp.arange(len(log)), min(points, len(log)))
    return onp.asarray([(log[p[-1], 0], log[p, 1].sum() / log[p, 2].sum()) for p in parts])


def _evaluate(words: list[str], vectors: onp.ndarray, cfg: Config) -> dict:
    men, covered = w2v.similarity_spearman(words, vectors, w2v.read_pairs(cfg.men or MEN))
    if covered < 3:
        raise GradkitError(f"recipes.embeddings: the vocabulary ({len(words)} words) covers "
                           f"{covered} MEN pairs, too few for a correlation; train on a "
                           f"larger corpus (max_tokens={cfg.max_tokens}, "
                           f"min_count={cfg.min_count})")
    result = {"men_spearman": men, "men_pairs": covered,
              "wordsim_spearman": NOT_AVAILABLE, "wordsim_pairs": 0,
              "analogy_accuracy": NOT_AVAILABLE, "analogy_questions": 0}
    if cfg.wordsim is not None:
        rho, n = w2v.similarity_spearman(words, vectors, w2v.read_pairs(cfg.wordsim))
        result.update(wordsim_spearman=rho, wordsim_pairs=n)
    if cfg.analogies is not None:
        accuracy, n = w2v.analogy_accuracy(words, vectors, w2v.read_analogies(cfg.analogies))
        result.update(analogy_accuracy=accuracy, analogy_questions=n)
    index = set(words)
    result["neighbours"] = {q: w2v.nearest(words, vectors, q, 8)
                            for q in cfg.neighbours if q in index}
    return result


def run(cfg: Config, rd: RunDir) -> dict:
    """Train SGNS with gradkit, save the vectors and score them on MEN (and WS-353 and the
    analogies where given).

    Files: ``vectors.txt`` (word2vec text format). Figures: ``training.png`` (the loss
    per pair as training goes), ``words.png`` (a 2-D PCA of a few words with their
    neighbours, and cosine against MEN's human score).
    """
    def corpus_stage():
        c = load_corpus(cfg)
        return ({"counts": c.counts, "ids": c.ids, "sentence": c.sentence},
                {"words": c.words, "raw_tokens": c.raw_tokens})

    arrays, values = rd.stage("corpus", corpus_stage)
    corpus = w2v.Corpus(values["words"], arrays["counts"], arrays["ids"], arrays["sentence"],
                        values["raw_tokens"])
    rd.say(f"  corpus: {corpus.raw_tokens:,} tokens, {len(corpus.words):,} words seen "
           f"{cfg.min_count}+ times")

    def train_stage():
        started = time.perf_counter()
        with single_blas_thread():
            w_in, _, curve = train_sgns(corpus, cfg, onp.random.default_rng([rd.seed, 12]))
        seconds = time.perf_counter() - started
        return ({"vectors": w_in, "curve": curve},
                {"train_seconds": round(seconds, 3),
                 "words_per_second": round(cfg.epochs * corpus.raw_tokens / seconds)})

    trained, timing = rd.stage("train", train_stage)
    vectors = trained["vectors"]
    w2v.write_word2vec(rd.path / "vectors.txt", corpus.words, vectors)
    _, scores = rd.stage("evaluate", lambda: ({}, _evaluate(corpus.words, vectors, cfg)))
    whole_shakespeare = cfg.corpus is None and not cfg.max_tokens  # gensim's figure is for it
    result = {"value": scores["men_spearman"],
              "baseline_value": PUBLISHED_GENSIM_MEN if whole_shakespeare else None,
              **{k: v for k, v in scores.items() if k != "men_spearman"},
              "vocabulary": len(corpus.words), "tokens": corpus.raw_tokens,
              "final_loss": float(trained["curve"][-1, 1]) if len(trained["curve"]) else None,
              **timing}
    _plot_training(trained["curve"], cfg, timing, rd.figure_path("training"))
    _plot_words(corpus.words, vectors, scores, cfg, rd.figure_path("words"))
    published = (f" (gensim published {PUBLISHED_GENSIM_MEN} on tiny Shakespeare)"
                 if whole_shakespeare else "")
    rd.say(f"  MEN {scores['men_spearman']:.3f} on {scores['men_pairs']} pairs{published}; "
           f"WS-353 {_shown(scores['wordsim_spearman'])}; analogies "
           f"{_shown(scores['analogy_accuracy'])}; {timing['words_per_second']:,} words/s")
    return result


def _shown(x) -> str:
    return x if isinstance(x, str) else f"{x:.3f}"


def _plot_training(curve: onp.ndarray, cfg: Config, timing: dict, path: Path) -> None:
    fig, ax = new_figure(figsize=(6.4, 3.4))
    ax.plot(curve[:, 0], curve[:, 1], color="C0")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"loss per pair (1 context + {cfg.negative} noise words)")
    ax.set_title(f"SGNS by gradkit: dim {cfg.dim}, window {cfg.window}, batch {cfg.batch}, "
                 f"{timing['words_per_second']:,} words/s", fontsize=9)
    save_figure(fig, path)


def _plot_words(words: list[str], vectors: onp.ndarray, scores: dict, cfg: Config,
                path: Path) -> None:
    fig, (ax1, ax2) = new_figure(1, 2, figsize=(11, 4.6))
    shown = []
    for q, near in scores["neighbours"].items():
        shown += [q] + [w for w, _ in near[:4] if w not in shown]
    index = {w: i for i, w in enumerate(words)}
    if shown:
        x = w2v.normalized(vectors[[index[w] for w in shown]].astype(onp.float64))
        x = x - x.mean(axis=0)
        xy = x @ onp.linalg.svd(x, full_matrices=False)[2][:2].T
        queries = list(scores["neighbours"])
        for k, w in enumerate(shown):
            group = max(i for i, q in enumerate(queries) if shown.index(q) <= k)
            ax1.scatter(*xy[k], color=f"C{group % 10}", s=40 if w in queries else 12)
            ax1.annotate(w, xy[k], fontsize=8 if w in queries else 7,
                         fontweight="bold" if w in queries else "normal")
    ax1.set_title("a few words and their 4 nearest neighbours (PCA of unit vectors)",
                  fontsize=9)
    men = w2v.read_pairs(cfg.men or MEN)
    pairs = [(index[a], index[b], s) for a, b, s in men if a in index and b in index]
    if pairs:
        i, j, human = (onp.asarray(v) for v in zip(*pairs))
        unit = w2v.normalized(vectors.astype(onp.float64))
        ax2.scatter(human, onp.einsum("nd,nd->n", unit[i], unit[j]), s=6, alpha=0.6)
    ax2.set_xlabel("MEN human score (0-50)")
    ax2.set_ylabel("cosine similarity")
    ax2.set_title(f"MEN: Spearman {scores['men_spearman']:.3f} on {len(pairs)} covered pairs",
                  fontsize=9)
    save_figure(fig, path)
