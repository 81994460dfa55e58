"""Sentiment of review sentences: logistic regression and a bag of embeddings, by gradkit.

The UCI "sentiment labelled sentences" (Kotzias et al., KDD 2015: 1,000 Amazon, 1,000
IMDb and 1,000 Yelp sentences, half positive; CC BY 4.0, shipped with gradkit) pooled and
scored by 10-fold stratified cross-validation (shuffled, ``random_state`` 0). Every model
is fitted inside each training fold only, vectorisers included:

* logistic regression on word counts (C=1) and on word 1-2-gram TF-IDF (sublinear, C=10),
  fitted by gradkit's L-BFGS through a sparse product with its own derivative rule,
  beside scikit-learn's ``LogisticRegression`` on the same features (the baselines);
* the same logistic regression on word 1-2-gram and character 2-5-gram TF-IDF together
  (C=10, fixed in advance: the baseline's C), the primary model;
* a bag of embeddings (``nn.Embedding`` over word 1-2-grams, the count-weighted mean of
  a sentence's rows, then a linear layer) trained by Adam.

Beside them, the seed's three-sentence example: its gradient multiplies by
``p * (1 - p)`` twice; gradkit's ``check_grads`` accepts the correct one and rejects it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as onp

from .. import nn
from .. import numpy as gnp
from ..optim import AdamW
from ._rundir import RunDir
from ._spec import Spec, at_least, in_range, positive, refuse
from .shared.figures import new_figure, save_figure
from .shared.linear import fit_logistic
from .shared.threads import single_blas_thread

__all__ = ["Config", "SPEC", "run", "load_sentences", "seed_example", "MODELS"]

_DATA = Path(__file__).parent / "data" / "sentiment"
_FILES = ("amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt")

MODELS = ("count_lr", "tfidf_lr", "word_char_lr", "embeddings")
"""gradkit's models, in the order they are reported; ``word_char_lr`` is the primary."""

SPEC = Spec(
    name="sentiment",
    summary="sentence sentiment (UCI Amazon/IMDb/Yelp), 10-fold CV: logistic regression on "
            "n-grams and a bag of embeddings, trained by gradkit",
    metric="cv_accuracy", higher_is_better=True, goal=0.850,
    baseline="scikit-learn LogisticRegression, TF-IDF 1-2-grams, C=10 (same folds)",
    baseline_source="measured", requires=("sklearn", "scipy", "matplotlib"))


@dataclass(frozen=True)
class Config:
    """Settings of the sentiment recipe.

    Parameters
    ----------
    data : str or None
        None: the shipped sentences. Otherwise a folder with the three UCI files.
    folds : int, default 10
        Cross-validation folds (stratified, shuffled with ``random_state`` 0).
    max_folds : int, default 0
        Score only the first few folds (0: all).
    C : float, default 10.0
        Inverse L2 strength of the TF-IDF models (scikit-learn's convention).
    count_C : float, default 1.0
        The same for the word-count model.
    embed_dim, embed_epochs, embed_batch, embed_lr, embed_decay
        The bag of embeddings: dimension, epochs, batch size, Adam's learning rate and
        the L2 penalty on its weights.
    """

    data: str | None = None
    folds: int = 10
    max_folds: int = 0
    C: float = 10.0
    count_C: float = 1.0
    embed_dim: int = 32
    embed_epochs: int = 10
    embed_batch: int = 64
    embed_lr: float = 0.02
    embed_decay: float = 1e-4

    def __post_init__(self) -> None:
        at_least(self, "folds", 2)
        at_least(self, "max_folds", 0)
        positive(self, "C")
        positive(self, "count_C")
        at_least(self, "embed_dim", 1)
        at_least(self, "embed_epochs", 1)
        at_least(self, "embed_batch", 1)
        positive(self, "embed_lr")
        in_range(self, "embed_decay", 0.0, 1.0)
        if self.data is not None and not all((Path(self.data) / f).is_file() for f in _FILES):
            raise refuse(self, "data", f"a folder holding {', '.join(_FILES)}")

    @classmethod
    def smoke(cls) -> Config:
        return cls(max_folds=2, embed_epochs=2)


def load_sentences(data: str | None = None) -> tuple[onp.ndarray, onp.ndarray, onp.ndarray]:
    """The 3,000 sentences, their labels (1 positive) and their source (0 Amazon, 1 IMDb,
    2 Yelp). Lines split with ``split("\\n")``: ``splitlines`` would also break two IMDb
    sentences at a U+0085 character inside them; each line splits on its last tab."""
    texts, labels, source = [], [], []
    for k, name in enumerate(_FILES):
        raw = ((_DATA if data is None else Path(data)) / name).read_text(encoding="utf-8")
        for line in raw.split("\n"):
            line = line.rstrip("\r")
            if line.strip():
                text, label = line.rsplit("\t", 1)
                texts.append(text)
                labels.append(int(label))
                source.append(k)
    return onp.array(texts, dtype=object), onp.array(labels), onp.array(source)


def _folds(y: onp.ndarray, k: int) -> list[tuple[onp.ndarray, onp.ndarray]]:
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(k, shuffle=True, random_state=0).split(onp.zeros(len(y)), y))


def _vectorisers(kind: str) -> list:
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    if kind == "count":
        return [CountVectorizer()]
    if kind == "tfidf":
        return [words]
    return [words, TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)]


def _features(kind: str, train, test):
    import scipy.sparse as sp

    vecs = _vectorisers(kind)
    Xa = sp.hstack([v.fit_transform(train) for v in vecs]).tocsr()
    Xb = sp.hstack([v.transform(test) for v in vecs]).tocsr()
    names = onp.concatenate([v.get_feature_names_out() for v in vecs])
    return Xa, Xb, names


def _padded(X, width: int) -> tuple[onp.ndarray, onp.ndarray]:
    """A count matrix's rows as padded ids (0 pads, n-gram j is j + 1) and weights (each
    n-gram's share of the row's count), so a lookup and weighted sum is the row's mean."""
    X = X.tocsr()
    lengths = onp.diff(X.indptr)
    rows = onp.repeat(onp.arange(X.shape[0]), lengths)
    cols = onp.arange(X.nnz) - X.indptr[rows]
    ids = onp.zeros((X.shape[0], width), dtype=onp.int64)
    weights = onp.zeros((X.shape[0], width))
    ids[rows, cols] = X.indices + 1
    total = onp.maximum(onp.asarray(X.sum(axis=1)).ravel(), 1.0)
    weights[rows, cols] = X.data / total[rows]
    return ids, weights


class BagOfEmbeddings(nn.Module):
    """Embedding rows of a sentence's n-grams, their count-weighted mean, two logits.

    Its input packs each sentence's padded n-gram ids and their weights side by side
    (:func:`_padded`), so that :func:`gradkit.nn.fit` batches them as one array.
    """

    def __init__(self, vocabulary: int, dim: int, rng) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocabulary + 1, dim, rng=rng, dtype=onp.float64)
        self.out = nn.Linear(dim, 2, rng=rng, dtype=onp.float64)

    def forward(self, packed):
        packed = onp.asarray(packed)
        width = packed.shape[1] // 2
        ids, weights = packed[:, :width].astype(onp.int64), packed[:, width:]
        return self.out(gnp.sum(self.embed(ids) * weights[..., None], axis=1))


def _train_embeddings(cfg: Config, train, y_train, test, seed: int) -> onp.ndarray:
    """Test-fold predictions of a bag of embeddings trained on the training fold."""
    from sklearn.feature_extraction.text import CountVectorizer

    vec = CountVectorizer(ngram_range=(1, 2))
    counts = vec.fit_transform(train)
    test_counts = vec.transform(test)
    width = max(int(onp.diff(counts.indptr).max()), int(onp.diff(test_counts.indptr).max()))
    packed = onp.hstack(_padded(counts, width))
    rng = onp.random.default_rng(seed)
    model = BagOfEmbeddings(len(vec.vocabulary_), cfg.embed_dim, rng)
    model.embed.weight.data *= 0.1  # small starting rows: the mean of N(0, 1) rows is loud
    nn.fit(model, nn.cross_entropy, AdamW(lr=cfg.embed_lr, weight_decay=cfg.embed_decay),
           packed, y_train, epochs=cfg.embed_epochs, batch_size=cfg.embed_batch, seed=seed,
           progress=False)
    model.eval()
    logits = onp.asarray(model(onp.hstack(_padded(test_counts, width))).data)
    return logits.argmax(axis=1)


_TOY = (("i love this movie", 1), ("this movie is terrible", 0), ("what a great story", 1))


def seed_example() -> dict:
    """The seed's three-sentence model: bag of words, a sigmoid, the squared error.

    Its gradient multiplies the error by ``p * (1 - p)`` twice. ``check_grads`` compares
    a gradient with central differences: the correct one passes, the seed's fails.
    Returns both gradients at the seed's starting weights and what ``check_grads`` said.
    """
    from .. import custom_vjp
    from ..check import check_grads
    from ..errors import GradientCheckError

    words = sorted({w for text, _ in _TOY for w in text.split()})
    X = onp.array([[text.split().count(w) for w in words] for text, _ in _TOY], float)
    y = onp.array([label for _, label in _TOY], float)
    w0 = onp.linspace(-0.5, 0.5, len(words))

    def loss(w):
        p = 1.0 / (1.0 + gnp.exp(-(X @ w)))
        return 0.5 * gnp.sum((p - y) ** 2)

    def seed_gradient(w):
        p = 1.0 / (1.0 + onp.exp(-(X @ w)))
        delta = (p - y) * p * (1 - p)
        return X.T @ (delta * p * (1 - p))  # the seed's second p(1 - p)

    def correct_gradient(w):
        p = 1.0 / (1.0 + onp.exp(-(X @ w)))
        return X.T @ ((p - y) * p * (1 - p))

    def with_gradient(rule):
        f = custom_vjp(loss)
        f.defvjp(lambda w: (loss(w), w), lambda w, g: (g * rule(onp.asarray(w)),))
        return f

    verdict = {}
    for name, rule in (("seed", seed_gradient), ("correct", correct_gradient)):
        try:
            check_grads(with_gradient(rule), (w0,), order=1, modes=("rev",))
            verdict[name] = "passes"
        except GradientCheckError:
            verdict[name] = "fails"
    return {"words": words, "seed_gradient": seed_gradient(w0).tolist(),
            "correct_gradient": correct_gradient(w0).tolist(), "check_grads": verdict}


def _score_fold(cfg: Config, texts, y, train, test, seed: int) -> dict:
    """Test-fold accuracies of every model, and the primary model's weights."""
    from sklearn.linear_model import LogisticRegression

    out = {}
    for kind, C in (("count", cfg.count_C), ("tfidf", cfg.C), ("word_char", cfg.C)):
        Xa, Xb, names = _features(kind, texts[train], texts[test])
        res = fit_logistic(Xa, y[train], C)
        out[f"{kind}_lr"] = float(onp.mean((Xb @ res.x["w"] + res.x["b"] > 0) == (y[test] == 1)))
        if kind in ("count", "tfidf"):  # the baselines: scikit-learn on the same features
            sk = LogisticRegression(C=C, max_iter=10000).fit(Xa, y[train])
            out[f"sklearn_{kind}_lr"] = float(sk.score(Xb, y[test]))
    predicted = _train_embeddings(cfg, texts[train], y[train], texts[test], seed)
    out["embeddings"] = float(onp.mean(predicted == y[test]))
    return out


def run(cfg: Config, rd: RunDir) -> dict:
    """Cross-validate every model on the same folds; plot the primary model's weights.

    Figures: ``folds.png`` (accuracy per fold, every model) and ``words.png`` (the most
    positive and negative word n-grams of the word-count model, fitted on all sentences).
    """
    texts, y, _ = load_sentences(cfg.data)
    folds = _folds(y, cfg.folds)[:cfg.max_folds or None]
    per_fold = []
    for k, (train, test) in enumerate(folds):
        # One BLAS thread: L-BFGS's small vector products measured 25 times slower with
        # two threads on a busy 2-core machine.
        with single_blas_thread():
            _, acc = rd.stage(f"fold-{k}", lambda train=train, test=test, k=k: (
                {}, _score_fold(cfg, texts, y, train, test, rd.seed + k)))
        per_fold.append(acc)
        rd.say(f"  fold {k + 1}/{len(folds)}: " + ", ".join(f"{m} {v:.3f}"
                                                        for m, v in acc.items()))
    keys = list(per_fold[0])
    table = {m: onp.array([f[m] for f in per_fold]) for m in keys}
    mean = {m: float(v.mean()) for m, v in table.items()}
    sd = {m: float(v.std()) for m, v in table.items()}
    _, toy = rd.stage("seed-example", lambda: ({}, seed_example()))
    with single_blas_thread():
        _, top = rd.stage("words", lambda: ({}, _top_ngrams(texts, y, cfg.count_C)))
    _plot_folds(table, rd.figure_path("folds"))
    _plot_words(top, rd.figure_path("words"))
    return {"value": mean["word_char_lr"], "baseline_value": mean["sklearn_tfidf_lr"],
            "cv_mean": mean, "cv_sd": sd, "folds_scored": len(folds),
            "per_fold": {m: v.tolist() for m, v in table.items()},
            "seed_example": toy, "top_ngrams": top}


def _top_ngrams(texts, y, C: float, k: int = 12) -> dict:
    """The word-count model fitted on every sentence: its most positive and negative
    words."""
    Xa, _, names = _features("count", texts, texts[:1])
    w = fit_logistic(Xa, y, C).x["w"]
    order = onp.argsort(w)
    return {"positive": [[str(names[i]), float(w[i])] for i in order[::-1][:k]],
            "negative": [[str(names[i]), float(w[i])] for i in order[:k]]}


def _plot_folds(table: dict, path: Path) -> None:
    fig, ax = new_figure(figsize=(8, 4))
    folds = onp.arange(1, len(next(iter(table.values()))) + 1)
    for m, v in table.items():
        style = "--" if m.startswith("sklearn") else "-"
        ax.plot(folds, v, style, marker="o", ms=3, label=f"{m} ({v.mean():.3f})")
    ax.set_xlabel("fold")
    ax.set_ylabel("test accuracy")
    ax.set_title("10-fold cross-validation, the same folds for every model")
    ax.legend(fontsize=7)
    save_figure(fig, path)


def _plot_words(top: dict, path: Path) -> None:
    fig, ax = new_figure(figsize=(7, 6))
    pairs = top["negative"][::-1] + top["positive"][::-1]
    pairs = sorted(pairs, key=lambda p: p[1])
    ax.barh([p[0] for p in pairs], [p[1] for p in pairs],
            color=["C3" if p[1] < 0 else "C2" for p in pairs])
    ax.set_xlabel("weight (word-count logistic regression, all sentences)")
    ax.set_title("the most negative and positive words")
    save_figure(fig, path)
