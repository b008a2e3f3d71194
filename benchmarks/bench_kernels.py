"""Kernel benchmark: nnsim against PyTorch CPU and a NumPy im2col baseline, in one run.

Forward plus backward, float32, medians after warm-up, the sides timed in mirrored blocks.
Prints a table and writes JSON.

    python benchmarks/bench_kernels.py [--repeats 30] [--torch-threads N]
                                       [--json benchmarks/results/kernels.json]

Ratios are nnsim time / other time: below 1 means nnsim is faster. nnsim runs with one BLAS
thread (its default, ``nnsim._threads``); PyTorch with its own default (one thread per core)
unless ``--torch-threads`` says otherwise: ``--torch-threads 1`` compares one thread with one.
Targets: issue 18.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

try:
    import torch
    import torch.nn.functional as TF
except ImportError:  # the table still shows nnsim and NumPy
    torch = None

import nnsim.functional as F  # noqa: E402
from nnsim import optim  # noqa: E402
from nnsim.kernels._jit import kernel  # noqa: E402
from nnsim.kernels.products import describe as describe_products  # noqa: E402

DT = np.float32
TARGETS = {
    "conv tiny": 0.35,
    "conv LeNet-1": 0.6,
    "conv LeNet-2": 1.2,
    "conv small VGG": 1.3,
    "max pool 2x2": 0.4,
    "MLP step": 0.6,
}


def _calls_per_sample(fn: Callable[[], object], min_seconds: float) -> int:
    for _ in range(3):
        fn()
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    return max(1, int(min_seconds / once))


def _sample(fn: Callable[[], object], inner: int) -> float:
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - start) / inner


#: untimed running of a side before each block of its samples in :func:`paired_median_times`:
#: longer than the other side's thread pools keep spinning after their last call (OpenBLAS's
#: workers spin for up to about 0.1 s), which would otherwise take a core from the timed side
SETTLE_SECONDS = 0.25


def paired_median_times(
    fns: Sequence[Callable[[], object] | None], repeats: int, min_seconds: float = 0.02
) -> list[float | None]:
    """Median seconds per call of each function (None stays None), in mirrored blocks.

    Why: these shared machines drift in speed by 1.5x over seconds, so timing all of one
    side's samples and then all of the other's lets a drift land on one side only. Here each
    side takes half its samples in the order given and the other half in reverse order
    (A B B A), so a steady drift reaches every side alike. Sampling in strict turns was worse:
    each side then ran in the wake of the other's spinning threads and both slowed by 2x.
    """
    inners = [_calls_per_sample(fn, min_seconds) if fn else 0 for fn in fns]
    samples: list[list[float]] = [[] for _ in fns]
    first = (repeats + 1) // 2
    order = [(i, first) for i in range(len(fns))]
    order += [(i, repeats - first) for i in reversed(range(len(fns)))]
    for i, count in order:
        fn = fns[i]
        if fn is None or count == 0:
            continue
        deadline = time.perf_counter() + SETTLE_SECONDS
        while time.perf_counter() < deadline:
            fn()
        samples[i].extend(_sample(fn, inners[i]) for _ in range(count))
    return [statistics.median(own) if own else None for own in samples]


# ---------------------------------------------------------------- NumPy baselines


def numpy_conv(x, W, b, stride, pad):
    """CS231n-style im2col with stride tricks and one BLAS product, forward and backward."""
    n, c, h, w = x.shape
    f, _, kh, kw = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    oh, ow = win.shape[2], win.shape[3]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * kh * kw)
    y = (cols @ W.reshape(f, -1).T + b).reshape(n, oh, ow, f).transpose(0, 3, 1, 2)
    dy = np.ones_like(y)
    dy2 = dy.transpose(0, 2, 3, 1).reshape(-1, f)
    dW = (dy2.T @ cols).reshape(W.shape)
    dcols = (dy2 @ W.reshape(f, -1)).reshape(n, oh, ow, c, kh, kw)
    dxp = np.zeros_like(xp)
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride] += dcols[
                :, :, :, :, i, j
            ].transpose(0, 3, 1, 2)
    return y, dxp[:, :, pad : pad + h, pad : pad + w], dW, dy.sum(axis=(0, 2, 3))


def numpy_maxpool(x):
    n, c, h, w = x.shape
    blocks = x.reshape(n, c, h // 2, 2, w // 2, 2)
    y = blocks.max(axis=(3, 5))
    mask = blocks == y[:, :, :, None, :, None]
    return y, (mask * np.ones_like(y)[:, :, :, None, :, None]).reshape(x.shape)


@kernel
def _loop_linear(x, W, y):
    n, d = x.shape
    h = W.shape[0]
    for i in range(n):
        for j in range(h):
            acc = x.dtype.type(0)
            for k in range(d):
                acc += x[i, k] * W[j, k]
            y[i, j] = acc


# ---------------------------------------------------------------- cases


def conv_case(rng, x_shape, w_shape, pad):
    x = rng.standard_normal(x_shape).astype(DT)
    W = rng.standard_normal(w_shape).astype(DT) * 0.1
    b = np.zeros(w_shape[0], DT)
    dy = np.ones(F.conv2d_output_shape(x_shape, w_shape, 1, pad), DT)

    def ours():  # as nnsim.layers.Conv2d calls them: the forward's columns serve the backward
        _, columns = F.conv2d(x, W, b, 1, pad, keep_columns=True)
        F.conv2d_backward(dy, x, W, 1, pad, columns=columns)

    def theirs():
        xt = torch.from_numpy(x).requires_grad_()
        wt = torch.from_numpy(W).requires_grad_()
        bt = torch.from_numpy(b).requires_grad_()
        TF.conv2d(xt, wt, bt, 1, pad).backward(torch.from_numpy(dy))

    return ours, theirs, lambda: numpy_conv(x, W, b, 1, pad)


def pool_case(rng):
    x = rng.standard_normal((64, 6, 28, 28)).astype(DT)

    def ours():
        y, argmax = F.max_pool2d(x, 2)
        F.max_pool2d_backward(y, argmax, x.shape)

    def theirs():
        xt = torch.from_numpy(x).requires_grad_()
        y = TF.max_pool2d(xt, 2)
        y.backward(y.detach())

    return ours, theirs, lambda: numpy_maxpool(x)


def mlp_case(rng):
    sizes = [784, 128, 64, 10]
    x = rng.standard_normal((64, 784)).astype(DT)
    labels = rng.integers(0, 10, 64)
    Ws = [
        (rng.standard_normal((o, i)) * np.sqrt(2 / i)).astype(DT)
        for i, o in zip(sizes, sizes[1:], strict=False)
    ]
    bs = [np.zeros(o, DT) for o in sizes[1:]]
    params = {f"W{i}": w for i, w in enumerate(Ws)} | {f"b{i}": b for i, b in enumerate(bs)}
    opt = optim.SGD(0.01)

    def ours():
        acts, h = [x], x
        for i in range(3):
            h = F.linear(h, Ws[i], bs[i])
            if i < 2:
                h = F.relu(h)
            acts.append(h)
        _, d = F.cross_entropy(h, labels)
        grads = {}
        for i in (2, 1, 0):
            if i < 2:
                d = F.activation_backward("relu", d, acts[i + 1], acts[i + 1])
            inp = acts[i]
            # like PyTorch, no gradient for the input batch (it does not require one)
            d, grads[f"W{i}"], grads[f"b{i}"] = F.linear_backward(d, inp, Ws[i], input_grad=i > 0)
        opt.step(params, grads)

    tparams = None
    if torch is not None:
        model = torch.nn.Sequential(
            torch.nn.Linear(784, 128),
            torch.nn.ReLU(),
            torch.nn.Linear(128, 64),
            torch.nn.ReLU(),
            torch.nn.Linear(64, 10),
        )
        topt = torch.optim.SGD(model.parameters(), lr=0.01)
        xt, yt = torch.from_numpy(x), torch.from_numpy(labels)
        tparams = (model, topt, xt, yt)

    def theirs():
        model, topt, xt, yt = tparams
        topt.zero_grad()
        TF.cross_entropy(model(xt), yt).backward()
        topt.step()

    def numpy_step():
        acts, h = [x], x
        for i in range(3):
            h = h @ Ws[i].T + bs[i]
            if i < 2:
                h = np.maximum(h, 0)
            acts.append(h)
        e = np.exp(h - h.max(axis=1, keepdims=True))
        d = e / e.sum(axis=1, keepdims=True)
        d[np.arange(64), labels] -= 1
        d /= 64
        for i in (2, 1, 0):
            if i < 2:
                d = d * (acts[i + 1] > 0)
            gW = d.T @ acts[i]
            gb = d.sum(axis=0)
            d = d @ Ws[i]
            Ws[i] -= 0.0 * gW  # same memory traffic as an update, weights kept fixed
            bs[i] -= 0.0 * gb

    return ours, theirs, numpy_step


def linear_loop_case(rng):
    x = rng.standard_normal((64, 784)).astype(DT)
    W = rng.standard_normal((128, 784)).astype(DT)
    y = np.empty((64, 128), DT)
    return (lambda: F.linear(x, W, None)), None, (lambda: _loop_linear(x, W, y))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--torch-threads", type=int, default=None)
    parser.add_argument("--json", default="benchmarks/results/kernels.json")
    args = parser.parse_args()
    if torch is not None and args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    rng = np.random.default_rng(0)
    cases = {
        "conv tiny": conv_case(rng, (1, 1, 6, 6), (2, 1, 3, 3), 0),
        "conv LeNet-1": conv_case(rng, (64, 1, 28, 28), (6, 1, 5, 5), 0),
        "conv LeNet-2": conv_case(rng, (64, 6, 14, 14), (16, 6, 5, 5), 0),
        "conv small VGG": conv_case(rng, (32, 32, 32, 32), (64, 32, 3, 3), 1),
        "max pool 2x2": pool_case(rng),
        "MLP step": mlp_case(rng),
        "linear: BLAS vs Numba loop": linear_loop_case(rng),
    }
    rows = []
    columns = ("nnsim ms", "torch ms", "numpy ms")
    header = f"{'case':28s} " + " ".join(f"{c:>10s}" for c in columns)
    header += f" {'/torch':>8s} {'/numpy':>8s} {'target':>7s}"
    print(
        f"threads: nnsim's BLAS 1, torch {torch.get_num_threads() if torch else '-'}; float32; "
        f"medians of {args.repeats}"
    )
    print(describe_products())
    print(header)
    print("-" * len(header))
    for name, (ours, theirs, baseline) in cases.items():
        t_ours, t_torch, t_np = paired_median_times(
            (ours, theirs if torch is not None else None, baseline), args.repeats
        )
        r_torch = t_ours / t_torch if t_torch else None
        r_np = t_ours / t_np if t_np else None
        target = TARGETS.get(name)
        verdict = (
            "" if target is None or r_torch is None else ("ok" if r_torch <= target else "MISS")
        )
        rows.append(
            {
                "case": name,
                "nnsim_ms": t_ours * 1e3,
                "torch_ms": t_torch * 1e3 if t_torch else None,
                "numpy_ms": t_np * 1e3 if t_np else None,
                "ratio_torch": r_torch,
                "ratio_numpy": r_np,
                "target": target,
                "met": verdict == "ok" if target else None,
            }
        )

        def ratio(r):
            return f"{r:8.2f}" if r else f"{'-':>8s}"

        def fmt(v, scale=1e3):
            return f"{v * scale:10.3f}" if v is not None else f"{'-':>10s}"

        print(
            f"{name:28s} {fmt(t_ours)} {fmt(t_torch)} {fmt(t_np)} "
            f"{ratio(r_torch)} {ratio(r_np)} "
            f"{(f'<={target}' if target else ''):>7s} {verdict}"
        )
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "dtype": "float32",
                "repeats": args.repeats,
                "torch_threads": torch.get_num_threads() if torch else None,
                "rows": rows,
            },
            indent=2,
        )
    )
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
