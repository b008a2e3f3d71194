"""Every nnsim.functional function and every optimiser against PyTorch CPU.

Skipped as a whole where PyTorch is not installed (.ci/run installs the CPU build).
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
TF = torch.nn.functional

import nnsim.functional as F  # noqa: E402
from nnsim import optim  # noqa: E402

pytestmark = pytest.mark.torch
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-4, atol=2e-5)}
DTYPES = [np.float64, np.float32]


def _t(a, grad=False):
    return torch.tensor(np.asarray(a), requires_grad=grad)


def _close(mine, theirs, dtype):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    assert mine.dtype == np.dtype(dtype)
    np.testing.assert_allclose(mine, theirs, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "x_shape, w_shape, stride, padding, dilation, groups",
    [
        ((2, 3, 9, 8), (4, 3, 3, 3), 1, 1, 1, 1),
        ((1, 4, 11, 10), (6, 2, 3, 2), 2, (1, 2), 1, 2),
        ((2, 2, 12, 12), (3, 2, 3, 3), (1, 2), 2, 2, 1),
        ((3, 1, 28, 28), (6, 1, 5, 5), 1, 0, 1, 1),
    ],
)
def test_conv2d(rng, dtype, x_shape, w_shape, stride, padding, dilation, groups):
    x = rng.standard_normal(x_shape).astype(dtype)
    W = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    xt, wt, bt = _t(x, True), _t(W, True), _t(b, True)
    yt = TF.conv2d(xt, wt, bt, stride, padding, dilation, groups)
    y = F.conv2d(x, W, b, stride, padding, dilation, groups)
    _close(y, yt, dtype)
    dy = rng.standard_normal(y.shape).astype(dtype)
    yt.backward(_t(dy))
    for mine, theirs in zip(
        F.conv2d_backward(dy, x, W, stride, padding, dilation, groups),
        (xt.grad, wt.grad, bt.grad),
        strict=True,
    ):
        _close(mine, theirs, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "k, s, p, ceil",
    [(2, None, 0, False), (3, 2, 1, True), (3, 1, 1, False), ((2, 3), (2, 1), (1, 0), True)],
)
def test_pooling(rng, dtype, k, s, p, ceil):
    x = rng.standard_normal((2, 3, 9, 7)).astype(dtype)
    xt = _t(x, True)
    yt, it = TF.max_pool2d(xt, k, s, p, ceil_mode=ceil, return_indices=True)
    y, argmax = F.max_pool2d(x, k, s, p, ceil)
    _close(y, yt, dtype)
    np.testing.assert_array_equal(argmax, it.numpy())
    dy = rng.standard_normal(y.shape).astype(dtype)
    yt.backward(_t(dy))
    _close(F.max_pool2d_backward(dy, argmax, x.shape), xt.grad, dtype)
    for cip in (True, False):
        xt = _t(x, True)
        yt = TF.avg_pool2d(xt, k, s, p, ceil, cip)
        _close(F.avg_pool2d(x, k, s, p, ceil, cip), yt, dtype)
        yt.backward(_t(dy))
        _close(F.avg_pool2d_backward(dy, x.shape, k, s, p, ceil, cip), xt.grad, dtype)


TORCH_ACTIVATIONS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "softsign": TF.softsign,
    "softplus": TF.softplus,
    "leaky_relu": lambda x: TF.leaky_relu(x, 0.2),
    "elu": lambda x: TF.elu(x, 0.7),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", F.ACTIVATIONS)
def test_activations(rng, dtype, name):
    x = (rng.standard_normal((4, 6)) * 4).astype(dtype)
    x[0, :3] = [30.0, -30.0, 0.0]
    params = {"leaky_relu": {"alpha": 0.2}, "elu": {"alpha": 0.7}}.get(name, {})
    xt = _t(x, True)
    yt = TORCH_ACTIVATIONS[name](xt)
    y = getattr(F, name)(x, **params)
    _close(y, yt, dtype)
    dy = rng.standard_normal(x.shape).astype(dtype)
    yt.backward(_t(dy))
    _close(F.activation_backward(name, dy, x, y, **params), xt.grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_log_softmax_and_maxout(rng, dtype):
    x = rng.standard_normal((3, 4, 6)).astype(dtype)
    dy = rng.standard_normal(x.shape).astype(dtype)
    for axis in (-1, 1):
        for mine, mine_back, theirs in (
            (F.softmax, F.softmax_backward, TF.softmax),
            (F.log_softmax, F.log_softmax_backward, TF.log_softmax),
        ):
            xt = _t(x, True)
            yt = theirs(xt, dim=axis)
            y = mine(x, axis)
            _close(y, yt, dtype)
            yt.backward(_t(dy))
            _close(mine_back(dy, y, axis), xt.grad, dtype)
    x2 = rng.standard_normal((5, 12)).astype(dtype)
    xt = _t(x2, True)
    yt = xt.reshape(5, 4, 3).max(dim=2).values
    _close(F.maxout(x2, 3), yt, dtype)
    dy2 = rng.standard_normal((5, 4)).astype(dtype)
    yt.backward(_t(dy2))
    _close(F.maxout_backward(dy2, x2, 3), xt.grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_losses(rng, dtype):
    pred = rng.standard_normal((5, 4)).astype(dtype)
    target = rng.standard_normal((5, 4)).astype(dtype)
    labels = np.array([0, 3, 2, 1, 3])
    weight = np.array([1.0, 2.0, 0.5, 3.0], dtype=dtype)
    p = F.sigmoid(pred)
    t01 = (target > 0).astype(dtype)
    cases = [
        (F.mse_loss(pred, target), lambda a: TF.mse_loss(a, _t(target)), pred),
        (F.mae_loss(pred, target), lambda a: TF.l1_loss(a, _t(target)), pred),
        (F.cross_entropy(pred, labels), lambda a: TF.cross_entropy(a, _t(labels)), pred),
        (
            F.cross_entropy(pred, labels, weight),
            lambda a: TF.cross_entropy(a, _t(labels), weight=_t(weight)),
            pred,
        ),
        (F.binary_cross_entropy(p, t01), lambda a: TF.binary_cross_entropy(a, _t(t01)), p),
        # PyTorch's multi_margin_loss divides by the number of classes; ours is CS231n's sum
        (F.hinge_loss(pred, labels), lambda a: TF.multi_margin_loss(a, _t(labels)) * 4, pred),
    ]
    for (loss, grad), torch_loss, inp in cases:
        xt = _t(inp, True)
        lt = torch_loss(xt)
        lt.backward()
        assert loss == pytest.approx(float(lt.detach()), rel=TOL[dtype]["rtol"])
        _close(grad, xt.grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(8, 5), (4, 3, 5, 5)])
@pytest.mark.parametrize("train", [True, False])
def test_batch_norm(rng, dtype, shape, train):
    x = (rng.standard_normal(shape) * 3 + 2).astype(dtype)
    c = shape[1]
    gamma, beta = rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype)
    rm, rv = rng.standard_normal(c).astype(dtype), rng.uniform(0.5, 2, c).astype(dtype)
    rm_t, rv_t = _t(rm.copy()), _t(rv.copy())
    xt, gt, bt = _t(x, True), _t(gamma, True), _t(beta, True)
    yt = TF.batch_norm(xt, rm_t, rv_t, gt, bt, training=train, momentum=0.1, eps=1e-5)
    y, cache = F.batch_norm(x, gamma, beta, rm, rv, train=train, momentum=0.1, eps=1e-5)
    _close(y, yt, dtype)
    _close(rm, rm_t, dtype)
    _close(rv, rv_t, dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    yt.backward(_t(dy))
    for mine, theirs in zip(
        F.batch_norm_backward(dy, cache), (xt.grad, gt.grad, bt.grad), strict=True
    ):
        _close(mine, theirs, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear(rng, dtype):
    x, W, b = (rng.standard_normal(s).astype(dtype) for s in ((6, 5), (3, 5), (3,)))
    xt, wt, bt = _t(x, True), _t(W, True), _t(b, True)
    yt = TF.linear(xt, wt, bt)
    _close(F.linear(x, W, b), yt, dtype)
    dy = rng.standard_normal((6, 3)).astype(dtype)
    yt.backward(_t(dy))
    for mine, theirs in zip(F.linear_backward(dy, x, W), (xt.grad, wt.grad, bt.grad), strict=True):
        _close(mine, theirs, dtype)


def test_clip_grad_norm(rng):
    grads = {"a": rng.standard_normal((3, 4)), "b": rng.standard_normal(5)}
    tensors = [_t(g.copy(), True) for g in grads.values()]
    for t, g in zip(tensors, grads.values(), strict=True):
        t.grad = _t(g.copy())
    norm_t = torch.nn.utils.clip_grad_norm_(tensors, 0.5)
    norm = F.clip_grad_norm(grads, 0.5)
    assert norm == pytest.approx(float(norm_t), rel=1e-12)
    for t, g in zip(tensors, grads.values(), strict=True):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-12)


OPTIMIZERS = [
    (lambda: optim.SGD(0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    (
        lambda: optim.SGD(0.05, momentum=0.9, weight_decay=0.01),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.01),
    ),
    (
        lambda: optim.SGD(0.05, momentum=0.9, nesterov=True),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    ),
    (lambda: optim.Adagrad(0.3), lambda p: torch.optim.Adagrad(p, lr=0.3)),
    (
        lambda: optim.Adagrad(0.3, initial_accumulator_value=0.1, eps=1e-6),
        lambda p: torch.optim.Adagrad(p, lr=0.3, initial_accumulator_value=0.1, eps=1e-6),
    ),
    (lambda: optim.RMSprop(0.01), lambda p: torch.optim.RMSprop(p, lr=0.01)),
    (
        lambda: optim.RMSprop(0.01, momentum=0.5, centered=True, alpha=0.9),
        lambda p: torch.optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True, alpha=0.9),
    ),
    (lambda: optim.Adam(0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    (
        lambda: optim.Adam(0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
        lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
    ),
]


OPTIMIZER_IDS = [
    "sgd",
    "sgd-momentum-wd",
    "sgd-nesterov",
    "adagrad",
    "adagrad-initial",
    "rmsprop",
    "rmsprop-centered-momentum",
    "adam",
    "adam-betas-wd",
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("make", OPTIMIZERS, ids=OPTIMIZER_IDS)
def test_optimizer_trajectories(rng, dtype, make):
    ours, theirs = make
    params = {
        "w": rng.standard_normal((3, 4)).astype(dtype),
        "b": rng.standard_normal(4).astype(dtype),
    }
    tensors = {k: _t(v.copy(), True) for k, v in params.items()}
    opt, opt_t = ours(), theirs(list(tensors.values()))
    for _ in range(12):
        grads = {k: rng.standard_normal(v.shape).astype(dtype) for k, v in params.items()}
        for k, t in tensors.items():
            t.grad = _t(grads[k].copy())
        opt_t.step()
        opt.step(params, grads)
    for k in params:
        _close(params[k], tensors[k], dtype)


RECURRENT_SHAPES = [(3, 5, 4, 6), (1, 1, 3, 2), (1, 7, 2, 5), (4, 1, 5, 3), (2, 12, 8, 16)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", RECURRENT_SHAPES, ids=lambda s: "N{}-T{}-I{}-H{}".format(*s))
@pytest.mark.parametrize("kind", ["rnn-tanh", "rnn-relu", "lstm", "gru"])
def test_recurrent_layers(rng, dtype, shape, kind):
    n, steps, inputs, hidden = shape
    cell, _, nonlinearity = kind.partition("-")
    torch.manual_seed(0)
    if cell == "rnn":
        module = torch.nn.RNN(inputs, hidden, batch_first=True, nonlinearity=nonlinearity)
    else:
        module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](
            inputs, hidden, batch_first=True
        )
    module = module.to(torch.float64 if dtype == np.float64 else torch.float32)
    weights = [
        p.detach().numpy().copy()
        for p in (module.weight_ih_l0, module.weight_hh_l0, module.bias_ih_l0, module.bias_hh_l0)
    ]
    x = rng.standard_normal((n, steps, inputs)).astype(dtype)
    h0 = rng.standard_normal((n, hidden)).astype(dtype)
    c0 = rng.standard_normal((n, hidden)).astype(dtype)
    dy = rng.standard_normal((n, steps, hidden)).astype(dtype)
    xt, h0t, c0t = _t(x, True), _t(h0[None], True), _t(c0[None], True)
    if cell == "lstm":
        yt, _ = module(xt, (h0t, c0t))
        h, _, cache = F.lstm(x, h0, c0, *weights)
        yt.backward(_t(dy))
        ours = F.lstm_backward(dy, cache)
        theirs = [xt.grad, h0t.grad[0], c0t.grad[0]]
    else:
        yt, _ = module(xt, h0t)
        if cell == "rnn":
            h, cache = F.rnn(x, h0, *weights, nonlinearity=nonlinearity)
        else:
            h, cache = F.gru(x, h0, *weights)
        yt.backward(_t(dy))
        ours = (F.rnn_backward if cell == "rnn" else F.gru_backward)(dy, cache)
        theirs = [xt.grad, h0t.grad[0]]
    theirs += [
        module.weight_ih_l0.grad,
        module.weight_hh_l0.grad,
        module.bias_ih_l0.grad,
        module.bias_hh_l0.grad,
    ]
    _close(h, yt, dtype)
    for mine, reference in zip(ours, theirs, strict=True):
        _close(mine, reference, dtype)
