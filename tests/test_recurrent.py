"""RNN, LSTM and GRU: reference equations, BPTT by finite differences, per-step inspection and
the vanishing and exploding of gradients through time."""

import numpy as np
import pytest
import reference as ref
from numeric import numerical_gradient, relative_error

import nnsim.functional as F
from nnsim.kernels import recurrent as k

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


@pytest.fixture(params=k.STEP_PATHS)
def step_products(request, monkeypatch):
    """Run a test through every way of stepping (``kernels.recurrent.step_path``): Numba loops
    over one batch row at a time, over the batch's rows with ``product_nn`` (blocked), and BLAS
    products around the cell kernels, whatever the sizes."""
    monkeypatch.setattr(k, "step_path", lambda n_batch, hidden, gates: request.param)
    return request.param


def _weights(rng, kind, n=3, steps=5, inputs=4, hidden=6, dtype=np.float64, scale=0.5):
    g = GATES[kind]
    return dict(
        x=rng.standard_normal((n, steps, inputs)).astype(dtype),
        h0=rng.standard_normal((n, hidden)).astype(dtype) * 0.5,
        c0=rng.standard_normal((n, hidden)).astype(dtype) * 0.5,
        W_ih=(rng.standard_normal((g * hidden, inputs)) * scale).astype(dtype),
        W_hh=(rng.standard_normal((g * hidden, hidden)) * scale).astype(dtype),
        b_ih=(rng.standard_normal(g * hidden) * 0.1).astype(dtype),
        b_hh=(rng.standard_normal(g * hidden) * 0.1).astype(dtype),
    )


def _run(kind, a, nonlinearity="tanh"):
    """(outputs to differentiate, cache, backward(dh) -> grads in the order of NAMES[kind])."""
    if kind == "lstm":
        h, c, cache = F.lstm(a["x"], a["h0"], a["c0"], a["W_ih"], a["W_hh"], a["b_ih"], a["b_hh"])
        return h, cache, lambda dh: F.lstm_backward(dh, cache)
    args = (a["x"], a["h0"], a["W_ih"], a["W_hh"], a["b_ih"], a["b_hh"])
    if kind == "rnn":
        h, cache = F.rnn(*args, nonlinearity=nonlinearity)
        return h, cache, lambda dh: F.rnn_backward(dh, cache)
    h, cache = F.gru(*args)
    return h, cache, lambda dh: F.gru_backward(dh, cache)


NAMES = {
    "rnn": ["x", "h0", "W_ih", "W_hh", "b_ih", "b_hh"],
    "lstm": ["x", "h0", "c0", "W_ih", "W_hh", "b_ih", "b_hh"],
    "gru": ["x", "h0", "W_ih", "W_hh", "b_ih", "b_hh"],
}
CASES = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", None), ("gru", None)]


@pytest.mark.parametrize("kind, nonlinearity", CASES)
def test_forward_matches_the_reference_equations(rng, kind, nonlinearity, step_products):
    a = _weights(rng, kind)
    h, cache, _ = _run(kind, a, nonlinearity or "tanh")
    if kind == "lstm":
        rh, rc = ref.lstm(a["x"], a["h0"], a["c0"], a["W_ih"], a["W_hh"], a["b_ih"], a["b_hh"])
        np.testing.assert_allclose(cache.c_seq, rc, rtol=1e-12, atol=1e-14)
    elif kind == "rnn":
        rh = ref.rnn(a["x"], a["h0"], a["W_ih"], a["W_hh"], a["b_ih"], a["b_hh"], nonlinearity)
    else:
        rh = ref.gru(a["x"], a["h0"], a["W_ih"], a["W_hh"], a["b_ih"], a["b_hh"])
    np.testing.assert_allclose(h, rh, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind, nonlinearity", CASES)
def test_bptt_matches_finite_differences_for_every_input(rng, kind, nonlinearity, step_products):
    a = _weights(rng, kind, n=2, steps=4, inputs=3, hidden=3)
    h, _, backward = _run(kind, a, nonlinearity or "tanh")
    dy = rng.standard_normal(h.shape)
    grads = backward(dy)
    for name, grad in zip(NAMES[kind], grads, strict=True):
        arrays = [a[name]]

        def objective():
            return float(np.sum(_run(kind, a, nonlinearity or "tanh")[0] * dy))

        numeric = numerical_gradient(objective, arrays, 0)
        assert grad.shape == a[name].shape
        err = relative_error(grad, numeric)
        assert err < 1e-7, f"{kind} d/d{name}: relative error {err:.1e}"


def test_lstm_gradient_for_the_last_cell_state(rng):
    a = _weights(rng, "lstm", n=2, steps=3, inputs=2, hidden=3)
    dc_last = rng.standard_normal((2, 3))

    def objective():
        _, c, _ = F.lstm(a["x"], a["h0"], a["c0"], a["W_ih"], a["W_hh"], a["b_ih"], a["b_hh"])
        return float(np.sum(c[:, -1] * dc_last))

    _, _, cache = F.lstm(a["x"], a["h0"], a["c0"], a["W_ih"], a["W_hh"], a["b_ih"], a["b_hh"])
    grads = F.lstm_backward(np.zeros_like(cache.h_seq), cache, dc_last=dc_last)
    for name, grad in zip(NAMES["lstm"], grads, strict=True):
        numeric = numerical_gradient(objective, [a[name]], 0)
        assert relative_error(grad, numeric) < 1e-7, name


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_cache_exposes_every_time_step(rng, kind):
    a = _weights(rng, kind, n=2, steps=7, hidden=5)
    h, cache, backward = _run(kind, a)
    assert cache.steps == 7 and cache.pre.shape == (2, 7, GATES[kind] * 5)
    backward(np.ones_like(h))
    assert cache.dh.shape == (2, 7, 5)
    # the last step's dL/dh_T is exactly the gradient arriving from outside
    np.testing.assert_array_equal(cache.dh[:, -1], np.ones((2, 5)))
    norms = F.grad_norms_through_time(cache)
    np.testing.assert_allclose(norms, np.linalg.norm(cache.dh.reshape(2, 7, 5), axis=(0, 2)))
    if kind == "lstm":
        assert cache.c_seq.shape == cache.dc.shape == (2, 7, 5)
        for name in "ifo":
            assert np.all((cache.gate(name) > 0) & (cache.gate(name) < 1))
        assert np.all(np.abs(cache.gate("g")) < 1)
        o, c = cache.gate("o"), cache.c_seq
        np.testing.assert_allclose(h, o * np.tanh(c), rtol=1e-14)
    if kind == "gru":
        r, z, n = cache.gate("r"), cache.gate("z"), cache.gate("n")
        assert np.all((r > 0) & (r < 1) & (z > 0) & (z < 1))
        hidden_n = cache.hh[:, :, 10:15]  # W_hn h + b_hn, the part the reset gate scales
        np.testing.assert_allclose(np.tanh(cache.pre[:, :, 10:15]), n, rtol=1e-14)
        np.testing.assert_allclose(
            cache.pre[:, :, 10:15] - r * hidden_n,
            k.input_projection(a["x"], a["W_ih"], a["b_ih"])[:, :, 10:15],
            rtol=1e-12,
            atol=1e-14,
        )
        h_prev = np.concatenate([a["h0"][:, None], h[:, :-1]], axis=1)
        np.testing.assert_allclose(h, (1 - z) * n + z * h_prev, rtol=1e-13)
        with pytest.raises(KeyError, match="gru has no gate 'f'; its gates are"):
            cache.gate("f")


def test_grad_norms_need_a_backward_pass(rng):
    a = _weights(rng, "rnn")
    _, cache, _ = _run("rnn", a)
    with pytest.raises(ValueError, match="run the backward pass first"):
        F.grad_norms_through_time(cache)
    with pytest.raises(ValueError, match="state must be 'h' or 'c'"):
        F.grad_norms_through_time(cache, "x")


def test_stepping_one_time_step_at_a_time_is_bit_identical_to_the_whole_sequence(rng):
    a = _weights(rng, "lstm", n=2, steps=6, hidden=4)
    h, c, cache = F.lstm(a["x"], a["h0"], a["c0"], a["W_ih"], a["W_hh"], a["b_ih"], a["b_hh"])
    dh_seq = rng.standard_normal(h.shape)
    whole = F.lstm_backward(dh_seq, cache)

    xw = k.input_projection(a["x"], a["W_ih"], a["b_ih"])
    pre, gates = np.empty_like(xw), np.empty_like(xw)
    h_seq, c_seq = np.empty_like(h), np.empty_like(h)
    w_hh_t = np.ascontiguousarray(a["W_hh"].T)
    for t in range(6):  # as the simulator will, one Python call per step
        k.lstm_step_forward(t, xw, a["h0"], a["c0"], w_hh_t, a["b_hh"], pre, gates, h_seq, c_seq)
    np.testing.assert_array_equal(h_seq, h)
    np.testing.assert_array_equal(c_seq, c)
    carry_h, carry_c = np.zeros_like(a["h0"]), np.zeros_like(a["h0"])
    dh, dc, dpre = np.empty_like(h), np.empty_like(h), np.empty_like(pre)
    for t in range(5, -1, -1):
        k.lstm_step_backward(
            t, dh_seq, gates, a["c0"], c_seq, w_hh_t, carry_h, carry_c, dh, dc, dpre
        )
    np.testing.assert_array_equal(dh, cache.dh)
    np.testing.assert_array_equal(dc, cache.dc)
    np.testing.assert_array_equal(carry_h, whole[1])
    np.testing.assert_array_equal(carry_c, whole[2])


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize(
    ("n", "hidden", "dtype"),
    # float32 at H = 130: the vectorised four-row blocks of the products, and their remainder,
    # and at N = 4 the BLAS steps' few-row products (``products.FEW_ROWS``)
    [(2, 3, np.float64), (4, 130, np.float32)],
)
def test_the_stepper_is_bit_identical_to_the_whole_sequence_functions(
    kind, n, hidden, dtype, rng, step_products
):
    a = _weights(rng, kind, n=n, steps=5, hidden=hidden, dtype=dtype)
    weights = (a["W_ih"], a["W_hh"], a["b_ih"], a["b_hh"])
    if kind == "lstm":
        h, _, cache = F.lstm(a["x"], a["h0"], a["c0"], *weights)
    else:
        h, cache = getattr(F, kind)(a["x"], a["h0"], *weights)
    dh_seq = rng.standard_normal(h.shape).astype(dtype)
    whole = getattr(F, f"{kind}_backward")(dh_seq, cache)

    stepper = F.RecurrentStepper(kind, a["x"], a["h0"], *weights, c0=a.get("c0"))
    with pytest.raises(ValueError, match="forward step 1 out of order; next is 0"):
        stepper.forward_step(1)
    for t in range(5):
        stepper.forward_step(t)
    np.testing.assert_array_equal(stepper.cache.h_seq, h)
    np.testing.assert_array_equal(stepper.cache.pre, cache.pre)
    stepper.begin_backward(dh_seq)
    for t in range(4, -1, -1):
        stepper.backward_step(t)
        np.testing.assert_array_equal(stepper.cache.dh[:, t], cache.dh[:, t])
    for ours, theirs in zip(stepper.finish_backward(), whole, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def _recurrent_gradient_ratio(radius, nonlinearity, steps=40, hidden=8):
    """||dL/dh_1|| / ||dL/dh_T|| when only the last step receives a gradient."""
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((hidden, hidden)))
    # orthogonal times radius: every eigenvalue has modulus `radius`
    W_hh = radius * q if nonlinearity == "tanh" else radius * np.eye(hidden)
    x = np.abs(rng.standard_normal((1, steps, 2))) * 0.1
    h0 = np.full((1, hidden), 0.1)
    W_ih = np.abs(rng.standard_normal((hidden, 2))) * 0.1
    zeros = np.zeros(hidden)
    h, cache = F.rnn(x, h0, W_ih, W_hh, zeros, zeros, nonlinearity=nonlinearity)
    assert np.max(np.abs(np.linalg.eigvals(W_hh))) == pytest.approx(radius)
    dh_seq = np.zeros_like(h)
    dh_seq[:, -1] = 1.0
    F.rnn_backward(dh_seq, cache)
    norms = F.grad_norms_through_time(cache)
    return norms[0] / norms[-1]


def test_gradients_vanish_through_time_with_spectral_radius_one_half():
    assert _recurrent_gradient_ratio(0.5, "tanh") < 1e-6


def test_gradients_explode_through_time_with_spectral_radius_one_and_a_half():
    assert _recurrent_gradient_ratio(1.5, "relu") > 1e6


@pytest.mark.parametrize(
    "call, fragment",
    [
        (
            lambda a: F.rnn(a["x"], a["h0"][:2], a["W_ih"], a["W_hh"], None, None),
            "h0 must have one row per sequence of x; x (3, 5, 4), h0 (2, 6)",
        ),
        (
            lambda a: F.lstm(a["x"], a["h0"], a["c0"], a["W_ih"][:, :3], a["W_hh"], None, None),
            "W_ih must be (4*H, I) = (24, 4) for H=6 from h0 and I=4 from x; W_ih (24, 3)",
        ),
        (
            lambda a: F.gru(a["x"], a["h0"], a["W_ih"], a["W_hh"][:, :5], None, None),
            "W_hh must be (3*H, H) = (18, 6); W_hh (18, 5)",
        ),
        (
            lambda a: F.rnn(a["x"][:, :0], a["h0"], a["W_ih"], a["W_hh"], None, None),
            "x must have at least one time step",
        ),
        (
            lambda a: F.rnn(a["x"], a["h0"], a["W_ih"], a["W_hh"], None, None, nonlinearity="elu"),
            "nonlinearity must be 'tanh' or 'relu'",
        ),
        (
            lambda a: F.rnn(a["x"], a["h0"], a["W_ih"], a["W_hh"], np.zeros(5), None),
            "b_ih must be (1*H,) = (6,); b_ih (5,)",
        ),
    ],
)
def test_bad_shapes_are_rejected(rng, call, fragment):
    kind = "lstm" if "4*H" in fragment else "gru" if "3*H" in fragment else "rnn"
    a = _weights(rng, kind)
    with pytest.raises(ValueError) as info:
        call(a)
    assert fragment in str(info.value)


def test_backward_rejects_a_foreign_cache_or_a_wrong_gradient(rng):
    a = _weights(rng, "rnn")
    h, cache, _ = _run("rnn", a)
    with pytest.raises(TypeError, match="cache must be the cache returned by lstm"):
        F.lstm_backward(h, cache)
    with pytest.raises(ValueError, match=r"dh_seq must have the shape of h_seq"):
        F.rnn_backward(h[:, :2], cache)


def test_float32_stays_float32_and_nan_propagates(rng, step_products):
    a = _weights(rng, "gru", dtype=np.float32)
    h, cache, backward = _run("gru", a)
    assert h.dtype == np.float32 and cache.gates.dtype == np.float32
    assert all(g.dtype == np.float32 for g in backward(np.ones_like(h)))
    a["x"][0, 2, 0] = np.nan
    h, _, _ = _run("gru", a)
    assert np.isnan(h[0, 2:]).all() and np.isfinite(h[0, :2]).all() and np.isfinite(h[1:]).all()
