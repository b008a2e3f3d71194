"""Every command of the interface, once: its keys, its palette title, its line of help and
where it acts. The screens' bindings, the command palette and the help page are generated
from this table, so a key, the palette and the help can never disagree."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

from nnsim.session import COMMANDS as SESSION_COMMANDS


@dataclass(frozen=True)
class Command:
    """One command. ``action`` is a Textual action string run on the screen (or the app,
    for scope "app"); ``keys`` are Textual key names, ``shown`` how the help writes them."""

    action: str
    keys: str
    shown: str
    title: str
    help: str
    scope: str  # "debugger", "game" or "app"
    footer: bool = False  # shown in the footer (the most used keys only)
    group: str = "run"  # the help's sections: run, inspect, compare, app
    label: str = ""  # the footer's word for it (default: the title, lower case)


def _run(
    command: str, key: str, shown: str, title: str, label: str = "", footer: bool = True
) -> Command:
    help_text = SESSION_COMMANDS[command]
    return Command(
        f"command('{command}')", key, shown, title, help_text, "debugger", footer, label=label
    )


DEBUGGER = (
    _run("step", "n", "n", "Next"),
    _run("step_into", "s", "s", "Step into", "into"),
    _run("step_out", "o", "o", "Step out", "out"),
    _run("finish_pass", "f", "f", "Finish the pass", "finish"),
    _run("continue", "c", "c", "Continue"),
    Command(
        "pause", "p", "p", "Pause", "pause a running continue, drop queued keys", "debugger", True
    ),
    _run("step_back", "left_square_bracket", "[", "Step back", footer=False),
    _run("step_forward", "right_square_bracket", "]", "Step forward", footer=False),
    _run("rewind", "R", "R", "Rewind one iteration", footer=False),
    Command(
        "toggle_breakpoint",
        "b",
        "b",
        "Toggle breakpoint",
        "stop before the highlighted layer runs",
        "debugger",
        True,
        label="break",
    ),
    Command(
        "breakpoints",
        "B",
        "B",
        "Breakpoints",
        "list, add, enable or delete breakpoint conditions",
        "debugger",
    ),
    Command(
        "move(-1)",
        "u",
        "u",
        "Inspect the layer above",
        "move up, nothing runs",
        "debugger",
        group="inspect",
    ),
    Command(
        "move(1)",
        "d",
        "d",
        "Inspect the layer below",
        "move down, nothing runs",
        "debugger",
        group="inspect",
    ),
    Command(
        "tab('weights')",
        "1",
        "1",
        "Weights tab",
        "inspect the weights",
        "debugger",
        group="inspect",
    ),
    Command(
        "tab('activations')",
        "2",
        "2",
        "Activations tab",
        "inspect the outputs",
        "debugger",
        group="inspect",
    ),
    Command(
        "tab('gradients')",
        "3",
        "3",
        "Gradients tab",
        "inspect the gradients",
        "debugger",
        group="inspect",
    ),
    Command(
        "tab('time')",
        "4",
        "4",
        "Time steps tab",
        "a recurrent layer's gates and states per step, or attention",
        "debugger",
        group="inspect",
    ),
    Command(
        "tab('visual')",
        "5",
        "5",
        "Visual tab",
        "occlusion maps and maximised inputs of a CNN",
        "debugger",
        group="inspect",
    ),
    Command(
        "slice(-1)",
        "comma",
        ",",
        "Previous slice",
        "previous filter, channel, parameter, gate or example",
        "debugger",
        group="inspect",
    ),
    Command(
        "slice(1)",
        "full_stop",
        ".",
        "Next slice",
        "next filter, channel, parameter, gate or example",
        "debugger",
        group="inspect",
    ),
    Command(
        "zoom(-1)",
        "minus",
        "-",
        "Zoom out",
        "shrink the heatmap's cells",
        "debugger",
        group="inspect",
    ),
    Command(
        "zoom(1)",
        "equals_sign",
        "=",
        "Zoom in",
        "enlarge the heatmap's cells",
        "debugger",
        group="inspect",
    ),
    Command(
        "toggle_pane('lesson')",
        "l",
        "l",
        "Lesson pane",
        "show the lesson where panes take turns (small terminals); again: the debugger",
        "debugger",
        True,
        "inspect",
        "lesson",
    ),
    Command(
        "toggle_pane('flow')",
        "g",
        "g",
        "Gradient flow pane",
        "every layer's gradient norm where panes take turns; again: the debugger",
        "debugger",
        group="inspect",
    ),
)

GAME = (
    Command(
        "step",
        "n",
        "n",
        "Step",
        "one step of every optimiser (a race) or one D or G step (a GAN)",
        "game",
        True,
    ),
    Command("play", "c", "c", "Play", "play the run to its end", "game", True),
    Command("pause", "p", "p", "Pause", "pause the play", "game", True),
    Command("restart", "r", "r", "Restart", "a new run from step 0, same seed", "game", True),
    Command(
        "toggle_lesson",
        "l",
        "l",
        "Lesson pane",
        "the lesson in place of the run (small terminals), else hide or show it",
        "game",
        True,
        label="lesson",
    ),
)

APP = (
    Command(
        "help",
        "f1,question_mark",
        "F1 / ?",
        "Help",
        "every key and every metric",
        "app",
        True,
        "app",
    ),
    Command(
        "lessons", "ctrl+l", "ctrl+l", "Lessons", "back to the lesson picker", "app", True, "app"
    ),
    Command(
        "pytorch",
        "t",
        "t",
        "In PyTorch",
        "the few lines of PyTorch behind this lesson",
        "app",
        False,
        "app",
    ),
    Command(
        "screenshot",
        "ctrl+s",
        "ctrl+s",
        "Screenshot",
        "save an SVG of the screen (~/nnsim-screenshots, or --screenshots DIR)",
        "app",
        False,
        "app",
    ),
    Command("quit", "ctrl+q", "ctrl+q", "Quit", "leave nnsim", "app", True, "app"),
)

#: Palette-only commands of the debugger, by what they do: (title, help, app action).
WHAT_IF = (
    ("What if: learning rate", "re-run from 0 with another learning rate", "what_if('lr')"),
    ("What if: optimiser", "re-run from 0 with another optimiser", "what_if('optimizer')"),
    ("What if: activation", "replace one activation by another", "what_if('activation')"),
    ("What if: initialisation", "re-run with another weight init", "what_if('init')"),
    ("Re-run from iteration 0", "same seed; this run becomes the overlay", "rerun"),
    (
        "Occlusion map",
        "CNN: which pixels of a validation digit its class depends on",
        "occlusion",
    ),
    (
        "Maximise a class",
        "CNN: gradient ascent on the input to excite one class",
        "what_if('maximise')",
    ),
    (
        "Maximise a filter",
        "CNN: the input exciting the highlighted conv layer's shown channel",
        "maximise_filter",
    ),
)


def bindings(commands: tuple[Command, ...], priority: bool = False) -> list[Binding]:
    """The Textual bindings of ``commands``; the footer shows the ones marked for it."""
    return [
        Binding(
            c.keys,
            c.action,
            c.label or c.title.lower(),
            show=c.footer,
            key_display=c.shown if len(c.shown) <= 2 else None,
            priority=priority,
        )
        for c in commands
    ]


def help_markdown() -> str:
    """The keys of every screen, as the help page shows them."""
    sections = [
        ("Stepping and running (the debugger)", [c for c in DEBUGGER if c.group == "run"]),
        ("Inspecting (nothing runs)", [c for c in DEBUGGER if c.group == "inspect"]),
        ("Optimiser races and GANs", list(GAME)),
        ("Everywhere", list(APP)),
    ]
    out = ["# nnsim keys", ""]
    for title, commands in sections:
        out += [f"## {title}", "", "| key | command | does |", "|---|---|---|"]
        out += [f"| `{c.shown}` | {c.title} | {c.help} |" for c in commands]
        out.append("")
    out += ["`ctrl+p` opens the command palette: every command above, and these:", ""]
    out += [f"- **{title}**: {text}" for title, text, _ in WHAT_IF]
    out.append(
        "- **Variant: NAME**: open one of the lesson's variants; this run becomes the overlay"
    )
    return "\n".join(out) + "\n"
