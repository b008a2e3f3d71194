"""Training throughput: the simulator against a hand-written PyTorch CPU loop, side by side.

    python benchmarks/bench_training.py [--rounds 15] [--sample-seconds 0.2] [--long] [--json FILE]

Cases (float32, the same architecture, batch size and optimiser on both sides):
- "MLP": the vanishing lesson's 12 x 32 sigmoid MLP on spirals, batch 50, SGD;
- "CNN": a LeNet-style digits CNN (conv 6@5x5 pad 2, ReLU, max pool, conv 16@5x5, ReLU, max
  pool, dense 120, 84, 10) on the digits upsampled to 32x32, batch 64, SGD.
For each: iterations per second of the Simulator (full diagnostics, trace, snapshots,
non-finite checks; called as ``nnsim run`` calls it, see CLI_CHUNK), of a bare loop over the
same layers (forward, backward, optimiser step, nothing else), and of PyTorch; then the ratios,
each the median of the ratios within the rounds (see rate_samples).
``--long`` also runs 100 000 iterations of a small model through the Simulator and reports the
resident memory.

Targets: the simulator at least as fast as PyTorch on the CNN (issue 18) and ahead of it on
the MLP; diagnostics costing under 25 % of the bare loop. nnsim runs with one BLAS thread,
PyTorch with its default unless ``--torch-threads`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

if "--long-child" not in sys.argv:  # the memory child must not carry PyTorch's 250 MB
    try:
        import torch
    except ImportError:
        torch = None

from nnsim.data import load_digits, spirals, upsample  # noqa: E402
from nnsim.kernels.products import describe as describe_products  # noqa: E402
from nnsim.layers import Conv2d, Dense, Flatten, MaxPool2d, ReLU, Sigmoid  # noqa: E402
from nnsim.losses import CrossEntropyLoss  # noqa: E402
from nnsim.model import Sequential  # noqa: E402
from nnsim.optim import SGD  # noqa: E402
from nnsim.sim import Simulator  # noqa: E402

DT = np.float32


def mlp_case():
    data = spirals(200, seed=0)
    layers = []
    for _ in range(12):
        layers += [Dense(32, init="xavier_normal"), Sigmoid()]
    layers.append(Dense(2))
    return Sequential(layers, input_shape=(2,), dtype=DT), (data.x, data.y), 50


def cnn_case():
    digits = load_digits(dtype=DT)
    x = upsample(digits.x, 4)
    layers = [
        Conv2d(6, 5, padding=2),
        ReLU(),
        MaxPool2d(2),
        Conv2d(16, 5),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Dense(120),
        ReLU(),
        Dense(84),
        ReLU(),
        Dense(10),
    ]
    return Sequential(layers, input_shape=(1, 32, 32), dtype=DT), (x, digits.y), 64


def rate_samples(steppers, rounds: int, sample_seconds: float) -> list[list[float]]:
    """Iterations per second of each ``(step, iterations per call)``, one short sample per
    round, the sides in mirrored order (A B C, C B A, ...). Why: these shared machines drift
    in speed by 1.5x over seconds, so three 3-second runs one after the other measured the
    drift as much as the code (the MLP's overhead read anywhere from 5 % to 74 %); samples
    taken side by side in every round put each round's drift on all sides alike. Each sample
    starts after a short untimed run (the other side's thread pools spin for a while after
    their last call)."""
    for step, _ in steppers:
        for _ in range(3):
            step()
    rates: list[list[float]] = [[] for _ in steppers]
    for r in range(rounds):
        order = range(len(steppers)) if r % 2 == 0 else reversed(range(len(steppers)))
        for i in order:
            step, per_call = steppers[i]
            settle = time.perf_counter() + SETTLE_SECONDS
            while time.perf_counter() < settle:
                step()
            count, start = 0, time.perf_counter()
            while time.perf_counter() - start < sample_seconds:
                step()
                count += per_call
            rates[i].append(count / (time.perf_counter() - start))
    return rates


SETTLE_SECONDS = 0.05


# ``nnsim run`` calls Simulator.run in chunks of 1 % of the run, to update its progress bar;
# each call ends with a snapshot for a later step back. 10: a 1000-iteration run.
CLI_CHUNK = 10


def simulator_stepper(make):
    model, data, batch = make()
    sim = Simulator(model, CrossEntropyLoss(), SGD(0.05), data, batch_size=batch, iterations=10**9)
    return lambda: sim.run(CLI_CHUNK), CLI_CHUNK


def bare_stepper(make):
    model, (x, y), batch = make()
    loss, opt = CrossEntropyLoss(), SGD(0.05)
    rng = np.random.default_rng(0)
    x = x.astype(DT)

    def step():
        rows = rng.choice(len(x), batch, replace=False)
        _, d = loss(model.forward(x[rows]), y[rows])
        model.backward(d)
        opt.step(model.trainable_parameters(), model.gradients())

    return step, 1


def torch_stepper(kind):
    if torch is None:
        return None
    nn = torch.nn
    if kind == "MLP":
        modules = []
        for i in range(12):
            modules += [nn.Linear(2 if i == 0 else 32, 32), nn.Sigmoid()]
        net = nn.Sequential(*modules, nn.Linear(32, 2))
        data = spirals(200, seed=0)
        x, y, batch = torch.tensor(data.x, dtype=torch.float32), torch.tensor(data.y), 50
    else:
        net = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(576, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, 10),
        )
        digits = load_digits(dtype=DT)
        x = torch.tensor(upsample(digits.x, 4))
        y, batch = torch.tensor(digits.y), 64
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(0)

    def step():
        rows = torch.randperm(len(x), generator=gen)[:batch]
        opt.zero_grad()
        loss_fn(net(x[rows]), y[rows]).backward()
        opt.step()

    return step, 1


def long_run_memory(iterations: int = 100_000) -> tuple[float, float]:
    """(seconds, peak resident MB) of a small model run for ``iterations``, measured in a
    fresh process that never imports PyTorch (which alone adds about 250 MB)."""
    child = subprocess.run(
        [sys.executable, __file__, "--long-child", str(iterations)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(child.stdout)
    return result["seconds"], result["peak_rss_mb"]


def _long_child(iterations: int) -> None:
    data = spirals(100, seed=0)
    model = Sequential([Dense(16), ReLU(), Dense(16), ReLU(), Dense(2)], input_shape=(2,))
    sim = Simulator(
        model, CrossEntropyLoss(), SGD(0.05), data, batch_size=32, iterations=iterations
    )
    start = time.perf_counter()
    sim.continue_()
    seconds = time.perf_counter() - start
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss across exec, so it would
    # report the parent's size (PyTorch included) at the fork
    status = Path("/proc/self/status").read_text()
    peak_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_kb / 1024}))


def main() -> None:
    if sys.argv[1:2] == ["--long-child"]:
        _long_child(int(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--sample-seconds", type=float, default=0.2)
    parser.add_argument("--long", action="store_true")
    parser.add_argument("--torch-threads", type=int, default=None)
    parser.add_argument("--json", default="benchmarks/results/training.json")
    args = parser.parse_args()
    if torch is not None and args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    rows = []
    threads = torch.get_num_threads() if torch else "-"
    print(
        f"iterations per second, float32, medians of {args.rounds} rounds of "
        f"{args.sample_seconds} s samples; torch threads {threads}"
    )
    print(describe_products())
    columns = ("simulator", "bare", "torch", "sim/torch")
    header = f"{'case':6s} " + " ".join(f"{c:>10s}" for c in columns) + f" {'overhead':>9s}"
    print(header)
    print("-" * len(header))
    for kind, make in (("MLP", mlp_case), ("CNN", cnn_case)):
        steppers = [simulator_stepper(make), bare_stepper(make)]
        if torch is not None:
            steppers.append(torch_stepper(kind))
        rates = rate_samples(steppers, args.rounds, args.sample_seconds)
        sim, bare = statistics.median(rates[0]), statistics.median(rates[1])
        # ratios within each round, then their median: a round's samples share its drift
        overhead = statistics.median(b / s - 1 for s, b in zip(rates[0], rates[1], strict=True))
        theirs = ratio = None
        if torch is not None:
            theirs = statistics.median(rates[2])
            ratio = statistics.median(s / t for s, t in zip(rates[0], rates[2], strict=True))
        rows.append(
            {
                "case": kind,
                "simulator_its": sim,
                "bare_its": bare,
                "torch_its": theirs,
                "sim_over_torch": ratio,
                "diagnostics_overhead": overhead,
            }
        )
        shown = f"{ratio:10.2f}" if ratio else f"{'-':>10s}"
        theirs_shown = f"{theirs:10.1f}" if theirs else f"{'-':>10s}"
        print(f"{kind:6s} {sim:10.1f} {bare:10.1f} {theirs_shown} {shown} {overhead:9.0%}")
    print("targets: CNN sim/torch >= 1.0, MLP sim/torch > 1, overhead < 25%")
    result = {"rows": rows}
    if args.long:
        seconds, peak = long_run_memory()
        print(f"100 000 iterations of a small MLP: {seconds:.0f} s, peak resident {peak:.0f} MB")
        result["long_run"] = {"seconds": seconds, "peak_rss_mb": peak}
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
