"""Data: the shipped real data sets, generators, 2-D surfaces, splits, batches, augmentation.

Nothing is downloaded: the real data sets ship in nnsim/data/files (credits in its README.md)
and everything else is generated from a seed.
"""

from .batching import (
    BatchStream,
    Split,
    batches,
    one_hot,
    random_flip,
    random_shift,
    split,
    upsample,
)
from .datasets import (
    Dataset,
    decode_text,
    encode_text,
    load_breast_cancer,
    load_corpus,
    load_digits,
    load_iris,
    text_windows,
)
from .surfaces import SURFACES, Surface
from .synthetic import (
    adding_problem,
    blobs,
    copy_task,
    gan_target_1d,
    gan_target_2d,
    imbalanced,
    logic_gate,
    moons,
    reverse_sequences,
    sine_waves,
    spirals,
)

__all__ = [
    "adding_problem",
    "batches",
    "BatchStream",
    "blobs",
    "copy_task",
    "reverse_sequences",
    "Dataset",
    "decode_text",
    "encode_text",
    "gan_target_1d",
    "gan_target_2d",
    "imbalanced",
    "load_breast_cancer",
    "load_corpus",
    "load_digits",
    "load_iris",
    "logic_gate",
    "moons",
    "one_hot",
    "random_flip",
    "random_shift",
    "sine_waves",
    "Split",
    "split",
    "spirals",
    "SURFACES",
    "Surface",
    "text_windows",
    "upsample",
]
