"""Compile (or load from the on-disk cache) the kernels a lesson needs, with progress.

The interface's loading screen warms :func:`plan_for` its session (only the kernels of the
opened lesson: its layers, loss, optimiser and dtype) and names each kernel *before* it compiles
("compiling linear (float64), 1 of 7"): a first start shows what it is doing from the first
second. A kernel the plan leaves out still compiles on first use (Numba compiles lazily), so
correctness never depends on the plan; the plan decides what is compiled behind progress.
benchmarks/startup.py measures cold and warm start with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import functional as F
from . import optim
from .kernels import elementwise as ke
from .kernels import recurrent as kr
from .kernels import verdicts as kv
from .losses import Loss
from .warmup_recurrent import blocked, recurrent, recurrent_blocked, recurrent_steps

#: ``progress(done, total, compiling)``: before each call ``compiling`` names the kernel about to
#: compile ("conv2d (float64)") with ``done`` calls finished; after the last call it is None.
Progress = Callable[[int, int, "str | None"], None]

#: the calls every network lesson makes: the simulator's measurements of each step (layers
#: whose outputs are sequences or feature maps add their own; a GAN's run measures none)
ALWAYS = ("diagnostics",)

#: warm-up calls per layer kind (``Layer.kind``); kinds that only move data need none
LAYER_CALLS: dict[str, tuple[str, ...]] = {
    "dense": ("linear",),
    "dropconnect": ("linear", "dropout"),
    "embedding": ("embedding", "diagnostics (sequences)"),
    "conv": ("conv2d", "conv2d (BLAS)", "conv2d (strided)", "diagnostics (feature maps)"),
    "maxpool": ("max_pool2d", "max_pool2d (overlapping)", "diagnostics (feature maps)"),
    "avgpool": ("avg_pool2d", "diagnostics (feature maps)"),
    "gap": ("avg_pool2d", "diagnostics (feature maps)"),
    "bn": ("batch_norm",),
    "dropout": ("dropout",),
    "softmax": ("softmax",),
    "maxout": ("maxout",),
    "rnn": ("rnn", "rnn steps", "diagnostics (sequences)"),
    "lstm": ("lstm", "lstm steps", "diagnostics (sequences)"),
    "gru": ("gru", "gru steps", "diagnostics (sequences)"),
    "attention": ("gru", "softmax", "tanh", "diagnostics (sequences)"),
}

#: warm-up calls per loss (``Loss.name``)
LOSS_CALLS: dict[str, tuple[str, ...]] = {
    "mse": ("mse_loss",),
    "mae": ("mae_loss",),
    "cross_entropy": ("cross_entropy",),
    "bce": ("binary_cross_entropy", "sigmoid"),
    "hinge": ("hinge_loss",),
}


@dataclass(frozen=True)
class Plan:
    """What to warm: ``kernels`` (names of warm-up calls, see :func:`call_names`) per dtype."""

    dtypes: tuple[str, ...]
    kernels: tuple[str, ...]

    def labels(self) -> list[str]:
        """One label per call, in the order they run: "linear (float64)"."""
        return [f"{name} ({dtype})" for dtype in self.dtypes for name in self.kernels]

    def __len__(self) -> int:
        return len(self.dtypes) * len(self.kernels)


def _random(dtype: np.dtype) -> Callable[..., np.ndarray]:
    rng = np.random.default_rng(0)
    return lambda *shape: rng.standard_normal(shape).astype(dtype)


def _linear(arr: Callable[..., np.ndarray]) -> None:
    """A dense layer's products: small ones (BLAS), and ones large enough for nnsim's own
    product kernels where the machine uses them (``nnsim.kernels.products.OWN_MIN_MACS``,
    ``DOT_MIN_K``), at a batch of few rows too (``FEW_ROWS``: dL/dx by ``product_nn``)."""
    for batch, inputs, units in ((4, 3, 3), (64, 64, 64), (16, 128, 128)):
        x, w = arr(batch, inputs), arr(units, inputs)
        F.linear_backward(F.linear(x, w, arr(units)), x, w)


def _conv(arr: Callable[..., np.ndarray], variant: str) -> None:
    if variant == "BLAS":  # large enough for BLAS products or nnsim's own (small ones use loops)
        x, w, b = arr(8, 4, 12, 12), arr(8, 4, 3, 3), arr(8)
        F.conv2d_backward(F.conv2d(x, w, b, 1, 1), x, w, 1, 1)
        return
    x, w, b = arr(2, 2, 5, 5), arr(3, 2, 3, 3), arr(3)
    if variant == "strided":  # vertical stride 2: the one-stage im2col (stride 1 unfolds rows)
        F.conv2d_backward(F.conv2d(x, w, b, 2), x, w, 2)
    else:
        F.conv2d_backward(F.conv2d(x, w, b, 1, 1), x, w, 1, 1)


def _optimiser(name: str, arr: Callable[..., np.ndarray]) -> None:
    w = arr(3, 3)
    opt = {
        "sgd": lambda: optim.SGD(0.1, momentum=0.9),
        "adagrad": lambda: optim.Adagrad(0.1),
        "rmsprop": lambda: optim.RMSprop(0.1),
        "adam": lambda: optim.Adam(0.1),
    }[name]()
    opt.step({"w": w.copy()}, {"w": w})


def _diagnostics(arr: Callable[..., np.ndarray], rank: int) -> None:
    """The simulator's measurements of outputs as they are: dense (N, U) (with the per-layer
    sums and verdicts every network needs), sequences (N, T, H), feature maps (N, C, H, W)."""
    shape = {2: (4, 3), 3: (2, 3, 3), 4: (2, 2, 5, 5)}[rank]
    x = arr(*shape)
    ke.activation_stats(
        x, 4 if rank != 3 else 1, np.empty(x.size // shape[0], np.bool_), np.empty(4)
    )
    ke.sum_of_squares(x)
    if rank == 2:
        ke.sum_of_squares(arr(3))
        ke.count_nonfinite(x.reshape(-1))
        ke.gradient_squares(x.reshape(-1), x[0], x[:0].reshape(-1), np.empty(3))
        flags, ones = np.empty(2, np.int8), np.ones((3, 2))
        kv.classify_layers(*ones, np.ones(2, np.bool_), 1e3, 1e-4, 1e-8, 0.4, 0.5, flags)


def _calls(dtype: np.dtype) -> dict[str, Callable[[], object]]:
    """Every warm-up call by name; each builds its own inputs, so nothing runs until called."""
    arr = _random(dtype)
    x2, w2, b3, x4 = arr(4, 3), arr(3, 3), arr(3), arr(2, 2, 5, 5)
    labels = np.array([0, 1, 2, 0])
    calls: dict[str, Callable[[], object]] = {
        **{kind: (lambda k=kind: recurrent(k, arr)) for kind in ("rnn", "gru", "lstm")},
        **{
            f"{kind} steps": (lambda k=kind: recurrent_steps(k, arr))
            for kind in ("rnn", "gru", "lstm")
        },
        **{
            f"{kind} (blocked)": (lambda k=kind: recurrent_blocked(k, arr))
            for kind in ("rnn", "gru", "lstm")
        },
        "linear": lambda: _linear(arr),
        "conv2d": lambda: _conv(arr, ""),
        "conv2d (BLAS)": lambda: _conv(arr, "BLAS"),
        "conv2d (strided)": lambda: _conv(arr, "strided"),
        "max_pool2d": lambda: F.max_pool2d_backward(*F.max_pool2d(x4, 2), x4.shape),
        "max_pool2d (overlapping)": lambda: F.max_pool2d_backward(
            *F.max_pool2d(x4, 3, 2), x4.shape
        ),
        "avg_pool2d": lambda: F.avg_pool2d_backward(F.avg_pool2d(x4, 2), x4.shape, 2),
        "softmax": lambda: F.softmax_backward(x2, F.softmax(x2)),
        "log_softmax": lambda: F.log_softmax_backward(x2, F.log_softmax(x2)),
        "maxout": lambda: F.maxout_backward(F.maxout(x2[:, :2], 2), x2[:, :2], 2),
        "mse_loss": lambda: F.mse_loss(x2, x2),
        "mae_loss": lambda: F.mae_loss(x2, x2),
        "cross_entropy": lambda: F.cross_entropy(x2, labels % 3),
        "binary_cross_entropy": lambda: F.binary_cross_entropy(F.sigmoid(x2), x2 * 0),
        "hinge_loss": lambda: F.hinge_loss(x2, labels % 3),
        "batch_norm": lambda: F.batch_norm_backward(
            *F.batch_norm(x2, b3, b3, np.zeros(3, dtype), np.ones(3, dtype))
        ),
        "dropout": lambda: F.dropout_backward(*F.dropout(x2, 0.5, np.random.default_rng(0))),
        "clipping": lambda: (
            F.clip_grad_norm({"w": w2.copy()}, 0.1),
            F.clip_grad_value({"w": w2.copy()}, 0.1),
        ),
        **{
            name: (lambda n=name: _optimiser(n, arr))
            for name in ("sgd", "adagrad", "rmsprop", "adam")
        },
        "embedding": lambda: F.embedding_backward(F.embedding(labels, w2), labels, w2.shape[0]),
        "penalties": lambda: (F.l1_penalty(w2, 0.1), F.l2_penalty(w2, 0.1)),
        "diagnostics": lambda: _diagnostics(arr, 2),
        "diagnostics (sequences)": lambda: _diagnostics(arr, 3),
        "diagnostics (feature maps)": lambda: _diagnostics(arr, 4),
    }
    for name in F.ACTIVATIONS:
        fn = getattr(F, name)
        calls[name] = lambda fn=fn, name=name: F.activation_backward(name, x2, x2, fn(x2))
    return calls


def call_names() -> list[str]:
    """The name of every warm-up call, in the order :func:`warm_up` makes them."""
    return list(_calls(np.dtype(np.float64)))


def _parts(run: object) -> Iterator[object]:
    """The models, losses and optimisers a run holds (a network run, a GAN run, a race)."""
    values = [getattr(run, name, None) for name in ("model", "loss", "optimizer")]
    values += list(vars(run).values()) if hasattr(run, "__dict__") else []
    for value in values:
        if isinstance(value, dict):
            yield from value.values()
        elif isinstance(value, list | tuple):
            yield from value
        else:
            yield value


def kernels_for(run: object) -> tuple[str, ...]:
    """The warm-up calls a run needs: its layers' kernels, its loss's, its optimisers', the
    gradient clipping and penalties it sets, and the simulator's measurements."""
    names: list[str] = []
    batch = getattr(getattr(getattr(run, "trainer", None), "stream", None), "batch_size", 0)
    for part in _parts(run):
        if callable(getattr(part, "leaves", None)):
            for layer in part.leaves():
                kind = getattr(layer, "kind", "")
                names += [kind] if kind in F.ACTIVATIONS else LAYER_CALLS.get(kind, ())
                if kind in kr.GATES and blocked(kind, batch, layer.hidden):
                    names.append(f"{kind} (blocked)")  # only where its shapes take that path
                if getattr(layer, "l1", 0) or getattr(layer, "l2", 0):
                    names.append("penalties")
        elif isinstance(part, Loss):
            names += LOSS_CALLS.get(part.name, ())
        elif isinstance(part, optim.Optimizer):
            names.append(part.name)
    if getattr(run, "model", None) is not None:  # a network's simulator (a GAN measures none)
        names += ALWAYS
    if getattr(run, "clip_norm", None) is not None or getattr(run, "clip_value", None) is not None:
        names.append("clipping")
    order = call_names()
    return tuple(sorted(set(names) & set(order), key=order.index))


def plan_for(session: object) -> Plan:
    """What the loading screen warms for ``session`` (a :class:`nnsim.session.Session`): the
    kernels of its run in its dtype."""
    return Plan((session.dtype,), kernels_for(session.run))  # type: ignore[attr-defined]


def warm_up(
    dtypes: Iterable[type | str] = (np.float32, np.float64),
    progress: Progress | None = None,
    only: Iterable[str] | None = None,
) -> int:
    """Make each warm-up call once per dtype (every call, or those named in ``only``); returns
    the number of calls made. ``progress`` hears of each call before it starts and once at the
    end, so a screen can name the kernel compiling now rather than the one just finished."""
    wanted = None if only is None else set(only)
    unknown = set() if wanted is None else wanted - set(call_names())
    if unknown:
        raise ValueError(f"warm_up(only=...): no warm-up call named {sorted(unknown)}")
    steps = [
        (f"{name} ({np.dtype(d).name})", call)
        for d in dtypes
        for name, call in _calls(np.dtype(d)).items()
        if wanted is None or name in wanted
    ]
    for done, (label, call) in enumerate(steps):
        if progress is not None:
            progress(done, len(steps), label)
        call()
    if progress is not None:
        progress(len(steps), len(steps), None)
    return len(steps)


#: written next to the kernels' cached machine code: the warm-up calls made there, under the
#: fingerprint of the sources they were compiled from (``_jit.STAMP_NAME``'s content) and the
#: Numba that compiled them
RECORD_NAME = "nnsim-warmed.txt"


def _record_path() -> Path | None:
    """Where the record of warmed calls lives: Numba's cache directory for nnsim's kernels."""
    from .kernels import _jit

    directory = _jit.cache_directory(_jit.REGISTRY[0]) if _jit.REGISTRY else None
    return None if directory is None else directory / RECORD_NAME


def _recorded() -> tuple[str | None, set[str]]:
    """(the fingerprint of the kernels' sources and of Numba now, the labels recorded under
    it); no fingerprint where nothing is known of what the cache holds: no stamp, or no
    cached machine code at all."""
    import numba

    from .kernels import _jit

    path = _record_path()
    if path is None or not any(path.parent.glob("*.nbi")):
        return None, set()
    try:
        fingerprint = f"{(path.parent / _jit.STAMP_NAME).read_text()} numba {numba.__version__}"
    except OSError:
        return None, set()
    try:
        lines = path.read_text().splitlines()
    except OSError:  # nothing recorded yet
        lines = []
    return fingerprint, set(lines[1:]) if lines[:1] == [fingerprint] else set()


def cached(plan: Plan) -> bool:
    """Whether every call of ``plan`` was made before with the kernels' sources as they are
    now (see :func:`remember`): their machine code is then in Numba's cache and loads in a
    fraction of a second, so the interface loads them without a loading screen. Should the
    cache have been emptied meanwhile, they compile on first use, as any kernel may."""
    fingerprint, labels = _recorded()
    return fingerprint is not None and set(plan.labels()) <= labels


def load_cached(plan: Plan) -> bool:
    """Make the calls of ``plan`` if :func:`cached` says all were made before: they load from
    Numba's cache in a fraction of a second, so no loading screen is needed (the interface
    does this in the opening screen's worker). True if made."""
    if not cached(plan):
        return False
    warm_up(plan.dtypes, None, only=plan.kernels)
    return True


def remember(plan: Plan) -> None:
    """Record that every call of ``plan`` was made (after :func:`warm_up` returned): later
    starts find them in the cache (:func:`cached`). A record that cannot be written is left."""
    from .atomic import write_atomically

    fingerprint, labels = _recorded()
    path = _record_path()
    if fingerprint is None or path is None or set(plan.labels()) <= labels:
        return
    text = "\n".join([fingerprint, *sorted(labels | set(plan.labels()))]) + "\n"
    try:
        write_atomically(path, lambda handle: handle.write(text.encode()))
    except OSError:
        pass
