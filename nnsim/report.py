"""What `nnsim run` and `nnsim verify` print for a person: tables and small terminal charts."""

from __future__ import annotations

import math

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .run_views import print_views
from .session.plots import sparkline

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
ACCURACY_NOTE = (
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
    parts = [f"train {_accuracy(report.train_accuracy)} (full set, eval mode)"]
    if not math.isnan(report.val_accuracy):
        parts.append(f"val {_accuracy(report.val_accuracy)}")
    parts.append(f"batch acc. {_accuracy(report.batch_accuracy)}")
    return "accuracy: " + " · ".join(parts)


def print_run(console: Console, scenario, sim, expectations: list[dict], report=None) -> None:
    """The lesson's own run; ``report`` (a RunReport) gives its accuracies."""
    from .scenario.runs import RunReport

    report = report or RunReport.of(scenario.name, sim)
    console.print(f"[bold]{scenario.title}[/bold]  ({scenario.path})")
    console.print(f"{sim.completed} iterations, final loss {_fmt(sim.loss_value, '.4g')}")
    if accuracy_status(report):
        console.print(accuracy_status(report))
    if sim.stopped is not None:
        console.print(f"[bold red]stopped:[/bold red] {sim.stopped}")
    console.print(_layer_table(sim))
    explained = set()
    for name, v in sim.latest.items():  # one explanation per kind of trouble, at its first layer
        if v["verdict"] != "healthy" and v["verdict"] not in explained:
            explained.add(v["verdict"])
            console.print(f"[bold]{v['verdict']}[/bold] (first: {name}): {v['explanation']}")
    _print_charts(console, sim)
    print_views(console, sim)  # the decision map (2-D inputs) and the activation std
    if sim.watches:
        console.print(_watch_table(sim))
    if expectations:
        print_expectations(console, expectations)


def _watch_table(sim) -> Table:
    """Every watch: its value after the first and the last recorded iteration, and its range."""
    table = Table(title="watches (per iteration in the trace)", title_justify="left")
    for column in ("watch", "first", "last", "min", "max"):
        table.add_column(column, justify="left" if column == "watch" else "right")
    for watch in sim.watches:
        _, values = sim.trace.series(watch.text)  # (rows,)
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
    ("grad norm", ("grad_norm",), ".1e"),
    ("weights", ("weight_norm",), ".3g"),
    ("update", ("update_ratio",), ".1e"),
    ("output", ("act_mean", "act_std"), ".2f"),
    ("sat", ("saturation",), ".0%"),
    ("dead", ("dead_fraction",), ".0%"),
)


def _layer_table(sim) -> Table:
    from .sim import registry

    names = []
    for header, metrics, _ in LAYER_COLUMNS:
        for metric in metrics:
            if registry.lookup("layer", metric) is None:  # a renamed metric renames its column
                raise KeyError(f"the layer table shows {metric!r}, which the registry lacks")
        names.append(f"{header} = {' ± '.join(metrics)}")
    table = Table(
        title="layers after the last iteration",
        title_justify="left",
        caption="; ".join(names) + " (metrics conditions can read: see `nnsim metrics`)",
        caption_justify="left",
    )
    table.add_column("layer", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    for header, _, _ in LAYER_COLUMNS:
        table.add_column(header, justify="right", no_wrap=True)
    for name, v in sim.latest.items():
        style = VERDICT_STYLE.get(v["verdict"], "")
        cells = []
        for _, metrics, form in LAYER_COLUMNS:
            if len(metrics) == 2:  # mean ± std
                mean, std = (v[m] for m in metrics)
                cells.append("-" if math.isnan(mean) else f"{mean:{form}}±{std:{form}}")
            else:
                cells.append(_fmt(v[metrics[0]], form))
        table.add_row(name, f"[{style}]{v['verdict']}[/{style}]", *cells)
    return table


def _print_charts(console: Console, sim) -> None:
    _, losses = sim.trace.series("loss")
    if not len(losses):
        return
    first, last = _fmt(losses[0], ".3g"), _fmt(losses[-1], ".3g")
    console.print(f"\nloss {sparkline(losses)}  {first} → {last}")
    rows = []
    for name in sim.trace.layers:
        _, norms = sim.trace.series("grad_norm", name)
        if sim.layer(name).params and (norms > 0).any():
            rows.append((name, norms))
    if not rows:
        return
    logs = np.concatenate([np.log10(n[np.isfinite(n) & (n > 0)]) for _, n in rows])
    bounds = (float(logs.min()), float(logs.max()))
    console.print(
        f"gradient norm of each layer over the run, one log scale from "
        f"1e{bounds[0]:.0f} to 1e{bounds[1]:.0f}:"
    )
    for name, norms in rows:
        line = sparkline(norms, log=True, bounds=bounds)
        console.print(f"  {name:>12s} {line}  {_fmt(norms[-1], '.1e')}")


#: The accuracy columns of the runs table: (header, RunReport field).
ACCURACY_COLUMNS = (
    ("train acc.", "train_accuracy"),
    ("val acc.", "val_accuracy"),
    ("batch acc.", "batch_accuracy"),
)


def print_variants(console: Console, scenario, runs, reports=None) -> None:
    """One row per run of the lesson: its own and each variant's, with the accuracies of
    ``reports`` (``runs.reports``); an accuracy column no run measures is left out, and
    so is the stop column when no run stopped."""
    reports = reports or runs.reports(scenario.name)
    sims = [runs.main, *runs.variants.values()]
    names = ["(lesson)", *runs.variants]
    titles = ["", *(str(scenario.variant_titles[name]) for name in runs.variants)]
    shown = [
        (header, field)
        for header, field in ACCURACY_COLUMNS
        if any(not math.isnan(getattr(r, field)) for r in reports)
    ]
    stops = any(sim.stopped is not None for sim in sims)
    table = Table(
        title="the lesson's runs",
        title_justify="left",
        caption=ACCURACY_NOTE if shown else None,
        caption_justify="left",
    )
    columns = ["run", "what changes", "iters", "final loss", *(h for h, _ in shown)]
    for column in columns + (["stopped"] if stops else []):
        numeric = column not in ("run", "what changes", "stopped")
        table.add_column(column, justify="right" if numeric else "left", no_wrap=numeric)
    for name, title, sim, report in zip(names, titles, sims, reports, strict=True):
        cells = [name, title, str(sim.completed), _fmt(sim.loss_value, ".4g")]
        cells += [_accuracy(getattr(report, field)) for _, field in shown]
        if stops:
            cells.append("" if sim.stopped is None else str(sim.stopped))
        table.add_row(*cells)
    console.print(table)


def print_expectations(console: Console, expectations: list[dict]) -> None:
    table = Table(title="what the lesson promises", title_justify="left")
    for column in ("promise (its check below it)", "value", "result"):
        table.add_column(column)
    for e in expectations:
        if e["passed"]:
            result = "[green]passed[/green]"
        elif e.get("note", "").startswith("not reached"):
            result = "[yellow]not reached[/yellow]"
        else:
            result = "[red]FAILED[/red]"
        value = e["value"]
        shown = (
            "-" if value is None else (str(value) if isinstance(value, bool) else f"{value:.4g}")
        )
        check = escape(e["check"])
        promise = f"{escape(e['says'])}\n[dim]{check}[/dim]" if e.get("says") else check
        table.add_row(promise, shown, result + (f" ({e['note']})" if e.get("note") else ""))
    console.print(table)


def print_prediction(console: Console, lesson) -> None:
    """The lesson's question and, the run being over, its answer."""
    if lesson.predict:
        console.print(f"[bold]Predict before you step:[/bold] {escape(lesson.predict)}")
        console.print(f"[bold]Answer:[/bold] {escape(lesson.answer)}")


def print_verify(console: Console, rows: list[dict]) -> None:
    table = Table(title="lesson expectations", title_justify="left")
    for column in ("lesson", "check", "value", "result", "seconds"):
        table.add_column(column, justify="right" if column == "seconds" else "left")
    for row in rows:
        value = row["value"]
        shown = (
            "-" if value is None else (str(value) if isinstance(value, bool) else f"{value:.4g}")
        )
        result = "[green]passed[/green]" if row["passed"] else "[red]FAILED[/red]"
        table.add_row(row["lesson"], row["check"], shown, result, f"{row['seconds']:.1f}")
    console.print(table)
    failed = sum(not r["passed"] for r in rows)
    console.print(f"{len(rows) - failed} of {len(rows)} checks passed")


def print_surface_run(console: Console, scenario, run, expectations: list[dict]) -> None:
    """The optimiser race: the surface with every path, and where each optimiser ended."""
    from .surface_plot import TABLE_COLUMNS, render, table_rows

    console.print(f"[bold]{scenario.title}[/bold]  ({scenario.path})")
    console.print(f"{run.completed} steps on {run.surface.description}")
    console.print(render(run, min(console.width, 100), 22))
    table = Table(title="where each optimiser is", title_justify="left")
    for column in TABLE_COLUMNS:
        table.add_column(column, justify="left" if column in ("optimiser", "") else "right")
    for row in table_rows(run):
        table.add_row(*row)
    console.print(table)
    if expectations:
        print_expectations(console, expectations)


def print_gan_run(console: Console, scenario, run, expectations: list[dict]) -> None:
    """The GAN after its run: the histograms, and where the game ended."""
    from .gan_plot import curves, histogram

    console.print(f"[bold]{scenario.title}[/bold]  ({scenario.path})")
    console.print(f"{run.completed} iterations ({run.d_steps} D step(s) and 1 G step each)")
    console.print(histogram(run, min(console.width, 100) - 2, 12))
    console.print(curves(run, [], min(console.width, 100) - 16))
    table = Table(title="the game at the end", title_justify="left")
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
