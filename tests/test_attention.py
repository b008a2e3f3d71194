"""The attention decoder: its equations against PyTorch autograd, and against finite
differences, for dot-product and additive scores and without attention (score "none")."""

import math

import numpy as np
import pytest

import nnsim
from nnsim.layers import GRU, AttentionDecoder, Dense, Embedding
from nnsim.losses import MSELoss
from nnsim.model import Sequential


def _model(score, seed=3):
    return Sequential(
        [GRU(5, name="enc"), AttentionDecoder(3, score=score, name="att"), Dense(4)],
        input_shape=(4, 2),
        seed=seed,
        input_gradients=True,
    )


@pytest.mark.parametrize("score", ["dot", "additive", "none"])
def test_gradients_match_finite_differences(score, rng):
    model = _model(score)
    x = rng.standard_normal((3, 4, 2))
    target = rng.standard_normal(model.forward(x).shape)
    errors = nnsim.gradcheck(model, MSELoss(), x, target)
    assert {"att.Q", "att.W_ih", "input"} <= set(errors)
    # central differences resolve small gradient elements to ~1e-5 relative here (a few
    # W_hh entries are ~1e-6); the exact comparison is the PyTorch one below (1e-9)
    assert max(errors.values()) < 2e-4, errors
    assert np.median(list(errors.values())) < 1e-6


@pytest.mark.parametrize("score", ["dot", "additive", "none"])
def test_matches_pytorch_autograd(score, rng):
    torch = pytest.importorskip("torch")
    layer = AttentionDecoder(3, score=score, name="att")
    Sequential([layer], input_shape=(4, 5), seed=1).materialize()
    enc = rng.standard_normal((2, 4, 5))
    out = layer.forward(enc)  # (2, 3, 10), or the states alone (2, 3, 5) without attention
    dy = rng.standard_normal(out.shape)
    denc = layer.backward(dy)

    t = {k: torch.tensor(v, requires_grad=True) for k, v in layer.params.items()}
    e = torch.tensor(enc, requires_grad=True)
    gru = torch.nn.GRU(5, 5, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        for name, theirs in (("W_ih", "weight_ih_l0"), ("W_hh", "weight_hh_l0")):
            getattr(gru, theirs).copy_(t[name])
        for name, theirs in (("b_ih", "bias_ih_l0"), ("b_hh", "bias_hh_l0")):
            getattr(gru, theirs).copy_(t[name])
    states, _ = gru(t["Q"].expand(2, 3, 5), e[:, -1][None])
    if score == "none":
        theirs = states
    else:
        if score == "dot":
            scores = states @ e.transpose(1, 2) / math.sqrt(5)
        else:
            u = torch.tanh((states @ t["W_q"].T)[:, :, None] + (e @ t["W_k"].T)[:, None])
            scores = u @ t["v"]
        alpha = torch.softmax(scores, dim=-1)
        theirs = torch.cat([alpha @ e, states], dim=-1)
        np.testing.assert_allclose(layer.attention, alpha.detach().numpy(), rtol=1e-10)
    theirs.backward(torch.tensor(dy))
    np.testing.assert_allclose(out, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(denc, e.grad.numpy(), rtol=1e-9, atol=1e-12)
    for name, param in (("W_ih", gru.weight_ih_l0), ("W_hh", gru.weight_hh_l0)):
        np.testing.assert_allclose(layer.grads[name], param.grad.numpy(), rtol=1e-9, atol=1e-12)
    torch_grads = {"Q": t["Q"].grad}
    if score == "additive":
        torch_grads |= {k: t[k].grad for k in ("W_q", "W_k", "v")}
    for name, grad in torch_grads.items():
        np.testing.assert_allclose(layer.grads[name], grad.numpy(), rtol=1e-9, atol=1e-12)


def test_attention_rows_are_distributions_over_the_input_steps(rng):
    model = Sequential(
        [Embedding(6, 4), GRU(8), AttentionDecoder(5, name="att"), Dense(6)],
        input_shape=(7,),
    )
    model.forward(rng.integers(0, 6, (3, 7)))
    alpha = model.layer("att").attention  # (3, 5, 7): output step x input step
    assert alpha.shape == (3, 5, 7)
    np.testing.assert_allclose(alpha.sum(axis=-1), 1.0, rtol=1e-12)


def test_without_attention_only_the_encoders_last_state_reaches_the_output(rng):
    """The bottleneck: the decoder without attention neither sees nor sends a gradient to any
    encoder state but the last, and keeps no attention weights."""
    layer = AttentionDecoder(3, score="none", name="att")
    Sequential([layer], input_shape=(4, 5), seed=1).materialize()
    enc = rng.standard_normal((2, 4, 5))
    out = layer.forward(enc)
    assert out.shape == (2, 3, 5) and layer.attention is None
    changed = enc.copy()
    changed[:, :-1] = rng.standard_normal((2, 3, 5))
    np.testing.assert_array_equal(layer.forward(changed), out)
    denc = layer.backward(rng.standard_normal(out.shape))
    assert not denc[:, :-1].any() and np.abs(denc[:, -1]).min() > 0


def test_bad_arguments():
    with pytest.raises(ValueError, match="attention score must be one of"):
        AttentionDecoder(3, score="cosine")
    with pytest.raises(ValueError, match="put a recurrent layer with return_sequences before"):
        Sequential([Dense(4), AttentionDecoder(3)], input_shape=(5,))


def test_reverse_sequences_are_their_inputs_backwards():
    from nnsim.data import reverse_sequences

    data = reverse_sequences(50, length=7, symbols=5, seed=2)
    assert data.x.shape == data.y.shape == (50, 7) and data.x.max() < 5
    np.testing.assert_array_equal(data.y, data.x[:, ::-1])
    assert len(data.class_names) == 5
