"""Word2vec's pieces, vectorised: tokenising, vocabulary, subsampling, dynamic windows,
noise sampling, the word2vec text format and the word-similarity and analogy benchmarks.

The training step itself lives in :mod:`gradkit.recipes.embeddings` (gradkit's autodiff);
``bench/embeddings.py`` drives a hand-written NumPy step with the same pieces, so both
see the same pairs and negatives for the same seed.
"""

from __future__ import annotations

import gzip
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as onp

from ...errors import GradkitError

__all__ = ["SPEECH_TOKEN", "tokenize_speeches", "tokenize_lines", "read_text", "Corpus",
           "build_corpus", "keep_probability", "subsample", "skipgram_pairs", "noise_cdf",
           "sample_noise", "Batch", "sgns_batches", "flat_rows", "write_word2vec",
           "read_word2vec", "read_pairs", "similarity_spearman", "read_analogies",
           "analogy_accuracy", "nearest", "normalized"]

SPEECH_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?")
"""Tiny Shakespeare's tokens: lower-case words, with an inner apostrophe (``know't``)."""


def read_text(path: Path) -> str:
    """A UTF-8 text file, gzip-compressed when its name ends in ``.gz``."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return f.read()


def tokenize_speeches(text: str) -> list[list[str]]:
    """One sentence per speech (blocks separated by blank lines), lower-cased words.

    Examples
    --------
    >>> tokenize_speeches("First Citizen:\\nSpeak, speak.\\n\\nAll:\\nWe know't.")
    [['first', 'citizen', 'speak', 'speak'], ['all', 'we', "know't"]]
    """
    blocks = (SPEECH_TOKEN.findall(b.lower()) for b in re.split(r"\n\s*\n", text))
    return [b for b in blocks if b]


def tokenize_lines(text: str) -> list[list[str]]:
    """One sentence per line; lower-cased whitespace tokens that are alphabetic (WikiText's
    ``<unk>``, numbers and ``@-@`` are dropped).

    Examples
    --------
    >>> tokenize_lines(" = Title = \\n The 2 <unk> Cats , ran .\\n")
    [['title'], ['the', 'cats', 'ran']]
    """
    lines = ([w for w in line.lower().split() if w.isalpha()] for line in text.split("\n"))
    return [s for s in lines if s]


@dataclass
class Corpus:
    """A tokenised corpus over its vocabulary.

    Attributes
    ----------
    words : list of str
        The vocabulary, most frequent first (ties in alphabetical order).
    counts : ndarray of int64, shape (V,)
    ids : ndarray of int64
        The in-vocabulary tokens, sentences concatenated.
    sentence : ndarray of int64
        The sentence of each entry of ``ids``.
    raw_tokens : int
        Tokens before ``min_count`` (the count words per second are measured on).
    """

    words: list[str]
    counts: onp.ndarray
    ids: onp.ndarray
    sentence: onp.ndarray
    raw_tokens: int


def build_corpus(sentences: list[list[str]], min_count: int) -> Corpus:
    """The vocabulary of words seen at least ``min_count`` times, and the token ids.

    Examples
    --------
    >>> c = build_corpus([["a", "b", "a"], ["c", "a", "b"]], min_count=2)
    >>> c.words, c.counts.tolist(), c.ids.tolist(), c.sentence.tolist(), c.raw_tokens
    (['a', 'b'], [3, 2], [0, 1, 0, 0, 1], [0, 0, 0, 1, 1], 6)
    """
    counter = Counter(w for s in sentences for w in s)
    kept = sorted((w for w, n in counter.items() if n >= min_count),
                  key=lambda w: (-counter[w], w))
    if not kept:
        raise GradkitError(f"recipes.embeddings: no word occurs {min_count} times or more in "
                           f"the corpus ({sum(counter.values())} tokens)")
    index = {w: i for i, w in enumerate(kept)}
    flat = [index.get(w, -1) for s in sentences for w in s]
    lengths = [len(s) for s in sentences]
    ids = onp.asarray(flat, dtype=onp.int64)
    sentence = onp.repeat(onp.arange(len(sentences), dtype=onp.int64), lengths)
    inside = ids >= 0
    return Corpus(kept, onp.asarray([counter[w] for w in kept], dtype=onp.int64),
                  ids[inside], sentence[inside], len(flat))


def keep_probability(counts: onp.ndarray, sample: float) -> onp.ndarray:
    """Word2vec's chance of keeping each occurrence of a word, given the word counts.

    ``(sqrt(f / t) + 1) * t / f`` with ``f`` the word's count and ``t = sample * total``,
    capped at 1; ``sample = 0`` keeps everything.

    Examples
    --------
    >>> keep_probability(onp.array([1000, 10]), 1e-3).round(4).tolist()
    [0.0328, 0.4188]
    >>> keep_probability(onp.array([1000, 1]), 1e-2).round(4).tolist()
    [0.1101, 1.0]
    """
    counts = onp.asarray(counts, dtype=onp.float64)
    if sample <= 0:
        return onp.ones_like(counts)
    t = sample * counts.sum()
    return onp.minimum((onp.sqrt(counts / t) + 1.0) * t / counts, 1.0)


def subsample(corpus: Corpus, keep: onp.ndarray, rng: onp.random.Generator
              ) -> tuple[onp.ndarray, onp.ndarray]:
    """The tokens kept this epoch (each with chance ``keep[word]``) and their sentences."""
    mask = rng.random(corpus.ids.size) < keep[corpus.ids]
    return corpus.ids[mask], corpus.sentence[mask]


def skipgram_pairs(ids: onp.ndarray, sentence: onp.ndarray, window: int,
                   rng: onp.random.Generator) -> tuple[onp.ndarray, onp.ndarray]:
    """(centre, context) pairs with word2vec's dynamic window, within sentences.

    Each centre draws its window ``r`` uniformly from ``1..window`` and pairs with every
    word of its sentence at most ``r`` positions away; the loop runs over the offsets.

    Examples
    --------
    >>> rng = onp.random.default_rng(0)
    >>> c, o = skipgram_pairs(onp.array([7, 8, 9]), onp.array([0, 0, 1]), 1, rng)
    >>> sorted(zip(c.tolist(), o.tolist()))
    [(7, 8), (8, 7)]
    """
    reach = window - rng.integers(0, window, ids.size)
    centres, contexts = [], []
    for d in range(1, window + 1):
        same = sentence[d:] == sentence[:-d]
        right = same & (reach[:-d] >= d)  # centre i, context i + d
        left = same & (reach[d:] >= d)  # centre i + d, context i
        centres += [ids[:-d][right], ids[d:][left]]
        contexts += [ids[d:][right], ids[:-d][left]]
    if not centres:
        return onp.zeros(0, onp.int64), onp.zeros(0, onp.int64)
    return onp.concatenate(centres), onp.concatenate(contexts)


def noise_cdf(counts: onp.ndarray, power: float = 0.75) -> onp.ndarray:
    """The cumulative noise distribution, proportional to ``counts ** power``.

    Examples
    --------
    >>> noise_cdf(onp.array([16, 1]), 0.75).tolist()
    [0.8888888888888888, 1.0]
    """
    p = onp.asarray(counts, dtype=onp.float64) ** power
    cdf = onp.cumsum(p / p.sum())
    cdf[-1] = 1.0
    return cdf


def sample_noise(cdf: onp.ndarray, shape: tuple[int, ...], rng: onp.random.Generator
                 ) -> onp.ndarray:
    """Word ids drawn from the noise distribution (inverse-CDF sampling)."""
    return onp.searchsorted(cdf, rng.random(shape), side="right")


def flat_rows(rows: onp.ndarray, dim: int) -> onp.ndarray:
    """The flat indices of rows ``rows`` of a C-ordered ``(n, dim)`` table, one array.

    NumPy's ``add.at`` with one 1-D index array is several times faster than with row
    indices into a 2-D table: the hand-written NumPy SGNS of ``bench/embeddings.py``
    scatters through it (gradkit's ``take`` rule does the same inside).

    Examples
    --------
    >>> flat_rows(onp.array([2, 0]), 3).tolist()
    [6, 7, 8, 0, 1, 2]
    """
    return (onp.asarray(rows)[..., None] * dim + onp.arange(dim)).ravel()


def write_word2vec(path: Path, words: list[str], vectors: onp.ndarray) -> None:
    """Save vectors in word2vec's text format: ``count dim``, then ``word v1 v2 ...``.

    Nine significant digits: every float32 value reads back exactly.
    """
    vectors = onp.asarray(vectors, dtype=onp.float32)
    lines = [f"{len(words)} {vectors.shape[1]}"]
    lines += [w + " " + " ".join(f"{x:.9g}" for x in row)
              for w, row in zip(words, vectors.tolist())]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_word2vec(path: Path) -> tuple[list[str], onp.ndarray]:
    """Read word2vec's text format (as :func:`write_word2vec` writes it).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "v.txt")
    >>> write_word2vec(path, ["a", "b"], onp.array([[0.5, -1.0], [2.0, 0.25]]))
    >>> read_word2vec(path)
    (['a', 'b'], array([[ 0.5 , -1.  ],
           [ 2.  ,  0.25]], dtype=float32))
    """
    lines = Path(path).read_text(encoding="utf-8").split("\n")
    try:
        count, dim = (int(x) for x in lines[0].split())
        words, rows = [], []
        for line in lines[1:count + 1]:
            word, *values = line.rstrip().split(" ")
            if len(values) != dim:
                raise ValueError(f"{len(values)} values for {word!r}")
            words.append(word)
            rows.append([float(v) for v in values])
        if len(words) != count:
            raise ValueError(f"{len(words)} rows, the header says {count}")
    except ValueError as e:
        raise GradkitError(f"read_word2vec: {path} is not in word2vec text format "
                           f"({e})") from None
    return words, onp.asarray(rows, dtype=onp.float32).reshape(count, dim)


def read_pairs(path: Path) -> list[tuple[str, str, float]]:
    """Word pairs with a human score: MEN's natural form (``w1 w2 score``, a header line)
    or WordSim-353 (tab-separated, ``#`` comments); words lower-cased.

    Lines whose third field is not a number (headers) are skipped.
    """
    pairs = []
    for line in read_text(Path(path)).split("\n"):
        fields = line.split()
        if len(fields) != 3 or line.startswith("#"):
            continue
        try:
            pairs.append((fields[0].lower(), fields[1].lower(), float(fields[2])))
        except ValueError:
            continue
    if not pairs:
        raise GradkitError(f"recipes.embeddings: {path} holds no 'word word score' lines")
    return pairs


def normalized(vectors: onp.ndarray) -> onp.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = onp.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / onp.where(norms > 0, norms, 1.0)


def similarity_spearman(words: list[str], vectors: onp.ndarray,
                        pairs: list[tuple[str, str, float]]) -> tuple[float, int]:
    """Spearman correlation of cosine similarity with the human scores, on the pairs whose
    two words are in the vocabulary; and how many pairs that is (NaN below 3 pairs).

    Examples
    --------
    >>> v = onp.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    >>> pairs = [("a", "b", 9.0), ("a", "c", 1.0), ("b", "c", 5.0), ("a", "zz", 3.0)]
    >>> similarity_spearman(["a", "b", "c"], v, pairs)
    (1.0, 3)
    """
    from scipy.stats import spearmanr

    index = {w: i for i, w in enumerate(words)}
    covered = [(index[a], index[b], s) for a, b, s in pairs if a in index and b in index]
    if len(covered) < 3:
        return float("nan"), len(covered)
    i, j, human = (onp.asarray(x) for x in zip(*covered))
    unit = normalized(onp.asarray(vectors, dtype=onp.float64))
    cosine = onp.einsum("nd,nd->n", unit[i], unit[j])
    return float(spearmanr(cosine, human).statistic), len(covered)


def read_analogies(path: Path) -> list[tuple[str, str, str, str]]:
    """The Google analogy questions ``a b c d`` (``a`` is to ``b`` as ``c`` is to ``d``),
    lower-cased; section lines (``: name``) skipped."""
    questions = []
    for line in read_text(Path(path)).split("\n"):
        fields = line.lower().split()
        if len(fields) == 4 and not line.startswith(":"):
            questions.append(tuple(fields))
    if not questions:
        raise GradkitError(f"recipes.embeddings: {path} holds no 'a b c d' analogy lines")
    return questions


def analogy_accuracy(words: list[str], vectors: onp.ndarray,
                     questions: list[tuple[str, str, str, str]], chunk: int = 512
                     ) -> tuple[float, int]:
    """3CosAdd accuracy on the questions whose four words are in the vocabulary.

    The answer is the word whose unit vector is closest in cosine to ``b - a + c`` (unit
    vectors), the three question words excluded; returns the accuracy and the number of
    questions covered (NaN accuracy when none is).

    Examples
    --------
    >>> v = onp.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    >>> analogy_accuracy(["man", "king", "woman", "queen"], v,
    ...                  [("man", "king", "woman", "queen"), ("x", "y", "z", "w")])
    (1.0, 1)
    """
    index = {w: i for i, w in enumerate(words)}
    q = onp.asarray([[index[w] for w in question] for question in questions
                     if all(w in index for w in question)], dtype=onp.int64).reshape(-1, 4)
    if not len(q):
        return float("nan"), 0
    unit = normalized(onp.asarray(vectors, dtype=onp.float64))
    correct = 0
    for start in range(0, len(q), chunk):
        a, b, c, d = q[start:start + chunk].T
        scores = normalized(unit[b] - unit[a] + unit[c]) @ unit.T
        rows = onp.arange(len(a))
        for excluded in (a, b, c):
            scores[rows, excluded] = -onp.inf
        correct += int(onp.sum(onp.argmax(scores, axis=1) == d))
    return correct / len(q), len(q)


def nearest(words: list[str], vectors: onp.ndarray, query: str, n: int = 5
            ) -> list[tuple[str, float]]:
    """The ``n`` words closest in cosine to ``query`` (not itself), with their cosines.

    Examples
    --------
    >>> v = onp.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    >>> [w for w, _ in nearest(["a", "b", "c"], v, "a", 2)]
    ['b', 'c']
    """
    index = {w: i for i, w in enumerate(words)}
    unit = normalized(onp.asarray(vectors, dtype=onp.float64))
    cosine = unit @ unit[index[query]]
    cosine[index[query]] = -onp.inf
    order = onp.argsort(-cosine, kind="stable")[:n]
    return [(words[k], round(float(cosine[k]), 4)) for k in order]


@dataclass
class Batch:
    """One minibatch of skip-gram pairs with their noise words.

    Attributes
    ----------
    centre : ndarray of int64, shape (B,)
    context : ndarray of int64, shape (B, 1 + negative)
        The true context word, then the noise words.
    weight : ndarray of float32, shape (B, 1 + negative)
        0 for a noise word equal to the true context (word2vec skips it), else 1.
    lr : float
        The learning rate, decayed linearly from ``alpha`` to ``min_alpha`` over training.
    progress : float
        Epochs done when the batch starts (``0 <= progress < epochs``).
    """

    centre: onp.ndarray
    context: onp.ndarray
    weight: onp.ndarray
    lr: float
    progress: float


def sgns_batches(corpus: Corpus, *, window: int, negative: int, sample: float, batch: int,
                 epochs: int, alpha: float, min_alpha: float, rng: onp.random.Generator):
    """Yield the :class:`Batch` es of skip-gram training with negative sampling.

    Each epoch subsamples the corpus, draws the dynamic windows, shuffles the pairs and
    cuts them into batches of ``batch`` pairs, each with ``negative`` noise words per
    pair from the unigram^0.75 distribution.

    Examples
    --------
    >>> c = build_corpus([["a", "b", "c", "a", "b"]] * 4, min_count=1)
    >>> b = next(sgns_batches(c, window=2, negative=3, sample=0, batch=8, epochs=1,
    ...                       alpha=0.025, min_alpha=0.0001, rng=onp.random.default_rng(0)))
    >>> b.centre.shape, b.context.shape, b.weight.dtype, b.lr
    ((8,), (8, 4), dtype('float32'), 0.025)
    """
    keep = keep_probability(corpus.counts, sample)
    cdf = noise_cdf(corpus.counts)
    for epoch in range(epochs):
        ids, sentence = subsample(corpus, keep, rng)
        centre, context = skipgram_pairs(ids, sentence, window, rng)
        order = rng.permutation(centre.size)
        centre, context = centre[order], context[order]
        n = centre.size
        for start in range(0, n, batch):
            c, o = centre[start:start + batch], context[start:start + batch]
            noise = sample_noise(cdf, (c.size, negative), rng)
            weight = onp.ones((c.size, 1 + negative), dtype=onp.float32)
            weight[:, 1:][noise == o[:, None]] = 0.0
            progress = epoch + start / n
            yield Batch(c, onp.concatenate([o[:, None], noise], axis=1), weight,
                        alpha - (alpha - min_alpha) * progress / epochs, progress)
