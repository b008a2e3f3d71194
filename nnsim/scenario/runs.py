"""A lesson's run together with its variants' runs: what a check such as
``relu.grad_norm(dense1) > sigmoid.grad_norm(dense1)`` reads."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..sim import Simulator, parse
from ..sim.conditions import Condition


@dataclass
class Runs:
    """The lesson's own simulator and one per variant, after their runs."""

    main: Simulator
    variants: dict[str, Simulator] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """The scenario kind of the runs ("network", "surface", "gan"): what checks can read."""
        return getattr(self.main, "kind", "network")

    # the Context protocol of nnsim.sim.conditions: plain names read the lesson's own run
    def layer_metric(self, metric: str, layer: str) -> float:
        return self.main.layer_metric(metric, layer)

    def model_metric(self, metric: str):
        return self.main.model_metric(metric)

    def variable(self, name: str) -> float:
        return self.main.variable(name)

    def variant(self, name: str) -> Simulator:
        return self.variants[name]

    def check(self, text: str | Condition) -> tuple[bool, float | bool]:
        """(passed, the value of the check's left-hand side) for one [[expect]] check."""
        condition = text
        if not isinstance(condition, Condition):  # a text: parsed here
            layers = {name: sim.names for name, sim in self.variants.items()}
            condition = parse(text, self.main.names, layers or None, kind=self.kind)
        return bool(condition.evaluate(self)), condition.value(self)
