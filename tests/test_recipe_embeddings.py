"""The embeddings recipe: the SGNS gradient, word2vec's sampling (noise, subsampling,
dynamic window), the word2vec text format and the evaluations (the contract is checked
for every recipe in test_recipe_contract.py)."""

import json

import numpy as np
import pytest

from gradkit import check_grads, recipes
from gradkit.errors import GradkitError
from gradkit.recipes import ConfigError
from gradkit.recipes.embeddings import Config, load_corpus, sgns_loss, train_sgns
from gradkit.recipes.shared import word2vec as w2v


def _batch(rng, n_in=4, n_out=6, dim=3, pairs=5, negative=2):
    """Rows and flat indices with repeated rows, so that the scatter-add accumulates."""
    rows_in = rng.standard_normal((n_in, dim))
    rows_out = rng.standard_normal((n_out, dim))
    centre = rng.integers(0, n_in, pairs)
    centre[:2] = 0
    context = rng.integers(0, n_out, (pairs, 1 + negative))
    context[0, :] = 1
    weight = np.ones((pairs, 1 + negative))
    weight[1, 2] = 0.0
    return rows_in, rows_out, centre, context, weight


def test_the_sgns_gradient_matches_finite_differences():
    rows_in, rows_out, centre, context, weight = _batch(np.random.default_rng(0))
    check_grads(lambda a, b: sgns_loss(a, b, centre, context, weight), (rows_in, rows_out),
                order=1, modes=("rev",))


def test_the_sgns_gradient_equals_the_hand_derived_one():
    from gradkit.transforms import grad

    rows_in, rows_out, centre, context, weight = _batch(np.random.default_rng(1))
    g_in, g_out = grad(sgns_loss, argnums=(0, 1))(
        rows_in, rows_out, centre, context, weight)
    # d/ds log(1 + exp(-s)) = sigmoid(s) - 1 for the context, sigmoid(s) for noise words
    v, u = rows_in[centre], rows_out[context]
    score = np.einsum("bkd,bd->bk", u, v)
    d = (1 / (1 + np.exp(-score)) - np.eye(1, score.shape[1])) * weight
    want_in, want_out = np.zeros_like(rows_in), np.zeros_like(rows_out)
    np.add.at(want_in, centre, np.einsum("bk,bkd->bd", d, u))
    np.add.at(want_out, context, d[:, :, None] * v[:, None, :])
    np.testing.assert_allclose(g_in, want_in, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g_out, want_out, rtol=1e-12, atol=1e-12)


def test_training_equals_hand_written_sgd_on_the_same_batches():
    corpus = w2v.build_corpus([list("abcabdabcaeabcd") * 3, list("dcba") * 5], min_count=1)
    cfg = Config(dim=4, window=2, negative=3, epochs=2, batch=16, sample=0.0)
    w_in, w_out, curve = train_sgns(corpus, cfg, np.random.default_rng(3))
    rng = np.random.default_rng(3)
    v = len(corpus.words)
    a = ((rng.random((v, 4)) - 0.5) / 4).astype(np.float32)
    b = np.zeros((v, 4), np.float32)
    for batch in w2v.sgns_batches(corpus, window=2, negative=3, sample=0.0, batch=16,
                                  epochs=2, alpha=cfg.alpha, min_alpha=cfg.min_alpha,
                                  rng=rng):
        centre, context = a[batch.centre], b[batch.context]
        score = np.einsum("bkd,bd->bk", context, centre)
        d = (1 / (1 + np.exp(-score)) - np.eye(1, score.shape[1])) * batch.weight
        np.add.at(a, batch.centre, -batch.lr * np.einsum("bk,bkd->bd", d, context))
        np.add.at(b, batch.context, -batch.lr * d[:, :, None] * centre[:, None, :])
    np.testing.assert_allclose(w_in, a, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(w_out, b, rtol=1e-5, atol=1e-6)
    assert curve.shape[1] == 2 and np.all(np.diff(curve[:, 0]) > 0)


def test_the_noise_distribution_is_unigram_to_the_power_three_quarters():
    counts = np.array([1000, 200, 50, 10, 1])
    cdf = w2v.noise_cdf(counts)
    draws = w2v.sample_noise(cdf, (400_000,), np.random.default_rng(0))
    freq = np.bincount(draws, minlength=5) / draws.size
    want = counts ** 0.75 / np.sum(counts ** 0.75)
    np.testing.assert_allclose(freq, want, atol=3e-3)
    assert abs(freq[0] - counts[0] / counts.sum()) > 0.05  # not the plain unigram


def test_subsampling_follows_word2vecs_formula():
    counts = np.array([5000, 500, 2])
    t = 1e-3 * counts.sum()
    keep = w2v.keep_probability(counts, 1e-3)
    np.testing.assert_allclose(keep[:2], (np.sqrt(counts[:2] / t) + 1) * t / counts[:2])
    assert keep[2] == 1.0 and keep[0] < keep[1] < 1.0
    assert np.all(w2v.keep_probability(counts, 0.0) == 1.0)
    ids = np.repeat(np.arange(3), counts)
    corpus = w2v.Corpus(["a", "b", "c"], counts, ids, np.zeros_like(ids), ids.size)
    kept = np.zeros(3)
    for seed in range(20):
        k, _ = w2v.subsample(corpus, keep, np.random.default_rng(seed))
        kept += np.bincount(k, minlength=3)
    np.testing.assert_allclose(kept / (20 * counts), keep, atol=0.02)


def test_the_dynamic_window_shrinks_uniformly_and_stays_in_the_sentence():
    n, window = 20_000, 4
    ids = np.arange(n)
    sentence = np.repeat(np.arange(n // 50), 50)
    centre, context = w2v.skipgram_pairs(ids, sentence, window, np.random.default_rng(0))
    offset = context - centre
    assert np.all(sentence[centre] == sentence[context])
    assert set(np.unique(np.abs(offset))) == set(range(1, window + 1))
    # a centre reaches distance d with chance (window - d + 1) / window, on each side
    for d in range(1, window + 1):
        slots = 2 * np.sum(sentence[d:] == sentence[:-d])
        seen = np.sum(np.abs(offset) == d) / slots
        assert abs(seen - (window - d + 1) / window) < 0.02, d


def test_tokenizers():
    text = "First Citizen:\nWe know't, we KNOW'T.\n\n\nAll:\n'Tis done: 'away'!\n"
    assert w2v.tokenize_speeches(text) == [
        ["first", "citizen", "we", "know't", "we", "know't"], ["all", "tis", "done", "away"]]
    assert w2v.tokenize_lines(" = Head = \n a 1 @-@ b <unk> C. d\n\n") == [
        ["head"], ["a", "b", "d"]]


def test_word2vec_text_format_round_trip(tmp_path):
    words = ["the", "king's", "x"]
    vectors = np.array([[0.5, -1.25, 3e-7], [1e3, 0.0, -2.0], [1 / 3, 2 / 3, 1.0]], np.float32)
    path = tmp_path / "v.txt"
    w2v.write_word2vec(path, words, vectors)
    lines = path.read_text().splitlines()
    assert lines[0] == "3 3" and lines[2].startswith("king's 1000 0 -2")
    got_words, got = w2v.read_word2vec(path)
    assert got_words == words
    np.testing.assert_array_equal(got, vectors)
    (tmp_path / "bad.txt").write_text("2 3\na 1 2 3\n")
    with pytest.raises(Exception, match="word2vec text format"):
        w2v.read_word2vec(tmp_path / "bad.txt")


def test_gensim_reads_the_word2vec_file(tmp_path):
    keyed = pytest.importorskip("gensim.models").KeyedVectors
    vectors = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    w2v.write_word2vec(tmp_path / "v.txt", ["a", "b", "c", "d'e"], vectors)
    kv = keyed.load_word2vec_format(str(tmp_path / "v.txt"), binary=False)
    assert list(kv.index_to_key) == ["a", "b", "c", "d'e"]
    np.testing.assert_array_equal(kv.vectors, vectors)


def test_spearman_on_a_hand_made_case(tmp_path):
    # unit vectors at angles 0, 30, 60, 90 and 180 degrees from "a"
    angles = np.radians([0, 30, 60, 90, 180])
    vectors = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    words = ["a", "b", "c", "d", "e"]
    # cosines with a: b .87, c .5, d 0, e -1; the human scores swap c and d: rho = 1 -
    # 6 * (1 + 1) / (4 * 15) = 0.8
    (tmp_path / "men.txt").write_text("word1 word2 score\na b 40\na c 10\na d 20\na e 1\n"
                                      "a zzz 5\n")
    pairs = w2v.read_pairs(tmp_path / "men.txt")
    assert len(pairs) == 5
    rho, covered = w2v.similarity_spearman(words, vectors, pairs)
    assert covered == 4 and rho == pytest.approx(0.8)
    (tmp_path / "ws.tsv").write_text("# comment\n# Word 1\tWord 2\tHuman\nA\tB\t9\n")
    assert w2v.read_pairs(tmp_path / "ws.tsv") == [("a", "b", 9.0)]
    assert np.isnan(w2v.similarity_spearman(words, vectors, [("a", "b", 1.0)])[0])


def test_analogies_and_neighbours():
    words = ["man", "king", "woman", "queen", "apple"]
    vectors = np.array([[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 1, 1, 0],
                        [0, 0, 0, 1]], float)
    questions = [("man", "king", "woman", "queen"), ("king", "man", "queen", "apple"),
                 ("man", "king", "woman", "unknown")]
    assert w2v.analogy_accuracy(words, vectors, questions) == (0.5, 2)
    assert [w for w, _ in w2v.nearest(words, vectors, "king", 2)] == ["man", "queen"]


def test_max_tokens_cuts_whole_sentences():
    corpus = load_corpus(Config(max_tokens=5000, min_count=1))
    full = load_corpus(Config(min_count=1))
    assert 4000 < corpus.raw_tokens <= 5000 < full.raw_tokens
    assert corpus.sentence.max() < full.sentence.max()


@pytest.mark.parametrize("item, field", [
    ("window=0", "window"), ("negative=0", "negative"), ("dim=-3", "dim"),
    ("sample=2", "sample"), ("alpha=0", "alpha"), ("min_alpha=0.5", "min_alpha"),
    ("tokenizer=words", "tokenizer"), ("corpus=/no/such/folder", "corpus"),
    ("wordsim=/no/such/file.tsv", "wordsim"), ("analogies=/no/such/file", "analogies"),
    ("batch=0", "batch"), ("max_tokens=-1", "max_tokens")])
def test_bad_settings_are_refused(item, field):
    with pytest.raises(ConfigError, match=f"embeddings.Config: {field}"):
        recipes.override(Config(), [item], "embeddings")


def test_a_corpus_folder_with_wordsim_and_analogies(tmp_path):
    text = "\n".join(["the king and the queen ride", "a man and a woman walk",
                      "the king walks", "the queen rides"] * 40)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text(text)
    (tmp_path / "ws.tsv").write_text("king\tqueen\t8\nman\twoman\t7\nthe\ta\t2\nking\tman\t5\n")
    (tmp_path / "an.txt").write_text(": x\nman woman king queen\nman king woman queen\n")
    (tmp_path / "men.txt").write_text("king queen 40\nman woman 30\nthe a 5\nking swim 3\n")
    cfg = Config(corpus=str(tmp_path / "corpus"), wordsim=str(tmp_path / "ws.tsv"),
                 analogies=str(tmp_path / "an.txt"), men=str(tmp_path / "men.txt"), dim=8,
                 epochs=1, min_count=1, neighbours=("king", "nowhere"))
    m = recipes.run("embeddings", cfg, out=tmp_path / "run", verbose=False)
    assert m["men_pairs"] == 3 and m["wordsim_pairs"] == 4 and m["analogy_questions"] == 2
    assert isinstance(m["wordsim_spearman"], float) and m["baseline_value"] is None
    assert list(m["neighbours"]) == ["king"] and m["tokens"] == 18 * 40
    words, vectors = w2v.read_word2vec(tmp_path / "run" / "vectors.txt")
    assert len(words) == m["vocabulary"] and vectors.shape == (len(words), 8)
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["recipe"] == "embeddings"


def test_missing_benchmarks_are_not_available(tmp_path):
    m = recipes.run("embeddings", Config(max_tokens=20_000, dim=8, epochs=1), out=tmp_path,
                    verbose=False)
    assert m["wordsim_spearman"] == "not available" and m["analogy_accuracy"] == "not available"
    assert m["baseline_value"] is None  # gensim's figure is for the whole corpus


def test_too_few_covered_pairs_is_a_clear_error(tmp_path):
    with pytest.raises(GradkitError, match="covers 0 MEN pairs"):
        recipes.run("embeddings", Config(max_tokens=300, dim=4, epochs=1, min_count=1),
                    out=tmp_path, verbose=False)
