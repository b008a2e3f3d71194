"""The event log: a RichLog that takes a line without laying the whole screen out again.

A RichLog grows its virtual size with every line, and a virtual size change asks for a layout
of the whole screen (every pane measured and redrawn): most of what a key cost once the views
were incremental. The log's own size never depends on its lines, so a line only updates its
scrollbars, as a layout pass would (``_scroll_update``); when a scrollbar appears, that still
lays the screen out."""

from __future__ import annotations

from textual.widgets import RichLog


class EventLog(RichLog):
    _writing = False

    def write(self, *args, **kwargs):
        self._writing = True
        try:
            result = super().write(*args, **kwargs)
        finally:
            self._writing = False
        if self.container_size:
            self._scroll_update(self.virtual_size)
        return result

    def refresh(self, *regions, repaint: bool = True, layout: bool = False, recompose=False):
        if self._writing:  # the virtual size changed: the scrollbars follow, after write
            layout = False
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)
