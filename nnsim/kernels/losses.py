"""Losses: each kernel returns the scalar loss and fills the gradient with respect to its input.

The loss itself is summed in float64 on purpose: it is one reduction over the whole batch, and
a float32 running sum over many elements loses digits that the learner sees in the loss curve.
Gradients stay in the input's dtype.
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel

# PyTorch clamps log(p) at -100 in binary_cross_entropy and the gradient's denominator at 1e-12.
BCE_LOG_FLOOR = -100.0
BCE_GRAD_EPS = 1e-12


@kernel
def mse_forward_backward(pred, target, dpred):
    n = pred.size
    scale = pred.dtype.type(2.0 / n)
    total = 0.0
    for i in range(n):
        diff = pred[i] - target[i]
        total += np.float64(diff) * np.float64(diff)
        dpred[i] = scale * diff
    return total / n


@kernel
def mae_forward_backward(pred, target, dpred):
    n = pred.size
    scale = pred.dtype.type(1.0 / n)
    zero = pred.dtype.type(0)
    total = 0.0
    for i in range(n):
        diff = pred[i] - target[i]
        total += abs(np.float64(diff))
        if diff > 0:
            dpred[i] = scale
        elif diff < 0:
            dpred[i] = -scale
        elif diff == 0:
            dpred[i] = zero
        else:  # NaN: sign(nan) is nan in PyTorch
            dpred[i] = diff
    return total / n


@kernel
def cross_entropy_forward_backward(logits, labels, weight, dlogits):
    # logits (N, C), labels (N,), weight (C,); weighted mean as in torch.nn.functional.cross_entropy:
    # sum_i w[y_i] * nll_i / sum_i w[y_i]. Returns (loss, -1), or (nan, r) for the first row r
    # whose label is not a class, having read nothing by it: the caller raises. (Checking here
    # saves the caller two NumPy reductions on every training step.)
    n_rows, n_classes = logits.shape
    for r in range(n_rows):
        if labels[r] < 0 or labels[r] >= n_classes:
            return np.nan, r
    weight_sum = 0.0
    for r in range(n_rows):
        weight_sum += np.float64(weight[labels[r]])
    total = 0.0
    for r in range(n_rows):
        m = logits[r, 0]
        for c in range(1, n_classes):
            if logits[r, c] > m:
                m = logits[r, c]
        exp_sum = logits.dtype.type(0)
        for c in range(n_classes):
            e = np.exp(logits[r, c] - m)
            dlogits[r, c] = e
            exp_sum += e
        label = labels[r]
        w = weight[label]
        log_prob = logits[r, label] - m - np.log(exp_sum)
        total -= np.float64(w) * np.float64(log_prob)
        scale = w / logits.dtype.type(weight_sum)
        for c in range(n_classes):
            dlogits[r, c] = dlogits[r, c] / exp_sum * scale
        dlogits[r, label] -= scale
    return total / weight_sum, -1


@kernel
def binary_cross_entropy_forward_backward(p, target, dp):
    n = p.size
    one = p.dtype.type(1)
    eps = p.dtype.type(BCE_GRAD_EPS)
    inv_n = p.dtype.type(1.0 / n)
    total = 0.0
    for i in range(n):
        pi = p[i]
        ti = target[i]
        log_p = max(np.log(np.float64(pi)), BCE_LOG_FLOOR)
        log_q = max(np.log(1.0 - np.float64(pi)), BCE_LOG_FLOOR)
        if pi != pi:  # max() would hide a NaN probability
            log_p = np.float64(pi)
        total -= np.float64(ti) * log_p + (1.0 - np.float64(ti)) * log_q
        dp[i] = (pi - ti) / max((one - pi) * pi, eps) * inv_n
        if pi != pi:
            dp[i] = pi
    return total / n


@kernel
def hinge_forward_backward(scores, labels, margin, dscores):
    # Multi-class SVM (CS231n): sum over j != y of max(0, s_j - s_y + margin), mean over the batch.
    n_rows, n_classes = scores.shape
    inv_n = scores.dtype.type(1.0 / n_rows)
    zero = scores.dtype.type(0)
    m = scores.dtype.type(margin)
    total = 0.0
    for r in range(n_rows):
        label = labels[r]
        correct = scores[r, label]
        violations = 0
        for c in range(n_classes):
            dscores[r, c] = zero
            if c == label:
                continue
            slack = scores[r, c] - correct + m
            if slack > 0:
                total += np.float64(slack)
                dscores[r, c] = inv_n
                violations += 1
            elif slack != slack:
                total += np.float64(slack)
                dscores[r, c] = slack
        dscores[r, label] = -violations * inv_n
    return total / n_rows
