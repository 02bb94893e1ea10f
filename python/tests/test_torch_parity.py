"""rnn.torch.RNN against torch.nn.RNN: forward, gradients of the input, hx
and every parameter, over a table of configurations, on fresh random
inputs, at a relative error below 1e-5 against nn.RNN in double precision
(the oracle); the same initialisation; state_dicts both ways; PackedSequence
with unsorted lengths; unbatched input; dropout; inference without a graph."""
import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnn.torch as rt
from conftest import devices, rel_err

TOL = 1e-5

# (layers, bidirectional, nonlinearity, bias, batch_first, h0, packed)
CONFIGS = [
    (1, False, "tanh", True, False, False, False),
    (1, False, "tanh", True, False, True, False),
    (2, False, "tanh", True, False, True, False),
    (3, True, "tanh", True, False, True, False),
    (1, True, "relu", True, False, False, False),
    (2, False, "relu", False, False, True, False),
    (1, False, "tanh", False, True, False, False),
    (2, True, "tanh", True, True, True, False),
    (1, False, "tanh", True, False, False, True),
    (2, True, "tanh", True, False, True, True),
    (3, False, "relu", False, True, True, True),
    (1, True, "tanh", True, True, False, True),
]


def ids(c):
    L, bi, nl, bias, bf, h0, packed = c
    return f"L{L}{'_bidir' if bi else ''}_{nl}{'' if bias else '_nobias'}{'_bf' if bf else ''}" \
           f"{'_h0' if h0 else ''}{'_packed' if packed else ''}"


def pair(I, H, L, nl, bias, bf, bi, device):
    """Ours, and nn.RNN in double with the same weights."""
    ours = rt.RNN(I, H, num_layers=L, nonlinearity=nl, bias=bias, batch_first=bf, bidirectional=bi).to(device)
    ref = nn.RNN(I, H, num_layers=L, nonlinearity=nl, bias=bias, batch_first=bf, bidirectional=bi)
    ref.load_state_dict(ours.state_dict())
    return ours, ref.double().to(device)


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("config", CONFIGS, ids=ids)
def test_matches_nn_rnn(config, device, seed):
    L, bi, nl, bias, bf, use_h0, packed = config
    g = torch.Generator().manual_seed(seed)
    T, B, I, H = 1 + seed % 9, 1 + seed % 5, 1 + seed % 7, 4 + seed % 13
    D = 2 if bi else 1
    ours, ref = pair(I, H, L, nl, bias, bf, bi, device)
    x = torch.randn((B, T, I) if bf else (T, B, I), generator=g).to(device)
    h0 = torch.randn(L * D, B, H, generator=g).to(device) if use_h0 else None
    lengths = torch.randint(1, T + 1, (B,), generator=g)
    lengths[torch.randint(0, B, (1,), generator=g)] = T

    def run(model, dtype):
        xi = x.to(dtype).requires_grad_()
        hi = h0.to(dtype).requires_grad_() if h0 is not None else None
        inp = pack_padded_sequence(xi, lengths, batch_first=bf, enforce_sorted=False) if packed else xi
        out, h_n = model(inp, hi)
        if packed:
            assert isinstance(out, torch.nn.utils.rnn.PackedSequence)
            y, out_len = pad_packed_sequence(out, batch_first=bf)
            assert torch.equal(out_len, lengths)
        else:
            y = out
        gy = torch.randn(y.shape, generator=torch.Generator().manual_seed(seed + 1)).to(device, dtype)
        gh = torch.randn(h_n.shape, generator=torch.Generator().manual_seed(seed + 2)).to(device, dtype)
        wrt = [xi] + ([hi] if hi is not None else []) + list(model.parameters())
        grads = torch.autograd.grad([y, h_n], wrt, [gy, gh])
        return y, h_n, grads

    y, h_n, grads = run(ours, torch.float32)
    ry, rh, rgrads = run(ref, torch.float64)
    assert y.dtype == torch.float32 and y.device.type == device
    assert y.shape == ry.shape and h_n.shape == rh.shape
    assert rel_err(y, ry) < TOL
    assert rel_err(h_n, rh) < TOL
    names = ["input"] + (["hx"] if h0 is not None else []) + [n for n, _ in ours.named_parameters()]
    total = sum(r.double().norm().item() ** 2 for r in rgrads) ** 0.5
    for name, a, b in zip(names, grads, rgrads):
        assert a.shape == b.shape, name
        # Each gradient against the norm of them all (a bias's sum at small
        # H can cancel), and each large one against itself.
        assert (a.double().cpu() - b.cpu()).norm().item() / total < TOL, name
        if b.norm().item() > 0.1 * total:
            assert rel_err(a, b) < 10 * TOL, name


def test_same_initialisation_and_state_dict_both_ways(seed):
    for kw in [dict(num_layers=2, bidirectional=True), dict(bias=False, nonlinearity="relu")]:
        torch.manual_seed(seed)
        a = nn.RNN(6, 9, **kw)
        torch.manual_seed(seed)
        b = rt.RNN(6, 9, **kw)
        sa, sb = a.state_dict(), b.state_dict()
        assert list(sa) == list(sb)
        for k in sa:
            assert torch.equal(sa[k], sb[k]), k
        assert [n for n, _ in a.named_parameters()] == [n for n, _ in b.named_parameters()]
        c = rt.RNN(6, 9, **kw)
        c.load_state_dict(a.state_dict())
        d = nn.RNN(6, 9, **kw)
        d.load_state_dict(c.state_dict())
        x = torch.randn(5, 2, 6)
        assert rel_err(c(x)[0], d(x)[0]) < TOL
    assert repr(rt.RNN(3, 4, num_layers=2, batch_first=True)) == "RNN(3, 4, num_layers=2, batch_first=True)"


def test_unbatched_input_like_nn_rnn(seed):
    ours = rt.RNN(3, 5, num_layers=2)
    ref = nn.RNN(3, 5, num_layers=2)
    ref.load_state_dict(ours.state_dict())
    x, h = torch.randn(7, 3), torch.randn(2, 5)
    y, h_n = ours(x, h)
    ry, rh = ref(x, h)
    assert y.shape == ry.shape == (7, 5) and h_n.shape == rh.shape == (2, 5)
    assert rel_err(y, ry) < TOL and rel_err(h_n, rh) < TOL


def test_sorted_packed_sequence_and_its_indices(seed):
    ours = rt.RNN(4, 6, bidirectional=True)
    ref = nn.RNN(4, 6, bidirectional=True)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(8, 3, 4)
    for enforce in (True, False):
        lengths = torch.tensor([8, 5, 2]) if enforce else torch.tensor([2, 8, 5])
        p = pack_padded_sequence(x, lengths, enforce_sorted=enforce)
        h = torch.randn(2, 3, 6)
        out, h_n = ours(p, h)
        rout, rh = ref(p, h)
        assert torch.equal(out.batch_sizes, rout.batch_sizes)
        assert (out.sorted_indices is None) == (rout.sorted_indices is None)
        assert rel_err(out.data, rout.data) < TOL and rel_err(h_n, rh) < TOL


def test_dropout_between_layers_in_training_only(seed):
    ours = rt.RNN(4, 8, num_layers=3, dropout=0.5)
    ref = nn.RNN(4, 8, num_layers=3, dropout=0.5)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(6, 2, 4)
    ours.eval()
    ref.eval()
    assert rel_err(ours(x)[0], ref(x)[0]) < TOL
    ours.train()
    a, b = ours(x)[0], ours(x)[0]
    assert not torch.equal(a, b), "dropout draws a new mask every pass"
    # A dropped layer output is what nn.RNN computes with the same mask: the
    # masks come from the same generator in the same order.
    ref.train()
    torch.manual_seed(seed)
    ya, ha = ours(x)
    torch.manual_seed(seed)
    yb, hb = ref(x)
    assert rel_err(ya, yb) < TOL and rel_err(ha, hb) < TOL
    ya.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in ours.parameters())


def test_no_graph_under_no_grad():
    m = rt.RNN(3, 4)
    x = torch.randn(5, 2, 3)
    with torch.no_grad():
        y, h = m(x)
    assert not y.requires_grad and y.grad_fn is None
    y2, _ = m(x)
    assert y2.requires_grad and torch.equal(y, y2.detach())


def test_training_loop_moves_the_loss():
    torch.manual_seed(0)
    m = rt.RNN(3, 16, num_layers=2)
    head = nn.Linear(16, 1)
    opt = torch.optim.Adam(list(m.parameters()) + list(head.parameters()), lr=1e-2)
    x = torch.randn(10, 8, 3)
    target = x.sum(0).sum(1, keepdim=True)
    losses = []
    for _ in range(60):
        y, h = m(x)
        loss = ((head(h[-1]) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_whole_module_pickles_and_keeps_nn_rnn_attributes(tmp_path):
    m = rt.RNN(3, 5, num_layers=2, nonlinearity="relu")
    assert (m.proj_size, m.mode) == (0, "RNN_RELU")
    assert [len(w) for w in m.all_weights] == [4, 4]
    torch.save(m, tmp_path / "m.pt")
    try:
        back = torch.load(tmp_path / "m.pt", weights_only=False)
    except TypeError:  # torch < 1.13 has no weights_only
        back = torch.load(tmp_path / "m.pt")
    x = torch.randn(4, 2, 3)
    assert torch.equal(back(x)[0], m(x)[0])
