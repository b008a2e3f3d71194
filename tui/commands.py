"""Every command of the interface, once: its keys, its palette title, its line of help and
where it acts. The screens' bindings, the command palette and the help page are generated
from this table, so a key, the palette and the help can never disagree."""

from __future__ import annotations

from dataclasses import dataclass, replace

from textual.binding import Binding

from nnsim.i18n import N_, _
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
    _run("step", "n", "n", N_("Next"), N_("next")),
    _run("step_into", "s", "s", N_("Step into"), N_("into")),
    _run("step_out", "o", "o", N_("Step out"), N_("out")),
    _run("finish_pass", "f", "f", N_("Finish the pass"), N_("finish")),
    _run("continue", "c", "c", N_("Continue")),
    Command(
        "pause",
        "p",
        "p",
        N_("Pause"),
        N_("pause a running continue, drop queued keys"),
        "debugger",
        True,
    ),
    _run("step_back", "left_square_bracket", "[", N_("Step back"), footer=False),
    _run("step_forward", "right_square_bracket", "]", N_("Step forward"), footer=False),
    _run("rewind", "R", "R", N_("Rewind one iteration"), footer=False),
    Command(
        "toggle_breakpoint",
        "b",
        "b",
        N_("Toggle breakpoint"),
        N_("stop before the highlighted layer runs"),
        "debugger",
        True,
        label=N_("break"),
    ),
    Command(
        "breakpoints",
        "B",
        "B",
        N_("Breakpoints"),
        N_("list, add, enable or delete breakpoint conditions"),
        "debugger",
    ),
    Command(
        "move(-1)",
        "u",
        "u",
        N_("Inspect the layer above"),
        N_("move up, nothing runs"),
        "debugger",
        group="inspect",
    ),
    Command(
        "move(1)",
        "d",
        "d",
        N_("Inspect the layer below"),
        N_("move down, nothing runs"),
        "debugger",
        group="inspect",
    ),
    Command(
        "tab('weights')",
        "1",
        "1",
        N_("Weights tab"),
        N_("inspect the weights"),
        "debugger",
        group="inspect",
    ),
    Command(
        "tab('activations')",
        "2",
        "2",
        N_("Activations tab"),
        N_("inspect the outputs"),
        "debugger",
        group="inspect",
    ),
    Command(
        "tab('gradients')",
        "3",
        "3",
        N_("Gradients tab"),
        N_("inspect the gradients"),
        "debugger",
        group="inspect",
    ),
    Command(
        "tab('time')",
        "4",
        "4",
        N_("Time steps tab"),
        N_("a recurrent layer's gates and states per step, or attention"),
        "debugger",
        group="inspect",
    ),
    Command(
        "tab('visual')",
        "5",
        "5",
        N_("Visual tab"),
        N_("occlusion maps and maximised inputs of a CNN"),
        "debugger",
        group="inspect",
    ),
    Command(
        "tab('map')",
        "6",
        "6",
        N_("Decision map tab"),
        N_("a 2-D input's class regions, training points and first-layer lines"),
        "debugger",
        group="inspect",
    ),
    Command(
        "slice(-1)",
        "comma",
        ",",
        N_("Previous slice"),
        N_("previous filter, channel, parameter, gate or example"),
        "debugger",
        group="inspect",
    ),
    Command(
        "slice(1)",
        "full_stop",
        ".",
        N_("Next slice"),
        N_("next filter, channel, parameter, gate or example"),
        "debugger",
        group="inspect",
    ),
    Command(
        "zoom(-1)",
        "minus",
        "-",
        N_("Zoom out"),
        N_("shrink the heatmap's cells"),
        "debugger",
        group="inspect",
    ),
    Command(
        "zoom(1)",
        "equals_sign",
        "=",
        N_("Zoom in"),
        N_("enlarge the heatmap's cells"),
        "debugger",
        group="inspect",
    ),
    Command(
        "toggle_pane('lesson')",
        "l",
        "l",
        N_("Lesson pane"),
        N_("show the lesson where panes take turns (small terminals); again: the debugger"),
        "debugger",
        True,
        "inspect",
        "lesson",
    ),
    Command(
        "toggle_pane('flow')",
        "g",
        "g",
        N_("Gradient flow pane"),
        N_("every layer's gradient norm where panes take turns; again: the debugger"),
        "debugger",
        group="inspect",
    ),
)

GAME = (
    Command(
        "step",
        "n",
        "n",
        N_("Step"),
        N_("one step of every optimiser (a race) or one D or G step (a GAN)"),
        "game",
        True,
    ),
    Command("play", "c", "c", N_("Play"), N_("play the run to its end"), "game", True),
    Command("pause", "p", "p", N_("Pause"), N_("pause the play"), "game", True),
    Command(
        "restart", "r", "r", N_("Restart"), N_("a new run from step 0, same seed"), "game", True
    ),
    Command(
        "toggle_lesson",
        "l",
        "l",
        N_("Lesson pane"),
        N_("the lesson in place of the run (small terminals), else hide or show it"),
        "game",
        True,
        label=N_("lesson"),
    ),
)

APP = (
    Command(
        "help",
        "f1,question_mark",
        "F1 / ?",
        N_("Help"),
        N_("every key and every metric"),
        "app",
        True,
        "app",
    ),
    Command(
        "lessons",
        "ctrl+l",
        "ctrl+l",
        N_("Lessons"),
        N_("back to the lesson picker"),
        "app",
        True,
        "app",
    ),
    Command(
        "pytorch",
        "t",
        "t",
        N_("In PyTorch"),
        N_("the few lines of PyTorch behind this lesson"),
        "app",
        False,
        "app",
    ),
    Command(
        "screenshot",
        "ctrl+s",
        "ctrl+s",
        N_("Screenshot"),
        N_("save an SVG of the screen (~/nnsim-screenshots, or --screenshots DIR)"),
        "app",
        False,
        "app",
    ),
    Command("quit", "ctrl+q", "ctrl+q", N_("Quit"), N_("leave nnsim"), "app", True, "app"),
)

#: Palette-only commands of the debugger, by what they do: (title, help, app action).
WHAT_IF = (
    (N_("What if: learning rate"), N_("re-run from 0 with another learning rate"), "what_if('lr')"),
    (N_("What if: optimiser"), N_("re-run from 0 with another optimiser"), "what_if('optimizer')"),
    (N_("What if: activation"), N_("replace one activation by another"), "what_if('activation')"),
    (N_("What if: initialisation"), N_("re-run with another weight init"), "what_if('init')"),
    (N_("Re-run from iteration 0"), N_("same seed; this run becomes the overlay"), "rerun"),
    (
        N_("Occlusion map"),
        N_("CNN: which pixels of a validation digit its class depends on"),
        "occlusion",
    ),
    (
        N_("Maximise a class"),
        N_("CNN: gradient ascent on the input to excite one class"),
        "what_if('maximise')",
    ),
    (
        N_("Maximise a filter"),
        N_("CNN: the input exciting the highlighted conv layer's shown channel"),
        "maximise_filter",
    ),
)


def footer_label(command: Command) -> str:
    """The footer's word for ``command``, in the current language."""
    return _(command.label) if command.label else _(command.title).lower()


def bindings(commands: tuple[Command, ...], priority: bool = False) -> list[Binding]:
    """The Textual bindings of ``commands``; the footer shows the ones marked for it."""
    return [
        Binding(
            c.keys,
            c.action,
            footer_label(c),
            show=c.footer,
            key_display=c.shown if len(c.shown) <= 2 else None,
            priority=priority,
        )
        for c in commands
    ]


def retranslate_bindings(node) -> None:
    """``node``'s bindings relabelled in the current language (after a switch of language):
    Textual keeps a binding's description from when the screen was made."""
    labels = {c.action: footer_label(c) for c in (*DEBUGGER, *GAME, *APP)}
    labels["command_palette"] = _(N_("palette"))  # Textual's own binding of ctrl+p
    for key, found in node._bindings.key_to_bindings.items():
        node._bindings.key_to_bindings[key] = [
            replace(b, description=labels[b.action]) if b.action in labels else b for b in found
        ]


def palette_title(english: str) -> str:
    """A palette entry's title in the current language, followed by the English where that
    differs, so that typing the English name finds it too."""
    shown = _(english)
    return shown if shown == english else f"{shown}  {english}"


def help_markdown() -> str:
    """The keys of every screen, as the help page shows them, in the current language."""
    sections = [
        (_("Stepping and running (the debugger)"), [c for c in DEBUGGER if c.group == "run"]),
        (_("Inspecting (nothing runs)"), [c for c in DEBUGGER if c.group == "inspect"]),
        (_("Optimiser races and GANs"), list(GAME)),
        (_("Everywhere"), list(APP)),
    ]
    header = "| " + " | ".join((_("key"), _("command"), _("does"))) + " |"
    out = ["# " + _("nnsim keys"), ""]
    for title, commands in sections:
        out += [f"## {title}", "", header, "|---|---|---|"]
        out += [f"| `{c.shown}` | {_(c.title)} | {_(c.help)} |" for c in commands]
        out.append("")
    out += [_("`ctrl+p` opens the command palette: every command above, and these:"), ""]
    out += [f"- **{_(title)}**: {_(text)}" for title, text, _action in WHAT_IF]
    out.append(
        "- **"
        + _("Variant: NAME")
        + "**: "
        + _("open one of the lesson's variants; this run becomes the overlay")
    )
    return "\n".join(out) + "\n"
