"""The bigdata recipe's parts: the data made on the cluster, gradkit's gradient over the
chunked array against the analytic one, the fit against the in-memory reference, an
existing cluster by address, and the settings it refuses."""

import logging
import socket

import numpy as np
import pytest

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
import dask.array as da  # noqa: E402

import gradkit as gk  # noqa: E402
from gradkit import recipes  # noqa: E402
from gradkit.errors import GradkitError  # noqa: E402
from gradkit.recipes import ConfigError, bigdata  # noqa: E402
from gradkit.recipes.shared.linear import objective  # noqa: E402

SMALL = bigdata.Config(rows=3_000, features=4, chunk_rows=700, workers=2, processes=False)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address="127.0.0.1:0",
                                  silence_logs=logging.ERROR) as c:
        yield c


@pytest.fixture
def client(cluster):
    with distributed.Client(cluster) as c:
        yield c


def test_blocks_are_seeded_by_their_index_and_labels_follow_the_model():
    a, b = bigdata.make_block(0, 0, 50_000, 3), bigdata.make_block(0, 1, 50_000, 3)
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, bigdata.make_block(0, 0, 50_000, 3))
    assert not np.array_equal(a, bigdata.make_block(1, 0, 50_000, 3))
    t = bigdata.truth(0, 3)
    x, s = a[:, :3], a[:, 3]
    np.testing.assert_allclose(x.mean(axis=0), t["mean"], atol=0.03)
    np.testing.assert_allclose(x.std(axis=0), t["scale"], rtol=0.02)
    p = 1 / (1 + np.exp(-(x @ t["w"] + t["b"])))
    assert abs((s == 1).mean() - p.mean()) < 0.01  # labels drawn with the model's odds


def test_the_cluster_makes_the_clients_data_chunk_by_chunk(client):
    X, s = bigdata.on_cluster(SMALL, 3, client)
    assert X.chunks == ((700, 700, 700, 700, 200), (4,)) and s.chunks == (X.chunks[0],)
    Xm, sm = bigdata.in_memory(SMALL, 3)
    Xc, sc = dask.compute(X, s)
    np.testing.assert_array_equal(Xc, Xm)
    np.testing.assert_array_equal(sc, sm)


def test_gradkit_gradient_over_the_chunks_is_the_analytic_one_and_lazy(client, rng):
    X, s = bigdata.on_cluster(SMALL, 0, client)
    Xm, sm = bigdata.in_memory(SMALL, 0)
    mean, std = Xm.mean(axis=0), Xm.std(axis=0)
    u = {"w": rng.normal(size=4), "b": np.array(rng.normal())}
    value, grad = gk.value_and_grad(
        lambda v: objective(bigdata.standardised(v, mean, std), X, s, 2.0))(u)
    assert isinstance(grad["w"], da.Array) and isinstance(grad["b"], da.Array)
    value, grad = dask.compute(value, grad)
    # The chain rule through the standardisation, by hand: theta = M u.
    p = bigdata.standardised(u, mean, std)
    f, g = bigdata.numpy_objective(np.append(p["w"], p["b"]), Xm, sm, 2.0)
    np.testing.assert_allclose(value, f, rtol=1e-13)
    np.testing.assert_allclose(grad["w"], g[:-1] / std - g[-1] * mean / std, rtol=1e-10,
                               atol=1e-15)
    np.testing.assert_allclose(grad["b"], g[-1], rtol=1e-10)


def test_value_comes_back_lazy_with_the_gradient(client):
    # One dask.compute per evaluation runs forward and backward together: one pass.
    X, s = bigdata.on_cluster(SMALL, 0, client)
    value, grad = gk.value_and_grad(lambda p: objective(p, X, s, 1.0))(
        {"w": np.zeros(4), "b": np.zeros(())})
    assert isinstance(value, da.Array)


@pytest.mark.parametrize("standardise", [True, False])
def test_fit_on_the_cluster_reaches_the_in_memory_optimum(client, standardise):
    X, s = bigdata.on_cluster(SMALL, 1, client)
    Xm, sm = bigdata.in_memory(SMALL, 1)
    ref = bigdata.reference_fit(Xm, sm, 1.0)
    assert ref["grad_max"] < 1e-14
    moments = {"mean": Xm.mean(axis=0), "std": Xm.std(axis=0)} if standardise else {}
    r = bigdata.fit(X, s, 1.0, gtol=1e-9, max_iter=200, **moments)
    assert r["success"] and bigdata.rel_diff(r["theta"], ref["theta"]) < 1e-6
    assert r["passes"] == r["evaluations"] >= r["iterations"] + 1
    assert r["iterates"].shape == (r["iterations"] + 1, 5)
    assert r["grad_max"].shape == (r["iterations"] + 1,) and r["grad_max"][-1] <= 1e-9
    np.testing.assert_array_equal(r["iterates"][-1], r["theta"])


def test_the_reference_is_scikit_learns_optimum():
    sklearn = pytest.importorskip("sklearn.linear_model")
    Xm, sm = bigdata.in_memory(SMALL, 2)
    ref = bigdata.reference_fit(Xm, sm, 0.5)
    sk = sklearn.LogisticRegression(C=0.5, tol=1e-12, max_iter=10_000).fit(Xm, sm)
    np.testing.assert_allclose(ref["theta"], np.append(sk.coef_[0], sk.intercept_),
                               rtol=1e-6)


def test_an_existing_cluster_by_address_is_used_and_left_running(cluster, tmp_path):
    cfg = bigdata.Config(rows=2_000, features=3, chunk_rows=500,
                         scheduler=cluster.scheduler_address)
    m = recipes.run("bigdata", cfg, out=tmp_path, verbose=False)
    assert m["workers"] == 2 and m["goal_met"] and m["passes"] == m["evaluations"]
    with distributed.Client(cluster) as c:  # still up
        assert len(c.scheduler_info()["workers"]) == 2


def test_the_recipes_own_cluster_starts_while_dask_s_default_port_is_taken():
    # Another cluster, or a notebook's dashboard, on port 8787: the recipe's cluster takes a
    # free port of this host instead (Dask's warning about it is an error in this suite).
    holder = socket.socket()
    try:
        holder.bind(("0.0.0.0", 8787))
        holder.listen()
    except OSError:  # taken already: the condition under test holds anyway
        pass
    try:
        cfg = bigdata.Config(rows=100, chunk_rows=50, workers=1, processes=False)
        with bigdata.connect(cfg) as client:
            assert client.submit(sum, [1, 2]).result() == 3
            (http,) = {sock.getsockname()[:2] for sock in
                       client.cluster.scheduler.http_server._sockets.values()}
            assert http[0] == "127.0.0.1" and http[1] != 8787
    finally:
        holder.close()


def test_an_unreachable_scheduler_is_one_clear_error(tmp_path):
    cfg = bigdata.Config(rows=100, chunk_rows=50, scheduler="tcp://127.0.0.1:9")
    with dask.config.set({"distributed.comm.timeouts.connect": "0.5s"}):
        with pytest.raises(GradkitError, match=r"cannot reach the scheduler at "
                                               r"scheduler='tcp://127.0.0.1:9'"):
            recipes.run("bigdata", cfg, out=tmp_path, verbose=False)


@pytest.mark.parametrize("change, field", [({"chunk_rows": 10, "rows": 5}, "chunk_rows"),
                                           ({"scheduler": " "}, "scheduler"),
                                           ({"gtol": 0.0}, "gtol"), ({"workers": 0}, "workers")])
def test_bad_settings_are_refused(change, field):
    with pytest.raises(ConfigError, match=field):
        bigdata.Config(**change)
