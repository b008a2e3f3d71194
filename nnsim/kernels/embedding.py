"""Embedding lookup: rows of a table gathered by integer index, and the scatter-add backward."""

from __future__ import annotations

from ._jit import kernel


@kernel
def embedding_forward(indices, table, out):
    # indices (M,) int64, table (V, E), out (M, E): out[m] = table[indices[m]]
    for m in range(indices.size):
        row = indices[m]
        for e in range(table.shape[1]):
            out[m, e] = table[row, e]


@kernel
def embedding_backward(dy, indices, dtable):
    # dy (M, E), dtable (V, E) zeroed here: rows of dy summed into the rows they were read from,
    # serially in index order so repeated indices give bit-identical sums run after run
    dtable[:] = 0
    for m in range(indices.size):
        row = indices[m]
        for e in range(dy.shape[1]):
            dtable[row, e] += dy[m, e]
