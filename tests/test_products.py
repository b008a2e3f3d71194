"""nnsim's own matrix products (nnsim.kernels.products): the same results as BLAS up to
rounding, for every layout the layers pass, and a choice made from the machine and
NNSIM_PRODUCTS alone."""

from __future__ import annotations

import numpy as np
import pytest

from nnsim.kernels import dense, product_choice, products, recurrent
from nnsim.kernels.products import matmul, product_nn, product_nt
from nnsim.kernels.transpose import transposed

SHAPES = [(1, 1, 1), (3, 5, 7), (4, 4, 4), (5, 9, 6), (17, 70, 13), (64, 100, 33)]
TOLERANCE = {np.float32: 2e-5, np.float64: 1e-13}


@pytest.fixture
def own_products(monkeypatch):
    """Every product this test makes goes to nnsim's kernels, whatever the machine and size."""
    monkeypatch.setattr(product_choice, "_own", True)
    monkeypatch.setattr(products, "OWN_MIN_MACS", 0)
    monkeypatch.setattr(products, "ROW_MIN_COLUMNS", 0)


def _close(got: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    want = a.astype(np.float64) @ b.astype(np.float64)
    scale = np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64)  # bounds the rounding
    assert got.dtype == a.dtype and got.shape == want.shape
    assert np.all(np.abs(got - want) <= TOLERANCE[a.dtype.type] * (scale + 1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_the_kernels_agree_with_a_float64_product_at_every_edge(dtype, shape):
    m, k, n = shape  # sizes that are and are not multiples of the 4 x 4 blocks
    rng = np.random.default_rng(sum(shape))
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    out = np.full((m, n), np.nan, dtype)  # every element must be written
    product_nn(a, b, out)
    _close(out, a, b)
    for block in (4, 16, 1024):  # row blocks of b^T that split the output, and one that does not
        out[:] = np.nan
        product_nt(a, np.ascontiguousarray(b.T), out, block)
        _close(out, a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_takes_every_layout_the_layers_pass(own_products, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 96)).astype(dtype)  # (N, D)
    w = rng.standard_normal((32, 96)).astype(dtype)  # (H, D)
    dy = rng.standard_normal((64, 32)).astype(dtype)  # (N, H)
    sequence = rng.standard_normal((8, 5, 32)).astype(dtype)  # (N, T, G)
    w_small_k = rng.standard_normal((32, 6)).astype(dtype)  # (G, I): a short reduction
    x_small_k = rng.standard_normal((40, 6)).astype(dtype)
    _close(matmul(x, w.T), x, w.T)  # a dense layer forward: dot products
    _close(matmul(dy, w), dy, w)  # its input gradient
    _close(matmul(dy.T, x), dy.T, x)  # its weight gradient: a transposed left operand
    _close(matmul(sequence[:, 2], w), sequence[:, 2], w)  # a time step's slice
    _close(matmul(x_small_k, w_small_k.T), x_small_k, w_small_k.T)  # K = 6: copied W^T
    carry = np.empty((8, 96), dtype)
    assert matmul(sequence[:, 2], w, out=carry) is carry
    _close(carry, sequence[:, 2], w)


def test_what_the_kernels_do_not_take_goes_to_blas(own_products, monkeypatch):
    calls = []
    monkeypatch.setattr(products, "product_nn", lambda *args: calls.append("nn"))
    monkeypatch.setattr(products, "product_nt", lambda *args: calls.append("nt"))
    rng = np.random.default_rng(1)
    small = rng.standard_normal((3, 400)).astype(np.float32)
    tiny = rng.standard_normal((3, 5)).astype(np.float32)
    monkeypatch.setattr(products, "OWN_MIN_MACS", 3 * 5 * 400 + 1)  # one short of taking it
    _close(matmul(tiny, small[:, :5].T.copy()), tiny, small[:, :5].T)
    monkeypatch.setattr(products, "OWN_MIN_MACS", 0)
    ints = np.arange(6).reshape(2, 3)
    assert np.array_equal(matmul(ints, ints.T), ints @ ints.T)  # not a float product
    mixed = matmul(small[:, :3].astype(np.float64), ints.T.astype(np.float32))
    assert mixed.dtype == np.float64  # mixed dtypes keep NumPy's promotion
    monkeypatch.setattr(products, "ROW_MIN_COLUMNS", 64)
    skinny = rng.standard_normal((400, 16)).astype(np.float32)  # 16 output columns
    _close(matmul(small, skinny), small, skinny)
    transposed_small = np.ascontiguousarray(small.T).T  # not C-contiguous: no dot products
    _close(matmul(transposed_small, np.ascontiguousarray(skinny.T).T), small, skinny)
    monkeypatch.setattr(products, "ROW_MIN_COLUMNS", 0)
    strided = rng.standard_normal((6, 8)).astype(np.float32)[:, ::2]  # (6, 4), no unit stride
    _close(matmul(small[:, :6], strided), small[:, :6], strided)
    assert calls == []


def test_nan_and_inf_propagate_as_in_blas(own_products):
    a = np.ones((5, 70), np.float32)
    a[1, 3] = np.nan
    a[2, 4] = np.inf
    b = np.ones((70, 6), np.float32)
    for got in (matmul(a, b), matmul(a, np.ascontiguousarray(b.T).T)):
        assert np.isnan(got[1]).all() and np.isposinf(got[2]).all()
        assert np.isfinite(got[[0, 3, 4]]).all()


def test_operands_larger_than_a_cache_block_are_split(own_products):
    rng = np.random.default_rng(4)
    a = rng.standard_normal((9, 300)).astype(np.float32)
    b = rng.standard_normal((300, 900)).astype(np.float32)  # 1 MB: two blocks of BLOCK_BYTES
    assert b.nbytes > products.BLOCK_BYTES
    _close(matmul(a, b), a, b)
    _close(matmul(a, np.ascontiguousarray(b.T).T), a, b)


def test_a_repeated_product_gives_the_same_bits(own_products):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((16, 128)).astype(np.float32)
    w = rng.standard_normal((512, 128)).astype(np.float32)
    assert np.array_equal(matmul(x, w.T), matmul(x.copy(), w.T))


@pytest.mark.parametrize(
    ("setting", "blas_avx512", "host_avx512", "own", "own_few_rows"),
    [
        ("", False, True, True, True),  # auto: AVX2 kernels in the BLAS, AVX-512 in the processor
        ("auto", True, True, False, True),  # the BLAS runs AVX-512, but OpenBLAS packs few rows
        ("", False, False, False, True),  # an AVX2 processor: BLAS's kernels, but few rows
        ("", None, True, False, False),  # not OpenBLAS (MKL, Accelerate): left alone
        ("blas", False, True, False, False),
        ("NUMBA", True, False, True, True),
    ],
)
def test_the_choice_follows_the_machine_and_nnsim_products(
    monkeypatch, setting, blas_avx512, host_avx512, own, own_few_rows
):
    monkeypatch.setattr(product_choice, "_blas_has_avx512_kernels", lambda: blas_avx512)
    monkeypatch.setattr(product_choice, "_host_has_avx512", lambda: host_avx512)
    assert product_choice.choose_products(setting) is own
    monkeypatch.setattr(product_choice, "_own", None)
    monkeypatch.setattr(product_choice, "_own_few_rows", None)
    monkeypatch.setenv("NNSIM_PRODUCTS", setting)
    assert product_choice.use_own_products() is own
    assert product_choice.use_own_few_row_products() is own_few_rows


def test_an_unknown_setting_warns_and_counts_as_auto(monkeypatch):
    monkeypatch.setattr(product_choice, "_blas_has_avx512_kernels", lambda: False)
    monkeypatch.setattr(product_choice, "_host_has_avx512", lambda: True)
    with pytest.warns(RuntimeWarning, match=r"NNSIM_PRODUCTS='fast' is not one of auto, blas"):
        assert product_choice.choose_products("fast") is True


def test_the_layers_products_go_through_the_choice(own_products, monkeypatch):
    seen = []
    real = products.matmul

    def recording(a, b, out=None):
        seen.append((a.shape, b.shape))
        return real(a, b, out=out)

    monkeypatch.setattr(dense, "matmul", recording)
    monkeypatch.setattr(recurrent, "matmul", recording)
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((8, 20)), rng.standard_normal((5, 20))
    y = dense.dense_forward(x, w, None)
    dense.dense_backward(np.ones_like(y), x, w)
    recurrent.input_projection(rng.standard_normal((2, 3, 20)), w, np.zeros(5))
    assert seen == [((8, 20), (20, 5)), ((8, 5), (5, 20)), ((5, 8), (8, 20)), ((6, 20), (20, 5))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_stacked_and_summed_products_agree_with_numpy(own_products, dtype):
    rng = np.random.default_rng(5)
    w = rng.standard_normal((6, 27)).astype(dtype)  # (F, K): a 4-row block and two edge rows
    cols = rng.standard_normal((3, 27, 70)).astype(dtype)  # (E, K, P)
    dy = rng.standard_normal((3, 6, 70)).astype(dtype)  # (E, F, P)
    y = np.full((3, 6, 70), np.nan, dtype)
    assert products.matmul_stacked(w, cols, y)
    for e in range(3):
        _close(y[e], w, cols[e])
    dcols = np.full((3, 27, 70), np.nan, dtype)
    assert products.matmul_stacked(w.T, dy, dcols)  # a transposed left operand
    for e in range(3):
        _close(dcols[e], w.T, dy[e])
    dw = np.full((6, 27), np.nan, dtype)
    assert products.matmul_summed_nt(dy, cols, dw)
    # the sum over examples is one product of the examples laid side by side along P
    _close(dw, np.concatenate(list(dy), axis=1), np.concatenate(list(cols), axis=1).T)


def test_the_stacked_and_summed_products_decline_what_they_cannot_take(own_products):
    rng = np.random.default_rng(6)
    dy = rng.standard_normal((2, 4, 30)).astype(np.float32)  # P = 30: dot products too short
    cols = rng.standard_normal((2, 9, 30)).astype(np.float32)
    dw = np.zeros((4, 9), np.float32)
    assert not products.matmul_summed_nt(dy, cols, dw)
    assert not dw.any()  # nothing written: the caller's BLAS products take over
    strided = rng.standard_normal((2, 9, 60)).astype(np.float32)[:, :, ::2]
    assert not products.matmul_stacked(dy[0, :, :9], strided, np.empty((2, 4, 30), np.float32))


@pytest.mark.parametrize("groups", [1, 2])
def test_a_convolution_gives_the_same_results_with_either_products(monkeypatch, groups):
    monkeypatch.setattr(products, "OWN_MIN_MACS", 0)
    import nnsim.functional as F

    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 4, 12, 12)).astype(np.float32)  # P = 144: own products apply
    w = rng.standard_normal((8, 4 // groups, 3, 3)).astype(np.float32)
    b = rng.standard_normal(8).astype(np.float32)
    results = []
    for own in (False, True):
        monkeypatch.setattr(product_choice, "_own", own)
        y = F.conv2d(x, w, b, 1, 1, groups=groups)
        results.append((y, *F.conv2d_backward(np.cos(y), x, w, 1, 1, groups=groups)))
    for blas, ours in zip(*results, strict=True):
        assert np.allclose(ours, blas, rtol=1e-4, atol=1e-4)


def test_describe_names_who_computes_the_products_and_why(monkeypatch):
    monkeypatch.setattr(product_choice, "_blas_has_avx512_kernels", lambda: False)
    monkeypatch.setattr(product_choice, "_host_has_avx512", lambda: True)
    monkeypatch.setattr(product_choice, "_own", True)
    monkeypatch.delenv("NNSIM_PRODUCTS", raising=False)
    assert products.describe() == (
        "products: nnsim's Numba kernels (NNSIM_PRODUCTS=auto; BLAS kernels AVX2 or narrower, "
        "processor AVX-512)"
    )
    monkeypatch.setattr(product_choice, "_own", False)
    monkeypatch.setattr(product_choice, "_own_few_rows", True)
    assert products.describe().startswith(
        "products: BLAS, nnsim's kernels for at most 16 rows (NNSIM_PRODUCTS=auto;"
    )
    monkeypatch.setattr(product_choice, "_own_few_rows", False)
    monkeypatch.setenv("NNSIM_PRODUCTS", "blas")
    assert products.describe().startswith("products: BLAS (NNSIM_PRODUCTS=blas;")


def test_matmul_sends_products_of_few_rows_to_product_nn(monkeypatch):
    monkeypatch.setattr(product_choice, "_own", False)
    monkeypatch.setattr(product_choice, "_own_few_rows", True)
    calls = []

    def recording(a, b, out):
        calls.append(a.shape)
        product_nn(a, b, out)

    monkeypatch.setattr(products, "product_nn", recording)
    rng = np.random.default_rng(4)
    steps = rng.standard_normal((16, 3, 512)).astype(np.float32)  # (N, T, G)
    w = rng.standard_normal((512, 128)).astype(np.float32)  # (G, H)
    carry = np.empty((16, 128), np.float32)
    assert matmul(steps[:, 1], w, out=carry) is carry  # an LSTM's step back at N = 16
    _close(carry, steps[:, 1], w)
    assert calls == [(16, 512)]
    many = rng.standard_normal((17, 512)).astype(np.float32)
    _close(matmul(many, w), many, w)  # 17 rows: BLAS
    _close(matmul(steps[:, 1], w.T.copy().T), steps[:, 1], w)  # W not C-contiguous: BLAS
    _close(matmul(steps[:, 1, :8], w[:8]), steps[:, 1, :8], w[:8])  # too small: BLAS
    monkeypatch.setattr(product_choice, "_own_few_rows", False)
    _close(matmul(steps[:, 1], w), steps[:, 1], w)
    assert calls == [(16, 512)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(512, 128), (13, 5), (8, 1), (1, 9), (7, 7)])
def test_transposed_copies_every_number_to_its_mirror_place(dtype, shape):
    # eight rows at a time and the remainder one by one: every edge of that split
    a = np.arange(np.prod(shape), dtype=dtype).reshape(shape) - 0.5
    a.flat[0] = np.nan
    got = transposed(a)
    assert got.shape == shape[::-1] and got.dtype == dtype and got.flags.c_contiguous
    np.testing.assert_array_equal(got, a.T)
    assert not np.shares_memory(got, a)
