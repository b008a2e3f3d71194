"""The plain training loop the tests share (the simulator owns stepping in the product)."""

import numpy as np

#: The four XOR points and a 2-4-2 tanh network: the smallest lesson, for tests to complete
#: with their own [lesson], [train] and checks.
XOR_DATA_AND_MODEL = """
[data]
source = "logic"
kind = "xor"
[model]
layers = [ { type = "dense", units = 4, activation = "tanh" }, { type = "dense", units = 2 } ]
loss = "cross_entropy"
"""

#: The same lesson core trained with Adam long enough to solve XOR (the figures draw its lines)
XOR_WITH_ADAM = (
    XOR_DATA_AND_MODEL
    + """[train]
optimizer = "adam"
lr = 0.05
batch_size = 4
iterations = 40
"""
)


def train_steps(model, loss, x, y, optimizer, steps: int) -> list[float]:
    """Run ``steps`` full-batch updates on (x, y); return the loss before each update."""
    losses = []
    for _ in range(steps):
        value, dpred = loss(model.forward(x), y)
        model.backward(dpred)
        optimizer.step(model.trainable_parameters(), model.gradients())
        losses.append(float(value))
    assert all(np.isfinite(losses)), losses
    return losses
