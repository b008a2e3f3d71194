"""Text generation from a character-level model, and a measure of how word-like it is.

A character model maps a window of ``steps`` token indices (steps,) to scores (steps, V) for
the next character at every position. ``TextSampler.sample`` feeds it its own output: the last
``steps`` characters in, one character drawn from softmax(scores / temperature) of the last
position out, ``length`` times (one-to-many).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from . import functional as F
from .data.datasets import decode_text

Predict = Callable[[np.ndarray], np.ndarray]  # (N, steps) token indices -> (N, steps, V) scores

_WORD = re.compile(r"[a-z]+")


class TextSampler:
    """Samples text from a model trained on windows of ``corpus``; ``known_words`` scores it.

    Sampling is seeded (``seed``): the same model state always gives the same text, so the
    score is a metric that can be compared from iteration to iteration.
    """

    def __init__(
        self,
        corpus: str,
        alphabet: Sequence[str],
        steps: int,
        *,
        length: int = 160,
        temperature: float = 0.5,
        seed: int = 0,
    ) -> None:
        if not 1 <= steps < len(corpus):
            raise ValueError(f"steps must be in [1, {len(corpus) - 1}], got {steps}")
        if not temperature > 0:
            raise ValueError(f"temperature must be above 0, got {temperature}")
        self.alphabet = tuple(alphabet)
        lookup = {ch: i for i, ch in enumerate(self.alphabet)}
        missing = sorted(set(corpus) - set(lookup))
        if missing:
            raise ValueError(f"the corpus has characters outside the alphabet: {missing}")
        self.steps = int(steps)
        self.prompt = corpus[: self.steps]
        self.prompt_indices = np.array([lookup[ch] for ch in self.prompt], dtype=np.int64)
        self.vocabulary = frozenset(_WORD.findall(corpus.lower()))
        self.length, self.temperature, self.seed = int(length), float(temperature), seed

    def sample(self, predict: Predict, length: int | None = None) -> str:
        """``length`` characters generated after the prompt (the corpus's first ``steps``)."""
        rng = np.random.default_rng(self.seed)
        window = self.prompt_indices.copy()  # (steps,)
        out = np.empty(self.length if length is None else int(length), dtype=np.int64)
        for i in range(len(out)):
            scores = predict(window[None, :])[0, -1]  # (V,) for the next character
            probs = F.softmax((scores / self.temperature)[None, :])[0].astype(np.float64)
            out[i] = rng.choice(len(probs), p=probs / probs.sum())
            window = np.roll(window, -1)
            window[-1] = out[i]
        return decode_text(out, self.alphabet)

    def known_words(self, text: str) -> float:
        """The fraction of the words in ``text`` that occur in the corpus (0 without words).
        Random characters score near 0; a model that has learnt the spelling near 1. The
        first and last words may be cut by the sample's ends and are not counted."""
        words = _WORD.findall(text.lower())[1:-1]
        if not words:
            return 0.0
        return sum(w in self.vocabulary for w in words) / len(words)
