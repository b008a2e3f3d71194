"""The keys at the bottom of the debugger and game screens: Textual's compact Footer, remade only
when the keys it shows change."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey  # not exported by textual.widgets


class KeyFooter(Footer):
    """``Footer(compact=True)`` at a fraction of the cost: Textual remakes every key whenever
    the screen's bindings may have changed (three times while the debugger opens, each time
    with the same keys), and each new key restyled itself on mount to become compact."""

    def __init__(self, **kwargs) -> None:
        super().__init__(compact=True, **kwargs)
        self._drawn: tuple | None = None  # the keys as last composed

    def _keys(self) -> tuple:
        """What the footer shows: each binding shown, whether it is enabled, its tooltip, its
        key; and the command palette's key (hidden bindings, such as the focused tree's
        arrows, change nothing drawn)."""
        get_key_display = self.app.get_key_display
        palette = self.app.COMMAND_PALETTE_BINDING
        return tuple(
            (key, binding, enabled, tooltip, get_key_display(binding))
            for key, (_node, binding, enabled, tooltip) in self.screen.active_bindings.items()
            if binding.show or key == palette
        )

    async def recompose(self) -> None:
        if self.is_attached and self._keys() == self._drawn:
            return
        await super().recompose()

    def compose(self) -> ComposeResult:
        # (not drawn with the screen's first frame: keys composed while the screen mounts bind
        # their compact style to it, and the screen was never freed)
        if self._bindings_ready:
            self._drawn = self._keys()
        for widget in super().compose():
            if isinstance(widget, FooterKey):  # compact from the start: no restyle on mount
                widget.set_class(self.compact, "-compact", update=False)
            yield widget
