"""Compile (or load from the on-disk cache) every kernel by calling every public function once.

Used to show progress instead of a frozen screen on first start ("compiling kernels 12/40"),
and by benchmarks/startup.py to measure cold and warm start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from . import functional as F
from . import optim
from .kernels import elementwise as ke
from .kernels import recurrent as kr
from .kernels import verdicts as kv

Progress = Callable[[int, int, str], None]


def _calls(dtype: np.dtype) -> list[tuple[str, Callable[[], object]]]:
    rng = np.random.default_rng(0)

    def arr(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(dtype)

    x4, w4, b = arr(2, 2, 5, 5), arr(3, 2, 3, 3), arr(3)
    # large enough for BLAS products (small convolutions use loop kernels)
    x_big, w_big, b_big = arr(4, 4, 12, 12), arr(8, 4, 3, 3), arr(8)
    x2, w2 = arr(4, 3), arr(3, 3)
    y_pool, argmax = F.max_pool2d(x4, 2)
    labels = np.array([0, 1, 2, 0])

    def batch_norm_round() -> None:
        y, cache = F.batch_norm(x2, b, b, np.zeros(3, dtype), np.ones(3, dtype))
        F.batch_norm_backward(y, cache)

    def optimisers() -> None:
        for opt in (
            optim.SGD(0.1, momentum=0.9),
            optim.Adagrad(0.1),
            optim.RMSprop(0.1),
            optim.Adam(0.1),
        ):
            opt.step({"w": w2.copy()}, {"w": w2})

    x3, h0 = arr(2, 3, 3), arr(2, 2)

    def recurrent() -> None:
        for gates, run, back in ((1, F.rnn, F.rnn_backward), (3, F.gru, F.gru_backward)):
            h, cache = run(x3, h0, arr(gates * 2, 3), arr(gates * 2, 2), None, None)
            back(h, cache)
        h, _, cache = F.lstm(x3, h0, h0, arr(8, 3), arr(8, 2), None, None)
        F.lstm_backward(h, cache)
        F.rnn_backward(*F.rnn(x3, h0, arr(2, 3), arr(2, 2), None, None, nonlinearity="relu"))

    def recurrent_steps() -> None:
        # the per-step kernels the simulator calls when stepping into time; values don't matter
        n, steps, h = 2, 3, 2
        h_seq, d = arr(n, steps, h), arr(n, steps, h)
        carry, c_seq = arr(n, h), arr(n, steps, h)
        for gates in (1, 3, 4):
            xw, w, w_t, b_hh = (
                arr(n, steps, gates * h),
                arr(gates * h, h),
                arr(h, gates * h),
                arr(gates * h),
            )
            pre, act, hh = (
                arr(n, steps, gates * h),
                arr(n, steps, gates * h),
                arr(n, steps, gates * h),
            )
            if gates == 1:
                forward = (xw, h0, w_t, b_hh, kr.TANH, pre, h_seq)
                backward = (d, h_seq, w, kr.TANH, carry, d.copy(), pre)
                kr.rnn_step_forward(0, *forward)
                kr.rnn_step_backward(steps - 1, *backward)
                kind = "rnn"
            elif gates == 3:
                forward = (xw, h0, w_t, b_hh, hh, pre, act, h_seq)
                backward = (d, h0, h_seq, act, hh, w, carry, d.copy(), pre, hh)
                kr.gru_step_forward(0, *forward)
                kr.gru_step_backward(steps - 1, *backward)
                kind = "gru"
            else:
                forward = (xw, h0, h0, w_t, b_hh, pre, act, h_seq, c_seq)
                backward = (d, act, h0, c_seq, w, carry, carry.copy(), d.copy(), d.copy(), pre)
                kr.lstm_step_forward(0, *forward)
                kr.lstm_step_backward(steps - 1, *backward)
                kind = "lstm"
            # the cell kernels alone, as large sequences call them around BLAS products
            kr.blas_step_forward(kind, 0, forward, w)
            kr.blas_step_backward(kind, steps - 1, backward, w_t)

    calls: list[tuple[str, Callable[[], object]]] = [
        ("recurrent", recurrent),
        ("recurrent steps", recurrent_steps),
        ("linear", lambda: F.linear_backward(F.linear(x2, w2, b), x2, w2)),
        ("conv2d", lambda: F.conv2d_backward(F.conv2d(x4, w4, b, 1, 1), x4, w4, 1, 1)),
        (
            "conv2d (BLAS)",
            lambda: F.conv2d_backward(F.conv2d(x_big, w_big, b_big, 1, 1), x_big, w_big, 1, 1),
        ),
        # vertical stride 2: the one-stage im2col (stride 1 unfolds the rows first)
        ("conv2d (strided)", lambda: F.conv2d_backward(F.conv2d(x4, w4, b, 2), x4, w4, 2)),
        ("max_pool2d", lambda: F.max_pool2d_backward(y_pool, argmax, x4.shape)),
        (
            "max_pool2d (overlapping)",
            lambda: F.max_pool2d_backward(*F.max_pool2d(x4, 3, 2), x4.shape),
        ),
        ("avg_pool2d", lambda: F.avg_pool2d_backward(F.avg_pool2d(x4, 2), x4.shape, 2)),
        ("softmax", lambda: F.softmax_backward(x2, F.softmax(x2))),
        ("log_softmax", lambda: F.log_softmax_backward(x2, F.log_softmax(x2))),
        ("maxout", lambda: F.maxout_backward(F.maxout(x2[:, :2], 2), x2[:, :2], 2)),
        (
            "losses",
            lambda: (
                F.mse_loss(x2, x2),
                F.mae_loss(x2, x2),
                F.cross_entropy(x2[:, :3], labels[:4] % 3),
                F.binary_cross_entropy(F.sigmoid(x2), x2 * 0),
                F.hinge_loss(x2, labels % 3),
            ),
        ),
        ("batch_norm", batch_norm_round),
        ("dropout", lambda: F.dropout_backward(*F.dropout(x2, 0.5, rng))),
        (
            "clipping",
            lambda: (
                F.clip_grad_norm({"w": w2.copy()}, 0.1),
                F.clip_grad_value({"w": w2.copy()}, 0.1),
            ),
        ),
        ("optimisers", optimisers),
        (
            "embedding",
            lambda: F.embedding_backward(F.embedding(labels, w2), labels, w2.shape[0]),
        ),
        ("penalties", lambda: (F.l1_penalty(w2, 0.1), F.l2_penalty(w2, 0.1))),
        (
            "diagnostics",
            lambda: (
                # the simulator measures outputs as they are: dense (N, U), sequences
                # (N, T, H), feature maps (N, C, H, W)
                ke.activation_stats(x2, 4, np.empty(3, np.bool_), np.empty(4)),
                ke.activation_stats(x3, 1, np.empty(9, np.bool_), np.empty(4)),
                ke.activation_stats(x4, 4, np.empty(50, np.bool_), np.empty(4)),
                [ke.sum_of_squares(a) for a in (b, x2, x3, x4)],
                ke.count_nonfinite(x2.reshape(-1)),
                ke.gradient_squares(x2.reshape(-1), x2[0], x2[:0].reshape(-1), np.empty(3)),
                kv.classify_layers(
                    *np.ones((3, 2)),
                    np.ones(2, np.bool_),
                    1e3,
                    1e-4,
                    1e-8,
                    0.4,
                    0.5,
                    np.empty(2, np.int8),
                ),
            ),
        ),
    ]
    for name in F.ACTIVATIONS:
        fn = getattr(F, name)
        calls.append((name, lambda fn=fn, name=name: F.activation_backward(name, x2, x2, fn(x2))))
    return calls


def warm_up(
    dtypes: Iterable[type] = (np.float32, np.float64), progress: Progress | None = None
) -> int:
    """Call every public function once per dtype; returns the number of calls made."""
    plan = [(np.dtype(d).name, name, call) for d in dtypes for name, call in _calls(np.dtype(d))]
    for i, (dtype_name, name, call) in enumerate(plan, start=1):
        call()
        if progress is not None:
            progress(i, len(plan), f"{name} ({dtype_name})")
    return len(plan)
