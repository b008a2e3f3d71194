"""What `nnsim run` and `nnsim verify` print for a person: tables and small terminal charts."""

from __future__ import annotations

import math

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .i18n import N_, _
from .run_views import print_views
from .session.plots import sparkline
from .session.wording import shown_note
from .sim.diagnostics import verdict_name

VERDICT_STYLE = {
    "healthy": "green",
    "vanishing": "yellow",
    "exploding": "bold red",
    "saturated": "magenta",
    "dead": "red",
}


def _fmt(value, style: str = ".2e") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, style)


#: What the accuracy columns measure, said once under a table (or after the status line).
ACCURACY_NOTE = N_(
    "train acc.: the whole training set in evaluation mode (dropout off, batch norm on "
    "running statistics); val acc.: the validation data; batch acc.: the last mini-batch"
)


def _accuracy(value: float) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.1%}"


def accuracy_status(report) -> str:
    """The run's accuracies in one line: ``accuracy: train 93.0% (full set, eval mode) · val
    90.0% · batch acc. 100.0%``; empty where accuracy has no meaning (regression)."""
    values = (report.train_accuracy, report.val_accuracy, report.batch_accuracy)
    if all(math.isnan(v) for v in values):
        return ""
    train = _("train {value} (full set, eval mode)")
    parts = [train.format(value=_accuracy(report.train_accuracy))]
    if not math.isnan(report.val_accuracy):
        parts.append(_("val {value}").format(value=_accuracy(report.val_accuracy)))
    parts.append(_("batch acc. {value}").format(value=_accuracy(report.batch_accuracy)))
    return _("accuracy: {parts}").format(parts=" · ".join(parts))


def print_run(console: Console, scenario, sim, expectations: list[dict], report=None) -> None:
    """The lesson's own run; ``report`` (a RunReport) gives its accuracies."""
    from .scenario.runs import RunReport

    report = report or RunReport.of(scenario.name, sim)
    console.print(f"[bold]{scenario.title}[/bold]  ({scenario.path})")
    done = _("{n} iterations, final loss {loss}")
    console.print(done.format(n=sim.completed, loss=_fmt(sim.loss_value, ".4g")))
    if accuracy_status(report):
        console.print(accuracy_status(report))
    if sim.stopped is not None:
        console.print("[bold red]" + _("stopped:") + f"[/bold red] {sim.stopped}")
    console.print(_layer_table(sim))
    explained = set()
    for name, v in sim.latest.items():  # one explanation per kind of trouble, at its first layer
        if v["verdict"] != "healthy" and v["verdict"] not in explained:
            explained.add(v["verdict"])
            line = _("[bold]{verdict}[/bold] (first: {layer}): {explanation}")
            verdict = verdict_name(v["verdict"])
            console.print(line.format(verdict=verdict, layer=name, explanation=v["explanation"]))
    _print_charts(console, sim)
    print_views(console, sim)  # the decision map (2-D inputs) and the activation std
    if sim.watches:
        console.print(_watch_table(sim))
    if expectations:
        print_expectations(console, expectations)


def _watch_table(sim) -> Table:
    """Every watch: its value after the first and the last recorded iteration, and its range."""
    table = Table(title=_("watches (per iteration in the trace)"), title_justify="left")
    for column in (N_("watch"), N_("first"), N_("last"), "min", "max"):
        table.add_column(_(column), justify="left" if column == "watch" else "right")
    for watch in sim.watches:
        _steps, values = sim.trace.series(watch.text)  # (rows,)
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            table.add_row(watch.text, "-", "-", "-", "-")
            continue
        table.add_row(
            watch.text, *(f"{v:.4g}" for v in (finite[0], finite[-1], finite.min(), finite.max()))
        )
    return table


#: The layer table's columns: (header, the registry metrics it shows, format). The headers are
#: short to fit 80 columns; the caption names the metrics, as a condition writes them.
LAYER_COLUMNS = (
    (N_("grad norm"), ("grad_norm",), ".1e"),
    (N_("weights"), ("weight_norm",), ".3g"),
    (N_("update"), ("update_ratio",), ".1e"),
    (N_("output"), ("act_mean", "act_std"), ".2f"),
    (N_("sat"), ("saturation",), ".0%"),
    (N_("dead"), ("dead_fraction",), ".0%"),
)


def _layer_table(sim) -> Table:
    from .sim import registry

    names = []
    for header, metrics, _form in LAYER_COLUMNS:
        for metric in metrics:
            if registry.lookup("layer", metric) is None:  # a renamed metric renames its column
                raise KeyError(f"the layer table shows {metric!r}, which the registry lacks")
        names.append(_(header) + " = " + " ± ".join(metrics))
    metrics_note = _("{columns} (metrics conditions can read: see `nnsim metrics`)")
    table = Table(
        title=_("layers after the last iteration"),
        title_justify="left",
        caption=metrics_note.format(columns="; ".join(names)),
        caption_justify="left",
    )
    table.add_column(_("layer"), no_wrap=True)
    table.add_column(_("verdict"), no_wrap=True)
    for header, _metrics, _form in LAYER_COLUMNS:
        table.add_column(_(header), justify="right", no_wrap=True)
    for name, v in sim.latest.items():
        style = VERDICT_STYLE.get(v["verdict"], "")
        cells = []
        for _header, metrics, form in LAYER_COLUMNS:
            if len(metrics) == 2:  # mean ± std
                mean, std = (v[m] for m in metrics)
                cells.append("-" if math.isnan(mean) else f"{mean:{form}}±{std:{form}}")
            else:
                cells.append(_fmt(v[metrics[0]], form))
        table.add_row(name, f"[{style}]{verdict_name(v['verdict'])}[/{style}]", *cells)
    return table


def _print_charts(console: Console, sim) -> None:
    _steps, losses = sim.trace.series("loss")
    if not len(losses):
        return
    first, last = _fmt(losses[0], ".3g"), _fmt(losses[-1], ".3g")
    console.print("\n" + _("loss") + f" {sparkline(losses)}  {first} → {last}")
    rows = []
    for name in sim.trace.layers:
        _steps, norms = sim.trace.series("grad_norm", name)
        if sim.layer(name).params and (norms > 0).any():
            rows.append((name, norms))
    if not rows:
        return
    logs = np.concatenate([np.log10(n[np.isfinite(n) & (n > 0)]) for _name, n in rows])
    bounds = (float(logs.min()), float(logs.max()))
    scale = _("gradient norm of each layer over the run, one log scale from {low} to {high}:")
    console.print(scale.format(low=f"1e{bounds[0]:.0f}", high=f"1e{bounds[1]:.0f}"))
    for name, norms in rows:
        line = sparkline(norms, log=True, bounds=bounds)
        console.print(f"  {name:>12s} {line}  {_fmt(norms[-1], '.1e')}")


#: The accuracy columns of the runs table: (header, RunReport field).
ACCURACY_COLUMNS = (
    (N_("train acc."), "train_accuracy"),
    (N_("val acc."), "val_accuracy"),
    (N_("batch acc."), "batch_accuracy"),
)


def print_variants(console: Console, scenario, runs, reports=None) -> None:
    """One row per run of the lesson: its own and each variant's, with the accuracies of
    ``reports`` (``runs.reports``); an accuracy column no run measures is left out, and
    so is the stop column when no run stopped."""
    reports = reports or runs.reports(scenario.name)
    sims = [runs.main, *runs.variants.values()]
    names = [_("(lesson)"), *runs.variants]
    titles = ["", *(str(scenario.variant_titles[name]) for name in runs.variants)]
    shown = [
        (header, field)
        for header, field in ACCURACY_COLUMNS
        if any(not math.isnan(getattr(r, field)) for r in reports)
    ]
    stops = any(sim.stopped is not None for sim in sims)
    table = Table(
        title=_("the lesson's runs"),
        title_justify="left",
        caption=_(ACCURACY_NOTE) if shown else None,
        caption_justify="left",
    )
    headers = [N_("run"), N_("what changes"), N_("iters"), N_("final loss")]
    columns = [*headers, *(h for h, _field in shown)]
    for column in columns + ([N_("stopped")] if stops else []):
        numeric = column not in ("run", "what changes", "stopped")
        # fold: a Chinese title is one long "word" that must wrap by cells, not be cut
        justify = "right" if numeric else "left"
        table.add_column(_(column), justify=justify, no_wrap=numeric, overflow="fold")
    for name, title, sim, report in zip(names, titles, sims, reports, strict=True):
        cells = [name, title, str(sim.completed), _fmt(sim.loss_value, ".4g")]
        cells += [_accuracy(getattr(report, field)) for _header, field in shown]
        if stops:
            cells.append("" if sim.stopped is None else str(sim.stopped))
        table.add_row(*cells)
    console.print(table)


def print_expectations(console: Console, expectations: list[dict]) -> None:
    table = Table(title=_("what the lesson promises"), title_justify="left")
    for column in (N_("promise (its check below it)"), N_("value"), N_("result")):
        table.add_column(_(column), overflow="fold")
    for e in expectations:
        if e["passed"]:
            result = "[green]" + _("passed") + "[/green]"
        elif e.get("note", "").startswith("not reached"):
            result = "[yellow]" + _("not reached") + "[/yellow]"
        else:
            result = "[red]" + _("FAILED") + "[/red]"
        value = e["value"]
        shown = (
            "-" if value is None else (str(value) if isinstance(value, bool) else f"{value:.4g}")
        )
        check = escape(e["check"])
        promise = f"{escape(e['says'])}\n[dim]{check}[/dim]" if e.get("says") else check
        note = f" ({shown_note(e['note'])})" if e.get("note") else ""
        table.add_row(promise, shown, result + note)
    console.print(table)


def print_prediction(console: Console, lesson) -> None:
    """The lesson's question and, the run being over, its answer."""
    if lesson.predict:
        for label, said in (
            (_("Predict before you step:"), lesson.predict),
            (_("Answer:"), lesson.answer),
        ):
            space = "" if label.endswith("：") else " "  # a full-width colon has its own room
            console.print(f"[bold]{label}[/bold]{space}{escape(str(said))}")


#: The check of a lesson without any, in `nnsim verify` (English in its JSON).
NO_EXPECTATIONS = N_("(no expectations)")


def print_verify(console: Console, rows: list[dict]) -> None:
    table = Table(title=_("lesson expectations"), title_justify="left")
    columns = (N_("lesson"), N_("check"), N_("value"), N_("result"), N_("seconds"))
    for column in columns:
        table.add_column(_(column), justify="right" if column == "seconds" else "left")
    for row in rows:
        value = row["value"]
        shown = (
            "-" if value is None else (str(value) if isinstance(value, bool) else f"{value:.4g}")
        )
        if row["passed"]:
            result = "[green]" + _("passed") + "[/green]"
        else:
            result = "[red]" + _("FAILED") + "[/red]"
        check = _(NO_EXPECTATIONS) if row["check"] == NO_EXPECTATIONS else row["check"]
        table.add_row(row["lesson"], check, shown, result, f"{row['seconds']:.1f}")
    console.print(table)
    failed = sum(not r["passed"] for r in rows)
    tally = _("{passed} of {total} checks passed")
    console.print(tally.format(passed=len(rows) - failed, total=len(rows)))


def print_surface_run(console: Console, scenario, run, expectations: list[dict]) -> None:
    """The optimiser race: the surface with every path, and where each optimiser ended."""
    from .surface_plot import TABLE_COLUMNS, render, table_rows

    console.print(f"[bold]{scenario.title}[/bold]  ({scenario.path})")
    steps = _("{n} steps on {surface}")
    console.print(steps.format(n=run.completed, surface=run.surface.description))
    console.print(render(run, min(console.width, 100), 22))
    table = Table(title=_("where each optimiser is"), title_justify="left")
    for column in TABLE_COLUMNS:
        justify = "left" if column in ("optimiser", "") else "right"
        table.add_column(_(column) if column else "", justify=justify)
    for row in table_rows(run):
        table.add_row(*row)
    console.print(table)
    if expectations:
        print_expectations(console, expectations)


def print_gan_run(console: Console, scenario, run, expectations: list[dict]) -> None:
    """The GAN after its run: the histograms, and where the game ended."""
    from .gan_plot import curves, histogram

    console.print(f"[bold]{scenario.title}[/bold]  ({scenario.path})")
    each = _("{n} iterations ({d_steps} D step(s) and 1 G step each)")
    console.print(each.format(n=run.completed, d_steps=run.d_steps))
    console.print(histogram(run, min(console.width, 100) - 2, 12))
    console.print(curves(run, [], min(console.width, 100) - 16))
    table = Table(title=_("the game at the end"), title_justify="left")
    for column in ("w_distance", "d_accuracy", "gen_mean", "gen_std", "d_loss", "g_loss"):
        table.add_column(column, justify="right")
    table.add_row(
        *(
            f"{run.model_metric(m):.3g}"
            for m in ("w_distance", "d_accuracy", "gen_mean", "gen_std")
        ),
        f"{run.d_loss:.3g}",
        f"{run.g_loss:.3g}",
    )
    console.print(table)
    if expectations:
        print_expectations(console, expectations)
