"""nnsim.functional: the public array API (see DESIGN.md, "The array API").

Every function accepts float32 or float64 arrays (C-contiguous or not), returns the dtype of its
primary input, never modifies its inputs (batch_norm's running statistics and the clip_grad_*
gradients are updated in place by design), and raises ValueError naming the argument and
printing both shapes on a mismatch. Conventions follow PyTorch.

Every refusal's message starts with the function's name. TypeError: an argument of the wrong
type (an array of a dtype the function does not take, an object that is not the cache, rng or
dict it needs). ValueError: everything else (shapes, sizes, and hyperparameters that are not a
finite number of the right kind or are out of range; ints above 2**31 - 1; a result that could
never fit in this machine's memory, refused before allocating). The same holds for nnsim.init
and the optimiser constructors. tests/test_fuzz_functional.py holds every function to this.
"""

from .activations import (
    ACTIVATIONS,
    activation_backward,
    elu,
    leaky_relu,
    log_softmax,
    log_softmax_backward,
    maxout,
    maxout_backward,
    relu,
    sigmoid,
    softmax,
    softmax_backward,
    softplus,
    softsign,
    tanh,
)
from .clip import clip_grad_norm, clip_grad_value, global_norm
from .conv import conv2d, conv2d_backward, conv2d_output_shape
from .dense import linear, linear_backward
from .embedding import embedding, embedding_backward, l1_penalty, l2_penalty
from .losses import binary_cross_entropy, cross_entropy, hinge_loss, mae_loss, mse_loss
from .norm import BatchNormCache, batch_norm, batch_norm_backward, dropout, dropout_backward
from .pool import (
    avg_pool2d,
    avg_pool2d_backward,
    max_pool2d,
    max_pool2d_backward,
    pool_output_shape,
    pool_output_size,
)
from .recurrent import (
    RecurrentCache,
    RecurrentStepper,
    grad_norms_through_time,
    gru,
    gru_backward,
    lstm,
    lstm_backward,
    rnn,
    rnn_backward,
)

__all__ = [
    "activation_backward",
    "ACTIVATIONS",
    "avg_pool2d",
    "avg_pool2d_backward",
    "batch_norm",
    "batch_norm_backward",
    "BatchNormCache",
    "binary_cross_entropy",
    "clip_grad_norm",
    "clip_grad_value",
    "conv2d",
    "conv2d_backward",
    "conv2d_output_shape",
    "cross_entropy",
    "dropout",
    "dropout_backward",
    "elu",
    "embedding",
    "embedding_backward",
    "global_norm",
    "grad_norms_through_time",
    "gru",
    "gru_backward",
    "hinge_loss",
    "l1_penalty",
    "l2_penalty",
    "leaky_relu",
    "linear",
    "linear_backward",
    "log_softmax",
    "log_softmax_backward",
    "lstm",
    "lstm_backward",
    "mae_loss",
    "max_pool2d",
    "max_pool2d_backward",
    "maxout",
    "maxout_backward",
    "mse_loss",
    "pool_output_shape",
    "pool_output_size",
    "RecurrentCache",
    "RecurrentStepper",
    "relu",
    "rnn",
    "rnn_backward",
    "sigmoid",
    "softmax",
    "softmax_backward",
    "softplus",
    "softsign",
    "tanh",
]
