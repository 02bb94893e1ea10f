"""Wrong inputs to rnn.torch.RNN raise Python exceptions carrying a message
that names the argument and what is wrong; unsupported dtypes are refused."""
import pytest
import torch

import rnn
import rnn.torch as rt


def test_wrong_shapes_and_dtypes():
    m = rt.RNN(4, 6, num_layers=2)
    with pytest.raises(rnn.RnnError, match="input_size. Expected 4, got 5"):
        m(torch.randn(3, 2, 5))
    with pytest.raises(rnn.RnnError, match=r"hx: expected hidden size \(2, 2, 6\), got \[1, 2, 6\]"):
        m(torch.randn(3, 2, 4), torch.randn(1, 2, 6))
    with pytest.raises(rnn.RnnError, match="hx should also be 3-D"):
        m(torch.randn(3, 2, 4), torch.randn(2, 6))
    with pytest.raises(rnn.RnnError, match="input: the engine computes in float32, got torch.float64"):
        m(torch.randn(3, 2, 4, dtype=torch.float64))
    with pytest.raises(rnn.RnnError, match="4-D"):
        m(torch.randn(3, 2, 4, 1))
    with pytest.raises(rnn.RnnError, match="non-empty"):
        m(torch.randn(0, 2, 4))
    m.double()
    with pytest.raises(rnn.RnnError, match="weight_ih_l0: the engine computes in float32, got torch.float64"):
        m(torch.randn(3, 2, 4))
    assert isinstance(rnn.RnnError("x"), RuntimeError), "catchable as PyTorch's own shape errors are"


def test_constructor_checks_like_nn_rnn():
    with pytest.raises(ValueError, match="nonlinearity"):
        rt.RNN(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match="dropout"):
        rt.RNN(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="hidden_size"):
        rt.RNN(3, 0)
    with pytest.raises(rnn.RnnError, match="dtype"):
        rt.RNN(3, 4, dtype=torch.float64)
    with pytest.warns(UserWarning, match="dropout"):
        rt.RNN(3, 4, dropout=0.2)


def test_backward_twice_needs_retain_graph_like_torch():
    m = rt.RNN(3, 4)
    y, _ = m(torch.randn(5, 2, 3))
    y.sum().backward()
    with pytest.raises(RuntimeError):
        y.sum().backward()
