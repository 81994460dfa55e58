"""Word embeddings: gradkit's skip-gram with negative sampling beside a hand-written NumPy
SGNS and gensim's Word2Vec, on tiny Shakespeare and WikiText-2.

Run with ``.venv-bench/bin/python bench/embeddings.py`` (gensim is in the ``bench``
extra; without it the gensim rows are skipped with a message). Everything runs on one
thread in this one process.

- gradkit: :func:`gradkit.recipes.embeddings.train_sgns` at the recipe's defaults (dim
  100, window 5, negative 5, min_count 5, epochs 5, sample 1e-3, alpha 0.025 decayed
  linearly, batches of ``Config.batch`` pairs); the gradient by gradkit's reverse mode.
- NumPy: the same minibatches (the same pairs, noise words and learning rates for the
  same seed) with the gradient written out by hand and scattered with ``np.add.at`` over
  flat indices (the fastest pure-NumPy scatter measured here): the limit for a NumPy
  program. Its vectors equal gradkit's up to float32 rounding, which the script checks.
- gensim: ``Word2Vec(sg=1, vector_size=100, window=5, negative=5, min_count=5, epochs=5,
  workers=1, seed=s)`` on the same sentences; the vocabulary is built untimed, then
  ``train`` is timed.

Words per second: epochs times the corpus's tokens (before ``min_count``) over the
training seconds, for all three. Scores: Spearman correlation of cosine with the human
scores on the covered pairs of MEN (shipped with the recipe) and WordSim-353, and
3CosAdd accuracy on the covered Google analogies (both from ``../shared/data/
word_benchmarks`` next to the repository, or ``--benchmarks DIR``), mean over the seeds.
WikiText-2 (valid + test, alphabetic tokens, a sentence per line) is read from
``../shared/data/wikitext2_valid_test`` or ``--wikitext DIR`` and skipped when absent.

The last lines check the goals: gradkit's MEN at least gensim's on each corpus, and
gradkit's words per second at least 80% of the NumPy SGNS's; the exit status is 1 when a
goal is missed. It also checks that gensim's ``KeyedVectors.load_word2vec_format`` reads
the recipe's word2vec text file back.
"""

import _harness

_harness.prepare_environment()  # before NumPy is imported

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from gradkit.recipes import embeddings as recipe  # noqa: E402
from gradkit.recipes.shared import word2vec as w2v  # noqa: E402

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
GOAL_SPEED_RATIO = 0.8
PUBLISHED_GENSIM_MEN = {"tiny Shakespeare": 0.161, "WikiText-2": 0.246}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="runs per method (default 3)")
    parser.add_argument("--wikitext", type=Path, default=SHARED / "wikitext2_valid_test",
                        help="a folder of .txt files (default: WikiText-2 valid+test)")
    parser.add_argument("--benchmarks", type=Path, default=SHARED / "word_benchmarks",
                        help="the folder of wordsim353.tsv and questions-words.txt")
    parser.add_argument("--numpy-batch", type=int, default=512,
                        help="also time the NumPy SGNS with batches of this many pairs "
                             "(its fastest here; 0: skip)")
    parser.add_argument("--skip-gensim", action="store_true")
    parser.add_argument("--quick", action="store_true",
                        help="one seed, tiny Shakespeare only (rougher numbers)")
    return parser.parse_args()


def numpy_sgns(corpus: w2v.Corpus, cfg: recipe.Config, rng: np.random.Generator
               ) -> np.ndarray:
    """SGNS with the gradient written out by hand: the recipe's batches, its update."""
    vocab, dim = len(corpus.words), cfg.dim
    w_in = ((rng.random((vocab, dim)) - 0.5) / dim).astype(np.float32)
    w_out = np.zeros((vocab, dim), dtype=np.float32)
    flat_in, flat_out = w_in.reshape(-1), w_out.reshape(-1)
    for b in w2v.sgns_batches(corpus, window=cfg.window, negative=cfg.negative,
                              sample=cfg.sample, batch=cfg.batch, epochs=cfg.epochs,
                              alpha=cfg.alpha, min_alpha=cfg.min_alpha, rng=rng):
        centre, context = w_in[b.centre], w_out[b.context]
        score = np.einsum("bkd,bd->bk", context, centre)
        g = 1.0 / (1.0 + np.exp(-np.clip(score, -30.0, 30.0)))  # d loss / d score
        g[:, 0] -= 1.0
        g *= b.weight * np.float32(b.lr)
        np.add.at(flat_in, w2v.flat_rows(b.centre, dim),
                  -np.einsum("bk,bkd->bd", g, context).ravel())
        np.add.at(flat_out, w2v.flat_rows(b.context, dim),
                  -np.einsum("bk,bd->bkd", g, centre).ravel())
    return w_in


def gensim_sgns(sentences: list[list[str]], cfg: recipe.Config, seed: int
                ) -> tuple[list[str], np.ndarray, float]:
    from gensim.models import Word2Vec

    model = Word2Vec(sg=1, vector_size=cfg.dim, window=cfg.window, negative=cfg.negative,
                     min_count=cfg.min_count, sample=cfg.sample, alpha=cfg.alpha,
                     min_alpha=cfg.min_alpha, epochs=cfg.epochs, workers=1, seed=seed)
    model.build_vocab(sentences)
    started = time.perf_counter()
    model.train(sentences, total_examples=model.corpus_count, epochs=cfg.epochs)
    seconds = time.perf_counter() - started
    return list(model.wv.index_to_key), np.asarray(model.wv.vectors), seconds


def scores(words, vectors, men, wordsim, analogies) -> dict:
    out = {"men": w2v.similarity_spearman(words, vectors, men)}
    out["ws353"] = (w2v.similarity_spearman(words, vectors, wordsim) if wordsim
                    else (float("nan"), 0))
    out["analogies"] = (w2v.analogy_accuracy(words, vectors, analogies) if analogies
                        else (float("nan"), 0))
    return out


def check_word2vec_format(words, vectors) -> str:
    try:
        from gensim.models import KeyedVectors
    except ImportError:
        return "gensim not installed: the word2vec text file was not read back by gensim"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vectors.txt"
        w2v.write_word2vec(path, words, vectors)
        kv = KeyedVectors.load_word2vec_format(str(path), binary=False)
    same_words = list(kv.index_to_key) == list(words)
    err = float(np.max(np.abs(kv.vectors - vectors) / (np.abs(vectors) + 1e-6)))
    ok = same_words and err < 1e-5
    return (f"gensim KeyedVectors.load_word2vec_format read the recipe's file: "
            f"{len(kv.index_to_key)} words x {kv.vector_size}, same words {same_words}, "
            f"largest relative difference {err:.1e}: {'ok' if ok else 'FAILED'}")


def bench_corpus(name: str, cfg: recipe.Config, seeds: int, use_gensim: bool,
                 numpy_batch: int, men, wordsim, analogies) -> dict:
    text_sentences = recipe.load_sentences(cfg)
    corpus = w2v.build_corpus(text_sentences, cfg.min_count)
    print(f"\n{name}: {corpus.raw_tokens:,} tokens, {len(corpus.words):,} words seen "
          f"{cfg.min_count}+ times; batch {cfg.batch} pairs")
    other = f"NumPy SGNS, batch {numpy_batch}"
    methods = (["gradkit", "NumPy SGNS"] + ([other] if numpy_batch else [])
               + (["gensim (workers=1)"] if use_gensim else []))
    runs = {m: [] for m in methods}
    largest_gap = 0.0
    for seed in range(seeds):
        rng_seed = [seed, 12]  # the recipe's training stream for this seed
        t = time.perf_counter()
        w_gk, _, _ = recipe.train_sgns(corpus, cfg, np.random.default_rng(rng_seed))
        runs["gradkit"].append((time.perf_counter() - t,
                                scores(corpus.words, w_gk, men, wordsim, analogies)))
        t = time.perf_counter()
        w_np = numpy_sgns(corpus, cfg, np.random.default_rng(rng_seed))
        runs["NumPy SGNS"].append((time.perf_counter() - t,
                                   scores(corpus.words, w_np, men, wordsim, analogies)))
        largest_gap = max(largest_gap, float(np.max(np.abs(w_gk - w_np))))
        if numpy_batch:
            t = time.perf_counter()
            w_np = numpy_sgns(corpus, replace(cfg, batch=numpy_batch),
                              np.random.default_rng(rng_seed))
            runs[other].append((time.perf_counter() - t,
                                scores(corpus.words, w_np, men, wordsim, analogies)))
        if use_gensim:
            words, vectors, seconds = gensim_sgns(text_sentences, cfg, seed + 1)
            runs["gensim (workers=1)"].append((seconds, scores(words, vectors, men, wordsim,
                                                                analogies)))
    rows, summary = [], {}
    for m in methods:
        secs = [s for s, _ in runs[m]]
        wps = statistics.mean(cfg.epochs * corpus.raw_tokens / s for s in secs)
        mean = {k: statistics.mean(r[k][0] for _, r in runs[m]) for k in ("men", "ws353",
                                                                          "analogies")}
        cover = {k: runs[m][0][1][k][1] for k in ("men", "ws353", "analogies")}
        sd = statistics.stdev(r["men"][0] for _, r in runs[m]) if seeds > 1 else 0.0
        summary[m] = {"wps": wps, **mean}
        rows.append([m, f"{mean['men']:.3f} (sd {sd:.3f})", str(cover["men"]),
                     f"{mean['ws353']:.3f}", str(cover["ws353"]),
                     f"{100 * mean['analogies']:.1f}%", str(cover["analogies"]),
                     f"{statistics.mean(secs):.2f}", f"{wps:,.0f}"])
    _harness.print_rows(["method", f"MEN (mean of {seeds})", "pairs", "WS-353", "pairs",
                         "analogies", "questions", "train s", "words/s"], rows)
    print(f"gradkit / NumPy SGNS words per second: "
          f"{summary['gradkit']['wps'] / summary['NumPy SGNS']['wps']:.2f} (same batches; "
          f"largest difference of their vectors {largest_gap:.1e}, float32)")
    if numpy_batch:
        print(f"gradkit / {other} words per second: "
              f"{summary['gradkit']['wps'] / summary[other]['wps']:.2f}")
    print(f"gensim's MEN published in the issue (workers=2, mean of 3): "
          f"{PUBLISHED_GENSIM_MEN[name]}")
    return summary


def main() -> int:
    args = parse_args()
    seeds = 1 if args.quick else args.seeds
    use_gensim = not args.skip_gensim
    if use_gensim:
        try:
            import gensim  # noqa: F401
        except ImportError:
            print("gensim is not installed here (pip install gensim, or the bench extra): "
                  "its rows are skipped")
            use_gensim = False
    _harness.print_environment([("gensim", "gensim")], {} if use_gensim else
                               {"gensim": "not installed"}, None,
                               "training timed once per seed, one thread")
    men = w2v.read_pairs(recipe.MEN)
    ws_path, an_path = args.benchmarks / "wordsim353.tsv", args.benchmarks / "questions-words.txt"
    wordsim = w2v.read_pairs(ws_path) if ws_path.is_file() else None
    analogies = w2v.read_analogies(an_path) if an_path.is_file() else None
    if wordsim is None or analogies is None:
        print(f"WordSim-353 / analogies not found in {args.benchmarks}: not available")
    corpora = [("tiny Shakespeare", recipe.Config())]
    if not args.quick:
        if any(args.wikitext.glob("*.txt")):
            corpora.append(("WikiText-2", replace(recipe.Config(), corpus=str(args.wikitext))))
        else:
            print(f"WikiText-2 not found in {args.wikitext}: skipped")
    results = {name: bench_corpus(name, cfg, seeds, use_gensim, args.numpy_batch, men,
                                  wordsim, analogies)
               for name, cfg in corpora}
    corpus = recipe.load_corpus(recipe.Config(max_tokens=20_000))
    print("\n" + check_word2vec_format(corpus.words, np.random.default_rng(0).standard_normal(
        (len(corpus.words), 8)).astype(np.float32)))
    missed = []
    for name, r in results.items():
        ratio = r["gradkit"]["wps"] / r["NumPy SGNS"]["wps"]
        print(f"goal {name}: gradkit words/s {ratio:.2f} of the NumPy SGNS's (goal >= "
              f"{GOAL_SPEED_RATIO}): {'met' if ratio >= GOAL_SPEED_RATIO else 'MISSED'}")
        missed += [] if ratio >= GOAL_SPEED_RATIO else [f"{name} speed"]
        if "gensim (workers=1)" in r:
            ours, theirs = r["gradkit"]["men"], r["gensim (workers=1)"]["men"]
            print(f"goal {name}: gradkit MEN {ours:.3f} >= gensim's {theirs:.3f}: "
                  f"{'met' if ours >= theirs else 'MISSED'}")
            missed += [] if ours >= theirs else [f"{name} MEN"]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
