"""torch.compile(fullgraph=True) and torch.export over rnn.torch.RNN (its
custom operators rnn::forward and rnn::backward, PyTorch >= 2.4): the same
outputs and gradients as eager nn.RNN."""
import pytest
import torch
from torch import nn

import rnn.torch as rt
from conftest import devices, rel_err

NEW_ENOUGH = hasattr(torch, "library") and hasattr(torch.library, "custom_op")
pytestmark = pytest.mark.skipif(not NEW_ENOUGH, reason=f"torch {torch.__version__} has no torch.library.custom_op "
                                                       "(PyTorch >= 2.4)")


class Net(nn.Module):
    def __init__(self, cls):
        super().__init__()
        self.rnn = cls(5, 12, num_layers=2, bidirectional=True)
        self.fc = nn.Linear(24, 3)

    def forward(self, x, h0):
        y, h_n = self.rnn(x, h0)
        return self.fc(y).sum() + h_n.square().sum()


@pytest.mark.parametrize("device", devices())
def test_compile_fullgraph_forward_and_backward(device, seed):
    ours = Net(rt.RNN).to(device)
    ref = Net(nn.RNN).to(device)
    ref.load_state_dict(ours.state_dict())
    compiled = torch.compile(ours, fullgraph=True)
    for T in (7, 7, 4):  # a second call reuses the graph; a new length recompiles
        x = torch.randn(T, 3, 5, device=device, requires_grad=True)
        h0 = torch.randn(4, 3, 12, device=device, requires_grad=True)
        a = compiled(x, h0)
        ga = torch.autograd.grad(a, [x, h0] + list(ours.parameters()))
        b = ref(x, h0)
        gb = torch.autograd.grad(b, [x, h0] + list(ref.parameters()))
        assert rel_err(a, b) < 1e-5
        for u, v in zip(ga, gb):
            assert rel_err(u, v) < 1e-4


def test_custom_ops_are_registered_and_export():
    m = rt.RNN(3, 4)
    x = torch.randn(5, 2, 3)
    y, h = m(x)  # eager first: registers nothing yet
    ep = torch.export.export(m, (x,))
    assert any("rnn.forward" in str(n.target) for n in ep.graph.nodes)
    y2, h2 = ep.module()(x)
    assert rel_err(y2, y) < 1e-6 and rel_err(h2, h) < 1e-6
