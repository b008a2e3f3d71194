"""The event log: a RichLog that takes a line without laying the whole screen out again.

A RichLog grows its virtual size with every line, and a virtual size change asks for a layout
of the whole screen (every pane measured and redrawn): most of what a key cost once the views
were incremental. The log's own size never depends on its lines, so a line only updates its
scrollbars, as a layout pass would (``_scroll_update``); when a scrollbar appears, that still
lays the screen out.

The scroll to the new last line is made at once, not after the next refresh as RichLog does:
that deferred scroll drew the log, its scrollbar and everything under them a second time for
every key (two frames per `n` instead of one). With the virtual size and the scrollbars already
updated here, the scroll's end is known without waiting for a frame."""

from __future__ import annotations

from textual.widgets import RichLog

from nnsim.i18n import _
from nnsim.session import phase_arrow

from .status import phase_word


class EventLog(RichLog):
    _writing = False

    def write(self, content, width=None, expand=False, shrink=True, scroll_end=None, animate=False):
        # before its first resize RichLog keeps the line to render later, and scrolls then
        sized = getattr(self, "_size_known", True) and bool(self.container_size)
        follow = self.auto_scroll if scroll_end is None else scroll_end
        self._writing = True
        try:
            result = super().write(
                content, width, expand, shrink, False if sized else scroll_end, animate
            )
        finally:
            self._writing = False
        if sized:
            self._scroll_update(self.virtual_size)
            if follow:
                self.scroll_end(animate=animate, immediate=True, x_axis=False)
        return result

    def refresh(self, *regions, repaint: bool = True, layout: bool = False, recompose=False):
        if self._writing:  # the virtual size changed: the scrollbars follow, after write
            layout = False
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)


def event_line(event) -> str:
    """One micro-op for the event log, in the current language (the layer's name as is)."""
    arrow = phase_arrow(event.phase)
    where = f" {event.layer}" if event.layer else ""
    step = f" t={event.t}" if event.t is not None else ""
    phase = phase_word(event.phase)
    iteration = _("it {n}").format(n=event.iteration)
    text = f"#{event.index} {iteration} {arrow} {phase}{where}{step}: {_(event.label)}"
    return text + (f"  [{_('stopped')}: {event.stop}]" if event.stop else "")
