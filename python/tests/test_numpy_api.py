"""The NumPy API (rnn.load, Model.forward, Model.logits, rnn.save) and the
exporter, against torch.nn.RNN; the package's version against the engine's."""
import os
import re

import numpy as np
import pytest
import torch
from torch import nn

import rnn
from conftest import rel_err

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def test_version_is_the_engines():
    with open(os.path.join(ROOT, "include", "rnn", "version.hpp")) as f:
        parts = dict(re.findall(r"#define RNN_VERSION_(MAJOR|MINOR|PATCH) (\d+)", f.read()))
    v = f"{parts['MAJOR']}.{parts['MINOR']}.{parts['PATCH']}"
    assert rnn.__version__ == v == rnn.engine_version()


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(5, 8, num_layers=2, bidirectional=True, nonlinearity="relu")
        self.fc = nn.Linear(16, 3)


def test_export_load_forward_logits_save(tmp_path, seed):
    net = Net()
    path = tmp_path / "net.safetensors"
    rnn.export(net, path)
    m = rnn.load(path)
    assert (m.input_size, m.hidden_size, m.num_layers, m.bidirectional, m.nonlinearity, m.output_size) == \
        (5, 8, 2, True, "relu", 3)
    x = np.random.default_rng(seed).standard_normal((7, 4, 5)).astype(np.float32)
    h0 = np.random.default_rng(seed + 1).standard_normal((4, 4, 8)).astype(np.float32)
    lengths = np.array([7, 3, 5, 1])
    y, h_n = m.forward(x, lengths=lengths, h0=h0)
    packed = nn.utils.rnn.pack_padded_sequence(torch.from_numpy(x).double(), torch.from_numpy(lengths),
                                               enforce_sorted=False)
    ref = net.double()
    out, rh = ref.rnn(packed, torch.from_numpy(h0).double())
    ry, _ = nn.utils.rnn.pad_packed_sequence(out, total_length=7)
    assert y.shape == (7, 4, 16) and h_n.shape == (4, 4, 8)
    assert rel_err(torch.from_numpy(y), ry) < 1e-5
    assert rel_err(torch.from_numpy(h_n), rh) < 1e-5
    assert np.all(y[3:, 1] == 0), "zero past a sequence's length, as PyTorch pads"
    logits = m.logits(y)
    assert logits.shape == (7, 4, 3)
    assert rel_err(torch.from_numpy(logits), ref.fc(ry)) < 1e-5
    # The double reference agrees too, batch-first as well.
    yr, _ = m.forward(x, lengths=lengths, h0=h0, device="reference")
    assert rel_err(torch.from_numpy(y), torch.from_numpy(yr)) < 1e-5
    yb, _ = m.forward(x.transpose(1, 0, 2), lengths=lengths, h0=h0, batch_first=True)
    assert np.array_equal(yb.transpose(1, 0, 2), y)
    # save -> load: the same weights, under a module's names with prefix "rnn.".
    out_path = tmp_path / "copy.safetensors"
    rnn.save(m, out_path, prefix="rnn.")
    m2 = rnn.load(out_path)
    for (k, a), (k2, b) in zip(m.state_dict().items(), m2.state_dict().items()):
        assert k == k2 and np.array_equal(a, b)
    net2 = Net()
    from rnn.export import load as load_torch
    state, meta = load_torch(str(out_path))
    assert meta["nonlinearity"] == "relu"
    net2.load_state_dict(state)
    for k, v in net2.state_dict().items():
        assert torch.equal(v, net.state_dict()[k].float()), k


def test_model_from_config_and_state_dict(seed):
    m = rnn.Model(3, 4, num_layers=2, seed=seed)
    ref = nn.RNN(3, 4, num_layers=2)
    ref.load_state_dict({k: torch.from_numpy(v) for k, v in m.state_dict().items()})
    z = rnn.Model(3, 4, num_layers=2)
    assert all(not v.any() for v in z.state_dict().values()), "no seed: zeros"
    z.load_state_dict(ref.state_dict())
    x = np.random.default_rng(seed).standard_normal((5, 2, 3)).astype(np.float32)
    assert np.array_equal(z.forward(x)[0], m.forward(x)[0])
    assert rel_err(torch.from_numpy(m(x)[0]), ref(torch.from_numpy(x))[0]) < 1e-5


def test_errors_carry_the_engines_message(tmp_path):
    with pytest.raises(rnn.RnnError, match="no-such-file.safetensors"):
        rnn.load(tmp_path / "no-such-file.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00hello")
    with pytest.raises(rnn.RnnError, match="bad.safetensors"):
        rnn.load(bad)
    m = rnn.Model(3, 4, seed=1)
    with pytest.raises(rnn.RnnError, match="x: expected shape"):
        m.forward(np.zeros((5, 2, 4), np.float32))
    with pytest.raises(rnn.RnnError, match="lengths"):
        m.forward(np.ones((5, 2, 3), np.float32), lengths=[6, 1])
    with pytest.raises(rnn.RnnError, match="h0: expected shape"):
        m.forward(np.ones((5, 2, 3), np.float32), h0=np.ones((1, 3, 4), np.float32))
    with pytest.raises(rnn.RnnError, match="no output head"):
        m.logits(np.ones((2, 4), np.float32))
    with pytest.raises(rnn.RnnError, match="hidden_size"):
        rnn.Model(3, 0)
    with pytest.raises(rnn.RnnError, match="device"):
        m.forward(np.ones((5, 2, 3), np.float32), device="tpu")
    with pytest.raises(rnn.RnnError, match="missing tensor"):
        m.load_state_dict({})
    with pytest.raises(rnn.RnnError, match="weight_hh_l0: expected shape"):
        m.load_state_dict({**m.state_dict(), "weight_hh_l0": np.zeros((3, 3))})
    with pytest.raises(rnn.RnnError, match="threads"):
        rnn.set_num_threads(0)


@pytest.mark.skipif(rnn.cuda_device_count() > 0, reason="a GPU is here: the CUDA plans run (test_torch_parity)")
def test_cuda_plans_without_a_gpu_fail_clearly():
    import ctypes
    from rnn import _lib
    cfg = _lib.Config(3, 4, 1, 0, 1, 0, 0, 0)
    h = ctypes.c_void_p()
    assert _lib.lib().rnn_cuda_plan_new(ctypes.byref(cfg), 4, 2, 0, ctypes.byref(h)) != 0
    msg = _lib.lib().rnn_last_error().decode()
    assert msg.startswith("cuda"), msg


def test_pass_backward_refuses_a_null_gradient_before_writing_anything():
    import ctypes
    from rnn import _lib
    L = _lib.lib()
    cfg = _lib.Config(3, 4, 1, 0, 1, 0, 0, 0)
    m = rnn.Model(3, 4, seed=2)
    params = [np.ascontiguousarray(v) for v in m.state_dict().values()]
    x = np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32)
    y, h_n = np.empty((5, 2, 4), np.float32), np.empty((1, 2, 4), np.float32)
    inp = _lib.Inputs(x.ctypes.data, 5, 2, 0, None, None, _lib.DEVICE_CPU)
    h = ctypes.c_void_p()
    assert L.rnn_pass_forward(ctypes.byref(cfg), _lib.pointer_array([p.ctypes.data for p in params]),
                              ctypes.byref(inp), y.ctypes.data, h_n.ctypes.data, ctypes.byref(h)) == 0
    try:
        dy = np.ones_like(y)
        dx = np.full_like(x, 7.0)
        grads = [np.full_like(p, 7.0) for p in params]
        ptrs = [g.ctypes.data for g in grads]
        ptrs[2] = None
        assert L.rnn_pass_backward(h, dy.ctypes.data, None, dx.ctypes.data, None, _lib.pointer_array(ptrs)) != 0
        assert "bias_ih_l0" in L.rnn_last_error().decode()
        assert np.all(dx == 7.0) and all(np.all(g == 7.0) for g in grads), "nothing written"
    finally:
        L.rnn_pass_free(h)
