"""A GRU decoder with attention over the encoder's states (Bahdanau et al., 2015; Luong et
al., 2015), as one layer after an encoder RNN.

Input: the encoder's states E (T_in, H), one per input step. The decoder is a GRU that runs
for ``steps`` output steps; its inputs are learned vectors Q (steps, H) (one per output
position: this decoder does not feed back its own predictions), and its initial state is the
encoder's last state. At every output step t its state s_t scores every encoder state:

    dot:       score_tj = s_t · e_j / sqrt(H)
    additive:  score_tj = v · tanh(W_q s_t + W_k e_j)

α_t = softmax_j(score_t) is the **attention**: how much output step t reads input step j;
the context c_t = Σ_j α_tj e_j. The output is [c_t ; s_t] (steps, 2H), read by a Dense layer.
``attention`` keeps α (N, steps, T_in) of the last forward pass.

``score="none"`` is the same decoder without attention (Sutskever et al., 2014): the output is
s_t alone (steps, H), so all it knows of the input came through one fixed-size vector, the
encoder's last state (the bottleneck attention removes).
"""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .base import Layer, ShapeError, positive

SCORES = ("dot", "additive", "none")


class AttentionDecoder(Layer):
    kind = "attention"
    penalised = ("W_ih", "W_hh")

    def __init__(
        self, steps: int, score: str = "dot", *, name: str | None = None, frozen: bool = False
    ) -> None:
        super().__init__(name=name, frozen=frozen)
        self.steps = positive("steps", steps)
        if score not in SCORES:
            raise ValueError(f"attention score must be one of {SCORES}, got {score!r}")
        self.score = score
        self.attention: np.ndarray | None = None  # (N, steps, T_in) after a forward pass

    def infer(self, input_shape):
        if len(input_shape) != 2:
            raise ShapeError(
                f"expects the encoder's states (time, hidden) but gets {input_shape}: put a "
                f"recurrent layer with return_sequences before it"
            )
        return (self.steps, input_shape[1] if self.score == "none" else 2 * input_shape[1])

    @property
    def hidden(self) -> int:
        return self.input_shape[1]

    def param_shapes(self):
        h = self.hidden
        shapes = {
            "Q": (self.steps, h),
            "W_ih": (3 * h, h),
            "W_hh": (3 * h, h),
            "b_ih": (3 * h,),
            "b_hh": (3 * h,),
        }
        if self.score == "additive":
            shapes |= {"W_q": (h, h), "W_k": (h, h), "v": (h,)}
        return shapes

    def initial_params(self, rng):
        bound = 1.0 / math.sqrt(self.hidden)  # torch's GRU and Linear bound
        return {
            key: rng.standard_normal(shape) if key == "Q" else rng.uniform(-bound, bound, shape)
            for key, shape in self.param_shapes().items()
        }

    # ---------------------------------------------------------------- forward

    def compute(self, enc):
        p = self.params
        n = enc.shape[0]
        queries = np.ascontiguousarray(np.broadcast_to(p["Q"], (n, *p["Q"].shape)))
        h0 = np.ascontiguousarray(enc[:, -1])  # (N, H)
        states, gru_cache = F.gru(queries, h0, p["W_ih"], p["W_hh"], p["b_ih"], p["b_hh"])
        if self.score == "none":
            self.cache = (gru_cache, states, None, None)
            return states
        scores, score_cache = self._scores(states, enc)  # (N, steps, T_in)
        alpha = F.softmax(scores, axis=-1)
        context = np.matmul(alpha, enc)  # (N, steps, H)
        self.attention = alpha
        self.cache = (gru_cache, states, score_cache, alpha)
        return np.concatenate([context, states], axis=-1)  # (N, steps, 2H)

    def _scores(self, states, enc):
        p = self.params
        if self.score == "dot":
            scale = 1.0 / math.sqrt(self.hidden)
            return np.matmul(states, enc.transpose(0, 2, 1)) * scale, None
        q = np.matmul(states, p["W_q"].T)  # (N, steps, H)
        k = np.matmul(enc, p["W_k"].T)  # (N, T_in, H)
        pre = q[:, :, None, :] + k[:, None, :, :]  # (N, steps, T_in, H)
        u = F.tanh(pre)
        return np.matmul(u, p["v"]), (pre, u)

    # ---------------------------------------------------------------- backward

    def differentiate(self, dy):
        enc = self.input
        gru_cache, states, score_cache, alpha = self.cache
        if self.score == "none":
            denc, grads = np.zeros_like(enc), {}
            dstates = dy
        else:
            denc, dstates, grads = self._attention_backward(dy, enc, states, score_cache, alpha)
        dq_in, dh0, dW_ih, dW_hh, db_ih, db_hh = F.gru_backward(
            np.ascontiguousarray(dstates), gru_cache
        )
        denc[:, -1] += dh0  # the encoder's last state started the decoder
        grads |= {
            "Q": dq_in.sum(axis=0),  # the same queries for every example
            "W_ih": dW_ih,
            "W_hh": dW_hh,
            "b_ih": db_ih,
            "b_hh": db_hh,
        }
        return denc, grads

    def _attention_backward(self, dy, enc, states, score_cache, alpha):
        """dL/d(encoder states), dL/d(decoder states) and the score parameters' gradients
        through the context and the scores."""
        p = self.params
        h = self.hidden
        dcontext, dstates = dy[..., :h], np.ascontiguousarray(dy[..., h:])
        dalpha = np.matmul(dcontext, enc.transpose(0, 2, 1))  # (N, steps, T_in)
        denc = np.matmul(alpha.transpose(0, 2, 1), dcontext)  # (N, T_in, H)
        dscores = F.softmax_backward(dalpha, alpha, axis=-1)
        grads = {}
        if self.score == "dot":
            scale = 1.0 / math.sqrt(h)
            dstates = dstates + np.matmul(dscores, enc) * scale
            denc = denc + np.matmul(dscores.transpose(0, 2, 1), states) * scale
        else:
            pre, u = score_cache
            grads["v"] = np.einsum("nstk,nst->k", u, dscores)
            du = np.ascontiguousarray(dscores[..., None] * p["v"])  # (N, steps, T_in, H)
            dpre = F.activation_backward("tanh", du, pre, u)
            dq, dk = dpre.sum(axis=2), dpre.sum(axis=1)  # (N, steps, H), (N, T_in, H)
            grads["W_q"] = np.einsum("nsh,nsi->hi", dq, states)
            grads["W_k"] = np.einsum("nth,nti->hi", dk, enc)
            dstates = dstates + np.matmul(dq, p["W_q"])
            denc = denc + np.matmul(dk, p["W_k"])
        return denc, dstates, grads

    def macs(self):
        t_in, h = self.input_shape
        gru = self.steps * 3 * h * 2 * h
        if self.score == "none":
            return gru
        attention = 2 * self.steps * t_in * h
        return gru + attention + (self.steps * t_in * h * h if self.score == "additive" else 0)

    def window(self):
        return None

    def options(self):
        return f"{self.steps}, score={self.score!r}"
