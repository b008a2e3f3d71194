"""The Session's drawn views beside the View: the decision map (tab "map"), an activation's
f and f' (the weights tab of an activation layer) and the activation std across depth. Each
is frozen, computed under the session's lock and kept until what it depends on changes: the
map when an iteration completes or the selection changes (never per key), the curves when the
layer's forward pass runs again, the std line when a micro-op runs."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

from ..i18n import _
from .curves import ActivationCurves, activation_curves
from .depth import ActivationStd, activation_std
from .maps import DecisionMap, decision_map
from .view_parts import moment


@dataclass(frozen=True)
class Figures:
    """What the interface draws beside the View: ``inspector`` replaces the tensor's heatmap
    (None: the heatmap stays); ``depth`` goes under the gradient flow."""

    inspector: DecisionMap | ActivationCurves | None
    depth: ActivationStd | None


class FigureViews:
    """Mixed into Session (which has ``lock``, ``run``, ``kind``, ``selected``, ``tab`` and
    ``index``)."""

    _figure_cache: dict[str, tuple[Hashable, object]]

    def decision_map(self, rows: int = 48, cols: int = 96) -> DecisionMap:
        """The input-space decision map for the selection (see nnsim.session.maps)."""
        with self.lock:
            return self._decision_map(rows, cols)

    def activation_curves(self, layer: str | None = None) -> ActivationCurves | None:
        """f and f' of activation ``layer`` (default: the selected one); None for a layer
        that is not an activation."""
        with self.lock:
            return self._curves(layer or self.selected)

    def activation_std(self) -> ActivationStd | None:
        """Each activation layer's output std across depth (None for a race or a GAN)."""
        with self.lock:
            return self._std()

    def try_figures(self, timeout: float = 0.05) -> Figures | None:
        """The Figures for the current tab and selection, or None if a command holds the
        lock for longer than ``timeout``."""
        if not self.lock.acquire(timeout=timeout):
            return None
        try:
            inspector = None
            if self.kind == "network" and self.tab == "map":
                inspector = self._decision_map(48, 96)
            elif self.kind == "network" and self.tab == "weights" and self.selected:
                inspector = self._curves(self.selected)
            return Figures(inspector, self._std())
        finally:
            self.lock.release()

    def _decision_map(self, rows: int, cols: int) -> DecisionMap:
        sim = self.run
        if self.kind != "network":
            no_model = _("map: a {kind} scenario has no model with 2 inputs")
            return DecisionMap(no_model.format(kind=self.kind))
        key = (sim.completed, sim.trace.count, self.selected, self.index, rows, cols)
        return self._cached(
            "map", key, lambda: decision_map(sim, self.selected, self.index, rows, cols)
        )

    def _curves(self, layer: str | None) -> ActivationCurves | None:
        """Recomputed when the layer's input is a new array (its forward pass ran again),
        not on every micro-op: a redraw of the curves is most of a key's budget."""
        if self.kind != "network" or layer is None:
            return None
        inputs = self.run.layer(layer).input
        cache = self.__dict__.setdefault("_figure_cache", {})
        held = cache.get("curves")
        if held is not None and held[0][0] == layer and held[0][1] is inputs:
            return held[1]
        value = activation_curves(self.run.layer(layer))
        cache["curves"] = ((layer, inputs), value)
        return value

    def _std(self) -> ActivationStd | None:
        if self.kind != "network":
            return None
        sim = self.run
        return self._cached("std", moment(sim), lambda: activation_std(sim))

    def _cached(self, part: str, key: Hashable, compute: Callable[[], object]):
        cache = self.__dict__.setdefault("_figure_cache", {})
        held = cache.get(part)
        if held is not None and held[0] == key:
            return held[1]
        value = compute()
        cache[part] = (key, value)
        return value
