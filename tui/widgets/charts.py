"""Gradient flow and the loss curves, as text charts that survive NaN and inf."""

from __future__ import annotations

import math

import numpy as np
from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from nnsim.i18n import N_, _
from nnsim.session import View, sparkline
from nnsim.session.views import Accuracies

from . import redraw


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return f"{value:.1e}"


FLOW_PARTS = ("layers", "grad_history", "dh_norms")
CURVE_PARTS = (
    "loss_history",
    "accuracy_history",
    "val_loss_history",
    "val_accuracy_history",
    "accuracies",
)


def _same_parts(a: tuple[View, dict | None], b: tuple[View, dict | None], parts) -> bool:
    """Whether two (view, previous run) pairs hold the very same objects for ``parts``."""
    return a[1] is b[1] and all(getattr(a[0], p) is getattr(b[0], p) for p in parts)


class GradientFlow(VerticalScroll):
    """Per-layer gradient norms on one log scale (this iteration and the last 60), and
    ||dL/dh_t|| against t for recurrent layers. One row per layer with weights, every row
    fitted to the pane's width; the pane scrolls when the rows outnumber its height."""

    DEFAULT_CSS = "GradientFlow { height: auto; } GradientFlow > Static { width: 1fr; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._shown: tuple[View, dict | None] | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="flow-rows")

    def show(self, view: View, previous: dict | None = None, *, force: bool = False) -> None:
        shown, self._shown = self._shown, (view, previous)
        if not force and shown is not None and _same_parts(shown, self._shown, FLOW_PARTS):
            return  # the rows, their histories and ||dL/dh_t|| are the objects drawn
        rows = flow_text(view, previous, self.size.width)
        redraw.show(self.query_one("#flow-rows", Static), rows)

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show(*self._shown, force=True)


def _widths(width: int, name_width: int, was_width: int) -> tuple[int, int]:
    """(bar, sparkline) widths that fit a row in ``width`` cells (``was_width``: the cells of
    the previous run's value, 0 without one)."""
    room = width - name_width - 11 - was_width  # name, value, was
    bar = max(4, min(30, room // 2))
    history = min(20, room - bar - 1)
    if history < 6:
        return max(4, room), 0
    return bar, history


def flow_text(view: View, previous: dict | None, width: int) -> Text:
    rows = [r for r in view.layers if r.params and not r.block]
    text = Text(_("gradient norm per layer, log scale") + "\n", style="bold")
    if previous is not None:
        was = _("(was: the run with {label})").format(label=previous["label"])
        text.append(was + "\n", style="dim")
    values = [r.grad_norm for r in rows if r.grad_norm and math.isfinite(r.grad_norm)]
    values = [v for v in values if v > 0]
    if not values:
        text.append(_("(no gradients yet: step through a backward pass)"), style="dim")
        return text
    low, high = math.log10(min(values)), math.log10(max(values))
    span = max(high - low, 1e-9)
    name_width = max(len(r.name) for r in rows)
    was_width = cell_len(_("was {value}").format(value="0.0e+00")) + 2 if previous else 0
    bar, history_width = _widths(width or 60, name_width, was_width)
    for r in rows:
        g = r.grad_norm
        text.append(f"{r.name:>{name_width}} ")
        if g is None or not math.isfinite(g) or g <= 0:
            text.append("!" if g and not math.isnan(g) else "·", style="bold red")
            text.append(" " * (bar - 1))
        else:
            filled = 1 + int((math.log10(g) - low) / span * (bar - 1))
            style = {"vanishing": "yellow", "exploding": "red"}.get(r.verdict or "", "green")
            text.append("█" * filled, style=style)
            text.append(" " * (bar - filled))
        history = view.grad_history.get(r.name)
        line = (
            sparkline(history, width=history_width, log=True, bounds=(low, high))
            if history_width and history is not None and len(history)
            else ""
        )
        text.append(f" {_fmt(g):>8} {line}")
        if previous is not None:
            was = _("was {value}").format(value=_fmt(previous["grad_norms"].get(r.name)))
            text.append("  " + was, style="dim")
        text.append("\n")
    for name, norms in view.dh_norms.items():
        text.append(f"\n{name}: ||dL/dh_t||, t = 1..{len(norms)}\n", style="bold")
        line = sparkline(norms, width=max(8, min(40, (width or 60) - 24)), log=True)
        if not np.isinf(norms).any():  # NaN: a step BPTT has not reached yet, left blank
            line = line.replace("!", " ")
        text.append(line)
        text.append(f"  {_fmt(float(norms[0]))} → {_fmt(float(norms[-1]))}")
    text.rstrip()
    return text


def _percent(value: float) -> str:
    return f"{value:.0%}" if value >= 0.995 or value < 0.1 else f"{value:.1%}"


def accuracy_line(accuracies: Accuracies, width: int) -> str:
    """``train 93.1% · val 90.2% · batch 100%`` after the last completed iteration (train:
    the whole training set in evaluation mode), in ``width`` cells if it can (the closest
    that fits otherwise); empty before the first iteration and where accuracy has no
    meaning (regression)."""
    named = [
        (_("train {value}"), _("t {value}"), accuracies.train),
        (_("val {value}"), _("v {value}"), accuracies.val),
        (_("batch {value}"), _("b {value}"), accuracies.batch),
    ]
    parts = [(long, short, _percent(value)) for long, short, value in named if value == value]
    if not accuracies.after or not parts:
        return ""
    whole = " · ".join(long.format(value=value) for long, _short, value in parts)
    candidates = [
        _("{accuracies} (train: eval mode)").format(accuracies=whole),
        whole,
        " ".join(short.format(value=value) for _long, short, value in parts),
    ]
    return next((line for line in candidates if cell_len(line) <= width), candidates[-1])


#: Each curve's title (its key is what it plots).
CURVE_TITLES = {
    "loss": N_("loss"),
    "batch acc": N_("batch acc"),
    "val loss": N_("val loss"),
    "val acc": N_("val acc"),
}


def _right(text: str, width: int) -> str:
    """``text`` right-aligned in ``width`` terminal cells (a Chinese character takes two)."""
    return " " * max(0, width - cell_len(text)) + text


class Curves(Static):
    """Loss and accuracy over the iterations (the last mini-batch's; validation when
    measured); the accuracy row ends with the accuracies after the last completed
    iteration: the whole training set in evaluation mode, the validation, the batch."""

    _shown: tuple[View, dict | None] | None = None

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show(*self._shown, force=True)

    def show(self, view: View, previous: dict | None = None, *, force: bool = False) -> None:
        shown, self._shown = self._shown, (view, previous)
        if not force and shown is not None and _same_parts(shown, self._shown, CURVE_PARTS):
            return  # the curves change when an iteration completes
        text = Text()
        titles = {key: _(title) for key, title in CURVE_TITLES.items()}
        label_width = max(9, *(cell_len(title) for title in titles.values()))
        width = max(10, min(80, self.size.width - 13 - label_width))
        accuracies = accuracy_line(view.accuracies, self.size.width - 17 - label_width)
        for label, values in (
            ("loss", view.loss_history),
            ("batch acc", view.accuracy_history),
            ("val loss", view.val_loss_history),
            ("val acc", view.val_accuracy_history),
        ):
            if not len(values) or not np.isfinite(values).any():
                continue
            values = values[np.isfinite(values)] if label.startswith("val") else values
            finite = values[np.isfinite(values)]
            last = f"  {finite[-1]:.4g}" if finite.size else ""
            if label == "batch acc" and accuracies:  # the run's, in place of the last value
                last = f"  {accuracies}"
            text.append(_right(titles[label], label_width) + " ", style="bold")
            room = self.size.width - 5 - label_width - cell_len(last)
            text.append(sparkline(values, width=max(10, min(width, room))))
            text.append(f"{last}\n")
        if previous is not None and len(previous["loss"]):
            old = previous["loss"]
            text.append(_right(_("was"), label_width) + " ", style="dim")
            text.append(sparkline(old, width=width), style="dim")
            finite = old[np.isfinite(old)]
            last = f"{finite[-1]:.4g}" if finite.size else "-"
            text.append(f"  {last}  ({previous['label']})\n", style="dim")
        if not text:
            text.append(_("(curves appear after the first iteration)"), style="dim")
        text.rstrip()
        redraw.show(self, text)
