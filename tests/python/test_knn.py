"""marquee.knn against a numpy brute force: exact top-k by inner product, ties to the lower index."""
import os

import numpy as np
import pytest

import marquee

SEED = int(os.environ.get("MARQUEE_TEST_SEED", "12345"))


def brute_force(q, t, k, exclude=None):
    """numpy reference: scores q @ t.T, excluded titles dropped, order by (-score, index)."""
    s = q.astype(np.float64) @ t.astype(np.float64).T
    n, m = s.shape
    idx = np.full((n, k), -1, dtype=np.int64)
    sc = np.full((n, k), -np.inf)
    for i in range(n):
        allowed = np.ones(m, bool)
        if exclude is not None and exclude[i] is not None:
            allowed[np.asarray(exclude[i], dtype=np.int64)] = False
        cand = np.nonzero(allowed)[0]
        order = cand[np.lexsort((cand, -s[i, cand]))][:k]
        idx[i, : len(order)] = order
        sc[i, : len(order)] = s[i, order]
    return idx, sc


@pytest.mark.parametrize("n,m,d,k,density", [(37, 300, 16, 1, 1.0), (100, 1000, 64, 50, 1.0),
                                             (65, 777, 40, 33, 0.1), (3, 50, 5, 50, 1.0)])
def test_integer_data_exact_including_ties(n, m, d, k, density):
    # Small integers: every dot product is exact in float32, and ties are frequent, so the indices
    # must follow the engine's rule exactly (higher score first, then the lower index).
    print("seed", SEED)
    rng = np.random.default_rng(SEED)
    q = rng.integers(-2, 3, size=(n, d)).astype(np.float32)
    t = rng.integers(-2, 3, size=(m, d)).astype(np.float32) * (rng.random((m, d)) < density)
    idx, sc = marquee.knn(q, t, k, backend="cpu")
    ridx, rsc = brute_force(q, t, k)
    assert idx.dtype == np.int64 and sc.dtype == np.float32 and idx.shape == (n, k)
    assert np.array_equal(idx, ridx)
    assert np.array_equal(sc, rsc.astype(np.float32))


def test_random_data_within_tolerance():
    print("seed", SEED)
    rng = np.random.default_rng(SEED + 1)
    q = rng.standard_normal((200, 96), dtype=np.float32)
    t = rng.standard_normal((2500, 96), dtype=np.float32)
    idx, sc = marquee.knn(q, t, 20)
    ridx, rsc = brute_force(q, t, 20)
    assert np.allclose(sc, rsc, rtol=1e-4, atol=1e-4)
    # Ids equal except exact near-ties: every returned id's true score matches the returned score.
    true = np.take_along_axis(q.astype(np.float64) @ t.T.astype(np.float64), idx, axis=1)
    assert np.allclose(true, sc, rtol=1e-4, atol=1e-4)
    assert (idx == ridx).mean() > 0.99


def test_exclusions_list_and_csr():
    rng = np.random.default_rng(SEED + 2)
    q = rng.integers(-3, 4, size=(20, 12)).astype(np.float32)
    t = rng.integers(-3, 4, size=(90, 12)).astype(np.float32)
    exclude = [rng.choice(90, size=rng.integers(0, 60), replace=False) for _ in range(20)]
    exclude[3] = None
    exclude[4] = np.arange(90)  # everything: no result at all
    exclude[5] = [7, 7, 7]      # repeats are fine
    idx, sc = marquee.knn(q, t, 40, exclude=exclude)
    ridx, rsc = brute_force(q, t, 40, exclude)
    assert np.array_equal(idx, ridx) and np.array_equal(sc, rsc.astype(np.float32))
    assert (idx[4] == -1).all() and np.isneginf(sc[4]).all()
    rows = [np.asarray([] if e is None else e, dtype=np.int64) for e in exclude]
    offsets = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
    idx2, sc2 = marquee.knn(q, t, 40, exclude=(offsets, np.concatenate(rows)))
    assert np.array_equal(idx2, idx) and np.array_equal(sc2, sc)
    for i, e in enumerate(exclude):
        if e is not None:
            assert not set(np.asarray(e).tolist()) & set(idx[i][idx[i] >= 0].tolist())


def test_inputs_converted_and_views_accepted():
    rng = np.random.default_rng(SEED + 3)
    q = rng.standard_normal((30, 8))  # float64: converted
    t = rng.standard_normal((80, 16)).astype(np.float32)[:, ::2]  # not contiguous
    idx, sc = marquee.knn(q, t, 5)
    ridx, _ = brute_force(q.astype(np.float32), np.ascontiguousarray(t), 5)
    assert (idx == ridx).mean() > 0.95


def test_bad_arguments():
    q = np.zeros((4, 3), np.float32)
    t = np.ones((10, 3), np.float32)
    for k in (0, -1, 11):
        with pytest.raises(ValueError):
            marquee.knn(q, t, k)
    with pytest.raises(ValueError):
        marquee.knn(q, np.ones((10, 4), np.float32), 2)
    with pytest.raises(ValueError):
        marquee.knn(q[0], t, 2)
    with pytest.raises(ValueError):
        marquee.knn(q, t, 2, exclude=[[1]] * 3)          # wrong number of rows
    with pytest.raises(ValueError):
        marquee.knn(q, t, 2, exclude=[[10]] * 4)         # outside the titles
    with pytest.raises(ValueError):
        marquee.knn(q, t, 2, exclude=[[-1]] * 4)
    with pytest.raises(ValueError):
        marquee.knn(q, t, 2, exclude=[[1.5]] * 4)        # not an index
    with pytest.raises(ValueError):
        marquee.knn(q, t, 2, exclude=(np.array([0, 1]), np.array([1])))  # CSR of the wrong length
    with pytest.raises(ValueError):
        marquee.knn(q, t, 2, backend="tpu")
    with pytest.raises(ValueError):
        marquee.knn(q, t, 2, precision="fp64")


def test_no_queries():
    idx, sc = marquee.knn(np.zeros((0, 4), np.float32), np.ones((5, 4), np.float32), 2)
    assert idx.shape == sc.shape == (0, 2)


def test_devices_and_cuda_backend():
    d = marquee.devices()
    assert set(d) >= {"compiled_in", "device_count", "devices", "error"}
    q = np.ones((2, 3), np.float32)
    if d["compiled_in"] and d["device_count"] > 0:
        idx, _ = marquee.knn(q, np.eye(3, dtype=np.float32), 2, backend="cuda")
        assert idx.shape == (2, 2)
    else:
        with pytest.raises(marquee.BackendError) as e:
            marquee.knn(q, np.eye(3, dtype=np.float32), 2, backend="cuda")
        assert isinstance(e.value, RuntimeError)


def test_cpu_bf16_is_exact_on_values_bfloat16_holds():
    # Small integers are exact in bfloat16 and their sums exact in fp32: the bf16 kernel must then
    # give exactly the brute force's ranking, ties included. Skipped on CPUs without AVX-512 BF16
    # (after checking that the refusal says why).
    print("seed", SEED)
    rng = np.random.default_rng(SEED + 7)
    q = rng.integers(-2, 3, size=(50, 33)).astype(np.float32)
    t = rng.integers(-2, 3, size=(700, 33)).astype(np.float32)
    try:
        idx, sc = marquee.knn(q, t, 25, backend="cpu", precision="bf16")
    except ValueError as e:
        assert "AVX-512 BF16" in str(e)
        pytest.skip("this CPU has no AVX-512 BF16")
    ridx, rsc = brute_force(q, t, 25)
    assert np.array_equal(idx, ridx)
    assert np.array_equal(sc, rsc.astype(np.float32))
