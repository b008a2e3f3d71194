"""A lesson's run together with its variants' runs: what a check such as
``relu.grad_norm(dense1) > sigmoid.grad_norm(dense1)`` reads."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..sim import Simulator, parse
from ..sim.conditions import Condition


@dataclass(frozen=True)
class RunReport:
    """How one run ended, as `nnsim run` reports it: the last batch's loss, the accuracy on
    the whole training set in evaluation mode, on the validation data (NaN without any),
    and on the last mini-batch (training mode); NaN where accuracy has no meaning."""

    name: str
    completed: int
    final_loss: float
    train_accuracy: float
    val_accuracy: float
    batch_accuracy: float

    @classmethod
    def of(cls, name: str, sim: Simulator) -> RunReport:
        validation = sim.validation
        val = math.nan
        if validation is not None:
            val = sim.trainer.accuracy_on(*validation)
        return cls(name, sim.completed, sim.loss_value, sim.train_accuracy(), val, sim.accuracy)

    def as_dict(self) -> dict:
        """The JSON form (``runs`` of ``nnsim run --json``): null for what was not measured."""
        values = {
            "final_loss": self.final_loss,
            "train_accuracy": self.train_accuracy,
            "val_accuracy": self.val_accuracy,
            "batch_accuracy": self.batch_accuracy,
        }
        return {"name": self.name} | {
            key: value if math.isfinite(value) else None for key, value in values.items()
        }


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

    def reports(self, main_name: str) -> list[RunReport]:
        """How each network run ended: the lesson's own (named ``main_name``) first, then
        each variant's in the lesson's order."""
        return [RunReport.of(main_name, self.main)] + [
            RunReport.of(name, sim) for name, sim in self.variants.items()
        ]

    def check(self, text: str | Condition) -> tuple[bool, float | bool]:
        """(passed, the value of the check's left-hand side) for one [[expect]] check."""
        condition = text
        if not isinstance(condition, Condition):  # a text: parsed here
            layers = {name: sim.names for name, sim in self.variants.items()}
            condition = parse(text, self.main.names, layers or None, kind=self.kind)
        return bool(condition.evaluate(self)), condition.value(self)
