"""The model tree: layers and blocks, shapes and parameter counts, verdict badges, and the
micro-op that runs next (▶ forward, ◀ backward)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Tree

from nnsim.i18n import N_, _
from nnsim.session import View

from .redraw import same_content

#: verdict key -> (the badge's word, translated where shown; its style)
BADGES = {
    "vanishing": (N_("vanishing"), "black on yellow"),
    "exploding": (N_("exploding"), "white on red"),
    "saturated": (N_("saturated"), "black on magenta"),
    "dead": (N_("dead"), "white on dark_red"),
}


class ModelTree(Tree):
    """One node per layer or block; the cursor is the inspected layer."""

    DEFAULT_CSS = "ModelTree { min-width: 30; }"

    def __init__(self, **kwargs) -> None:
        super().__init__("model", **kwargs)
        self.show_root = False
        self.guide_depth = 2
        self._layer_nodes = {}
        self._labels: dict[str, Text] = {}  # as drawn: a label is set only when it changes
        self._shown: tuple = ()

    def show(self, view: View, selected: str | None) -> None:
        if not self._layer_nodes:
            self._populate(view)
        drawn = (view.layers, view.next_layer, view.phase)
        if drawn != self._shown:  # the same rows, the same arrow: nothing to relabel
            self._shown = drawn
            for row in view.layers:
                label = self._label(row, view)
                if not same_content(label, self._labels.get(row.name)):
                    self._labels[row.name] = label
                    self._layer_nodes[row.name].set_label(label)
        if selected in self._layer_nodes and self.cursor_node is not self._layer_nodes[selected]:
            self.move_cursor(self._layer_nodes[selected])

    def _populate(self, view: View) -> None:
        parents = {-1: self.root}
        for row in view.layers:
            parent = parents[row.depth - 1]
            node = (
                parent.add(row.name, data=row.name, expand=True)
                if row.block
                else (parent.add_leaf(row.name, data=row.name))
            )
            parents[row.depth] = node
            self._layer_nodes[row.name] = node
        self.root.expand_all()

    @staticmethod
    def _label(row, view: View) -> Text:
        text = Text()
        if row.name == view.next_layer:
            arrow = "▶ " if view.phase == "forward" else "◀ "
            text.append(arrow, style="bold green")
        else:
            text.append("  ")
        if row.breakpoint:
            text.append("● ", style="bold red")
        text.append(row.name, style="bold" if row.name == view.next_layer else "")
        # the verdict first: in a narrow pane the line's end is cut, and the badge matters most
        if row.verdict in BADGES:
            label, style = BADGES[row.verdict]
            text.append(" ")
            text.append(" " + _(label) + " ", style=style)
        if row.frozen:
            text.append("  " + _("frozen"), style="bold cyan")
        shape = "x".join(str(s) for s in row.output_shape)
        text.append(f"  {row.kind} {shape}", style="dim")
        if row.params:
            text.append(f"  {row.params:,}p", style="dim")
        return text
