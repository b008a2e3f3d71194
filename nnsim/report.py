"""What `nnsim run` and `nnsim verify` print for a person: tables and small terminal charts."""

from __future__ import annotations

import math

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

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


def print_run(console: Console, scenario, sim, expectations: list[dict]) -> None:
    console.print(f"[bold]{scenario.title}[/bold]  ({scenario.path})")
    status = f"{sim.completed} iterations, final loss {_fmt(sim.loss_value, '.4g')}"
    if not math.isnan(sim.accuracy):
        status += f", accuracy {sim.accuracy:.1%}"
    console.print(status)
    if sim.stopped is not None:
        console.print(f"[bold red]stopped:[/bold red] {sim.stopped}")
    console.print(_layer_table(sim))
    explained = set()
    for name, v in sim.latest.items():  # one explanation per kind of trouble, at its first layer
        if v["verdict"] != "healthy" and v["verdict"] not in explained:
            explained.add(v["verdict"])
            console.print(f"[bold]{v['verdict']}[/bold] (first: {name}): {v['explanation']}")
    _print_charts(console, sim)
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


def print_variants(console: Console, scenario, runs) -> None:
    """One row per run of the lesson: its own and each variant's."""
    table = Table(title="the lesson's runs", title_justify="left")
    for column in ("run", "what changes", "iterations", "final loss", "accuracy", "stopped"):
        table.add_column(column)
    rows = [("(lesson)", "", runs.main)]
    rows += [(name, scenario.variant_titles[name], sim) for name, sim in runs.variants.items()]
    for name, title, sim in rows:
        accuracy = "-" if math.isnan(sim.accuracy) else f"{sim.accuracy:.1%}"
        stopped = "" if sim.stopped is None else str(sim.stopped)
        table.add_row(
            name, title, str(sim.completed), _fmt(sim.loss_value, ".4g"), accuracy, stopped
        )
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
