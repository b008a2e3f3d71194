"""Recurrent benchmark: forward plus full BPTT against torch.nn.RNN / LSTM / GRU, in one run.

T = 50, input 16, hidden 32 and 128, batch 1 and 16, float32, medians after warm-up, nnsim and
PyTorch timed in mirrored blocks (bench_kernels.paired_median_times).

    python benchmarks/bench_recurrent.py [--repeats 20] [--json benchmarks/results/recurrent.json]

Targets (nnsim / PyTorch): batch 1 <= 1.0 at hidden 32 and <= 1.3 at hidden 128; batch 16 <= 2.0;
for the LSTM at hidden 128 (issue 18) <= 0.5 at batch 1 and <= 1.0 at batch 16. nnsim runs with
one BLAS thread, PyTorch with its default unless ``--torch-threads`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from bench_kernels import paired_median_times, torch

import nnsim.functional as F
from nnsim.kernels.products import describe as describe_products

STEPS, INPUTS = 50, 16
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def target(kind: str, batch: int, hidden: int) -> float:
    if kind == "lstm" and hidden == 128:
        return 0.5 if batch == 1 else 1.0
    if batch == 1:
        return 1.0 if hidden == 32 else 1.3
    return 2.0


def case(kind: str, batch: int, hidden: int):
    rng = np.random.default_rng(0)
    g = GATES[kind]
    x = rng.standard_normal((batch, STEPS, INPUTS)).astype(np.float32)
    h0 = np.zeros((batch, hidden), np.float32)
    w_ih = (rng.standard_normal((g * hidden, INPUTS)) * 0.1).astype(np.float32)
    w_hh = (rng.standard_normal((g * hidden, hidden)) * 0.1).astype(np.float32)
    b = np.zeros(g * hidden, np.float32)
    dy = np.ones((batch, STEPS, hidden), np.float32)

    def ours():
        if kind == "lstm":
            _, _, cache = F.lstm(x, h0, h0, w_ih, w_hh, b, b)
            F.lstm_backward(dy, cache)
        else:
            _, cache = getattr(F, kind)(x, h0, w_ih, w_hh, b, b)
            getattr(F, f"{kind}_backward")(dy, cache)

    theirs = None
    if torch is not None:
        module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](
            INPUTS, hidden, batch_first=True
        )
        xt, dyt = torch.from_numpy(x), torch.from_numpy(dy)

        def theirs():
            module.zero_grad()
            xg = xt.clone().requires_grad_()
            out, _ = module(xg)
            out.backward(dyt)

    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--torch-threads", type=int, default=None)
    parser.add_argument("--json", default="benchmarks/results/recurrent.json")
    args = parser.parse_args()
    if torch is not None and args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    rows = []
    threads = torch.get_num_threads() if torch is not None else "-"
    print(
        f"T={STEPS}, input {INPUTS}, float32, forward + BPTT, medians of {args.repeats}; "
        f"threads: nnsim's BLAS 1, torch {threads}"
    )
    print(describe_products())
    print(f"{'case':22s} {'nnsim ms':>10s} {'torch ms':>10s} {'ratio':>7s} {'target':>7s}")
    for kind in ("rnn", "lstm", "gru"):
        for batch in (1, 16):
            for hidden in (32, 128):
                ours, theirs = case(kind, batch, hidden)
                t_ours, t_torch = paired_median_times((ours, theirs), args.repeats)
                ratio = t_ours / t_torch if t_torch else None
                goal = target(kind, batch, hidden)
                met = ratio is not None and ratio <= goal
                name = f"{kind} N={batch} H={hidden}"
                rows.append(
                    {
                        "case": name,
                        "nnsim_ms": t_ours * 1e3,
                        "torch_ms": t_torch * 1e3 if t_torch else None,
                        "ratio": ratio,
                        "target": goal,
                        "met": met,
                    }
                )
                shown = f"{ratio:7.2f}" if ratio else f"{'-':>7s}"
                torch_ms = f"{t_torch * 1e3:10.3f}" if t_torch else f"{'-':>10s}"
                print(
                    f"{name:22s} {t_ours * 1e3:10.3f} {torch_ms} {shown} {'<=' + str(goal):>7s} "
                    f"{'ok' if met else 'MISS'}"
                )
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows}, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
