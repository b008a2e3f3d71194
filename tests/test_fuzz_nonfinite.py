"""NaN and inf injected anywhere at any time: into a parameter, a running statistic, a gradient,
the input batch or an optimiser slot, between runs, after a rewind or at any micro-op of an
iteration, of a small MLP, a CNN with BatchNorm and an LSTM.

Two simulators are made alike, brought to the same point and given the same value; one then
steps micro-op by micro-op (the reference: every micro-op checked), the other is driven by
``run``, ``continue_`` or ``step``. Both must stop at the same micro-op, for the same array, with
the same trace and the same model and optimiser state, bit for bit: so the whole run never
reverts what was written and never misses a stop stepping makes. A value written between
iterations into the state (a parameter, a buffer, an optimiser slot) stops before the next
iteration, naming the array, with the value still there.

``NNSIM_FUZZ_EXAMPLES`` sets the examples per model (30 by default, seeded).
"""

from __future__ import annotations

import numpy as np
import pytest
from fuzzing import FUZZ
from hypothesis import given
from hypothesis import strategies as st

from nnsim.data import spirals
from nnsim.layers import LSTM, BatchNorm, Conv2d, Dense, Flatten, MaxPool2d, ReLU, Tanh
from nnsim.losses import CrossEntropyLoss, MSELoss
from nnsim.model import Sequential
from nnsim.optim import SGD, Adam
from nnsim.sim import Simulator

HORIZON = 2  # iterations each simulator runs after the injection, at most


def mlp() -> Simulator:
    model = Sequential([Dense(6), Tanh(), Dense(3)], input_shape=(2,), seed=0)
    data = spirals(24, classes=3, seed=1)
    return Simulator(model, CrossEntropyLoss(), SGD(0.1, momentum=0.9), data, batch_size=8)


def cnn() -> Simulator:
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 1, 6, 6)), rng.integers(0, 2, 16)
    layers = [Conv2d(2, 3), BatchNorm(), ReLU(), MaxPool2d(2), Flatten(), Dense(2)]
    model = Sequential(layers, input_shape=(1, 6, 6), seed=0)
    return Simulator(model, CrossEntropyLoss(), Adam(0.01), (x, y), batch_size=8)


def lstm() -> Simulator:
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((12, 3, 2)), rng.standard_normal((12, 2))
    model = Sequential([LSTM(3, return_sequences=False), Dense(2)], input_shape=(3, 2), seed=0)
    return Simulator(model, MSELoss(), SGD(0.05, momentum=0.5), (x, y), batch_size=6)


MODELS = {"mlp": mlp, "cnn": cnn, "lstm": lstm}
TARGETS = ("parameter", "buffer", "gradient", "batch", "optimiser")
STATE = ("parameter", "buffer", "optimiser")  # what a command checks before an iteration


def candidates(sim: Simulator, target: str) -> list[tuple[str, np.ndarray]]:
    """(label, array) of every array of a kind that exists now."""
    leaves = sim.leaves
    if target == "parameter":
        return [(f"{lay.name}.{k}", a) for lay in leaves for k, a in lay.params.items()]
    if target == "buffer":
        return [(f"{lay.name}.{k}", a) for lay in leaves for k, a in lay.running.items()]
    if target == "gradient":
        return [(f"{lay.name}.grads.{k}", a) for lay in leaves for k, a in lay.grads.items()]
    if target == "batch":
        return [] if sim.batch is None else [("batch.x", sim.batch[0])]
    state = sim.optimizer.state
    return [
        (f"the optimiser's {s} of {k}", a)
        for k, slots in state.items()
        for s, a in slots.items()
        if a.dtype.kind == "f"
    ]


def bring(sim: Simulator, before: int, rewind: int, micro_ops: int) -> None:
    """Whole iterations, then a rewind or some micro-ops of the next iteration."""
    sim.run(before)
    if rewind:
        sim.rewind(rewind)
    for _ in range(micro_ops):
        sim.step()


def state_of(sim: Simulator) -> dict[str, np.ndarray]:
    arrays = {**sim.model.parameters(), **sim.model.buffers()}
    for key, slots in sim.optimizer.state.items():
        arrays.update({f"{key}/{slot}": a for slot, a in slots.items()})
    return {k: v.copy() for k, v in arrays.items()}


def drive(sim: Simulator, driver: str):
    target = sim.completed + HORIZON
    if driver == "run":
        return sim.run(HORIZON)
    if driver == "continue_":
        sim.iterations = target
        return sim.continue_()
    event = sim.step()
    while event.stop is None and sim.completed < target:
        event = sim.step()
    return event


def where(event) -> tuple | None:
    if event is None or event.stop is None:
        return None
    return (event.index, event.iteration, event.phase, event.what, event.stop)


@pytest.mark.parametrize("model", MODELS)
@FUZZ
@given(data=st.data())
def test_an_injected_nan_or_inf_stops_where_stepping_does_and_is_never_undone(model, data):
    draw = data.draw
    before = draw(st.integers(0, 3), label="whole iterations first")
    rewind = draw(st.integers(0, before), label="then rewound") if draw(st.booleans()) else 0
    between = draw(st.booleans(), label="injected between iterations")
    micro_ops = 0 if between else draw(st.integers(1, 40), label="micro-ops stepped")
    reference, driven = MODELS[model](), MODELS[model]()
    for sim in (reference, driven):
        bring(sim, before, rewind, micro_ops)
    # a step that ended the iteration leaves the run between iterations too
    boundary = not reference.stepper.frames
    kinds = [t for t in TARGETS if candidates(reference, t)]
    target = draw(st.sampled_from(kinds), label="target")
    arrays = candidates(reference, target)
    choice = draw(st.integers(0, len(arrays) - 1), label="array")
    label, array = arrays[choice]
    position = draw(st.integers(0, array.size - 1), label="position")
    value = draw(st.sampled_from([np.nan, np.inf, -np.inf]), label="value")
    for sim in (reference, driven):
        candidates(sim, target)[choice][1].reshape(-1)[position] = value
    written = state_of(driven)
    driver = draw(st.sampled_from(["run", "continue_", "step"]), label="driver")

    expected, event = drive(reference, "step"), drive(driven, driver)

    assert where(event) == where(expected)  # the same micro-op, array, count and detail
    assert driven.completed == reference.completed
    assert driven.trace.count == reference.trace.count
    count = driven.trace.count
    np.testing.assert_array_equal(driven.trace.metrics[:count], reference.trace.metrics[:count])
    for name, column in reference.trace.model.items():
        np.testing.assert_array_equal(driven.trace.model[name][:count], column[:count])
    after, stepped = state_of(driven), state_of(reference)
    assert after.keys() == stepped.keys()
    for key, values in stepped.items():
        np.testing.assert_array_equal(after[key], values, err_msg=key)
    if boundary and target in STATE:
        # stopped before the iteration, naming the array; nothing ran, nothing undone
        assert event.stop is not None and event.what == "check"
        assert event.stop.detail.startswith(f"{label} has ")
        assert "written from outside the simulator" in event.stop.detail
        for key, values in written.items():
            np.testing.assert_array_equal(after[key], values, err_msg=key)
