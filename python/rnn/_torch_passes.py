"""rnn.torch's engine passes on tensors: a forward pass (kept, where a
gradient is wanted) and its backward pass, without autograd.

_forward runs CPU tensors (and CUDA tensors under RNN_TORCH_CUDA=staged)
through the engine's host API (rnn_pass_*), copying through host memory
where needed, and CUDA tensors on the engine's CUDA plans (rnn_cuda_plan_*)
on device memory and torch's current stream. _backward takes what _forward
kept and frees it. rnn/_torch_autograd.py makes them differentiable.
"""
import ctypes as _ct
import os
import threading

import torch

from . import _lib
from ._lib import RnnError

_threads_chosen = False


def _choose_threads():
    global _threads_chosen
    if _threads_chosen:
        return
    _threads_chosen = True
    if not os.environ.get("RNN_NUM_THREADS"):
        _lib.lib().rnn_set_num_threads(torch.get_num_threads())  # fails harmlessly once a pass has run


def _config(sizes):
    I, H, L, bidir, bias, relu = sizes
    return _lib.Config(I, H, L, bidir, bias, relu, 0, 0)


def _device_code(t):
    if t.device.type == "cpu":
        return _lib.DEVICE_CPU
    if t.device.type == "cuda":
        return _lib.DEVICE_CUDA
    raise RnnError(f"input: tensors on {t.device.type} are not supported (cpu or cuda)")


class _Pass:
    """An engine pass kept for its backward pass; freed with this object."""

    def __init__(self, handle):
        self.h = handle

    def release(self):
        if self.h is not None and self.h.value:
            _lib.lib().rnn_pass_free(self.h)
        self.h = None

    __del__ = release


def _host(t):
    return t.detach().to("cpu").contiguous() if t is not None else None


# ---- CUDA tensors: the engine's CUDA plans on device memory, torch's stream ----

def _cuda_staged():
    """RNN_TORCH_CUDA=staged: CUDA tensors through host memory (the engine's
    host API on the GPU), the path before device-memory plans."""
    return os.environ.get("RNN_TORCH_CUDA", "") == "staged"


class _CudaPlan:
    """An engine CUDA plan (one config, batch layout and device) for up to
    max_steps x max_batch; its workspace sizes and flat parameter count."""

    def __init__(self, sizes, batch_first, max_steps, max_batch):
        self.h = _ct.c_void_p()
        cfg = _config(sizes)
        _lib.check(_lib.lib().rnn_cuda_plan_new(_ct.byref(cfg), max_steps, max_batch, int(batch_first),
                                                _ct.byref(self.h)))
        fwd, bwd, count = _ct.c_uint64(), _ct.c_uint64(), _ct.c_uint64()
        _lib.check(_lib.lib().rnn_cuda_plan_sizes(self.h, _ct.byref(fwd), _ct.byref(bwd), _ct.byref(count)))
        self.forward_bytes, self.backward_bytes, self.count = fwd.value, bwd.value, count.value
        self.max_steps, self.max_batch = max_steps, max_batch

    def __del__(self):
        if getattr(self, "h", None) is not None and self.h.value:
            _lib.lib().rnn_cuda_plan_free(self.h)
            self.h = None


class _CudaPlans(threading.local):
    """Each thread's plans (a plan serves one stream at a time), grown to the
    largest T and B seen; a pass keeps its own plan alive until its backward."""

    def __init__(self):
        self.plans = {}

    def get(self, sizes, batch_first, T, B, device):
        key = (tuple(sizes), bool(batch_first), device.index)
        p = self.plans.get(key)
        if p is None or p.max_steps < T or p.max_batch < B:
            T2, B2 = (max(T, p.max_steps), max(B, p.max_batch)) if p is not None else (T, B)
            p = _CudaPlan(sizes, batch_first, T2, B2)
            self.plans[key] = p
        return p


_cuda_plans = _CudaPlans()


class _CudaPass:
    """A forward pass on the GPU kept for its backward pass: the plan, its
    workspace (every layer's outputs), the lengths and the run's pointers."""

    def __init__(self, plan, workspace, lengths, args):
        self.plan, self.workspace, self.lengths, self.args = plan, workspace, lengths, args

    def release(self):
        self.plan = self.workspace = self.lengths = self.args = None


def _flat_weights(params):
    return torch.cat([p.detach().reshape(-1) for p in params])


def _cuda_forward(sizes, batch_first, x, hx, lengths, params, keep):
    I, H, L, bidir, _, _ = sizes
    D = 2 if bidir else 1
    dev = x.device
    T, B = (x.shape[1], x.shape[0]) if batch_first else (x.shape[0], x.shape[1])
    with torch.cuda.device(dev):
        stream = torch.cuda.current_stream(dev).cuda_stream
        plan = _cuda_plans.get(sizes, batch_first, T, B, dev)
        flat = _flat_weights(params)
        _lib.check(_lib.lib().rnn_cuda_plan_load_weights(plan.h, flat.data_ptr(), stream))
        x = x.detach().contiguous()
        hx = hx.detach().contiguous() if hx is not None else None
        lens = lengths.to(dev, torch.int32).contiguous() if lengths is not None else None
        y = torch.empty((B, T, D * H) if batch_first else (T, B, D * H), dtype=torch.float32, device=dev)
        h_n = torch.empty((L * D, B, H), dtype=torch.float32, device=dev)
        ws = torch.empty(max(plan.backward_bytes if keep else plan.forward_bytes, 1), dtype=torch.uint8, device=dev)
        args = _lib.CudaArgs(T, B, x.data_ptr(), hx.data_ptr() if hx is not None else None,
                             lens.data_ptr() if lens is not None else None, y.data_ptr(), h_n.data_ptr())
        _lib.check(_lib.lib().rnn_cuda_plan_forward(plan.h, _ct.byref(args), ws.data_ptr(), int(keep), stream))
    return y, h_n, (_CudaPass(plan, ws, lens, args) if keep else None)


def _cuda_backward(p, x, hx, params, dy, dh_n, want_dx, want_dh0):
    dev = x.device
    try:
        with torch.cuda.device(dev):
            stream = torch.cuda.current_stream(dev).cuda_stream
            flat = _flat_weights(params)  # the pass's weights again: another pass may have used the plan since
            _lib.check(_lib.lib().rnn_cuda_plan_load_weights(p.plan.h, flat.data_ptr(), stream))
            dy = dy.contiguous()
            dh_n = dh_n.contiguous() if dh_n is not None else None
            dx = torch.empty(x.shape, dtype=torch.float32, device=dev) if want_dx else None
            dh0 = torch.empty(hx.shape, dtype=torch.float32, device=dev) if want_dh0 else None
            g = torch.empty(p.plan.count, dtype=torch.float32, device=dev)
            _lib.check(_lib.lib().rnn_cuda_plan_backward(
                p.plan.h, _ct.byref(p.args), dy.data_ptr(), dh_n.data_ptr() if dh_n is not None else None,
                dx.data_ptr() if dx is not None else None, dh0.data_ptr() if dh0 is not None else None,
                g.data_ptr(), p.workspace.data_ptr(), stream))
    finally:
        p.release()
    grads, at = [], 0
    for q in params:
        grads.append(g[at:at + q.numel()].view(q.shape))
        at += q.numel()
    return dx, dh0, grads


def _forward(sizes, batch_first, x, hx, lengths, params, keep):
    """One engine forward pass: (y, h_n, pass or None). x, hx, params float32."""
    if x.device.type == "cuda" and not _cuda_staged():
        return _cuda_forward(sizes, batch_first, x, hx, lengths, params, keep)
    _choose_threads()
    I, H, L, bidir, _, _ = sizes
    D = 2 if bidir else 1
    dev = x.device
    code = _device_code(x)
    xh = _host(x)
    T, B = (xh.shape[1], xh.shape[0]) if batch_first else (xh.shape[0], xh.shape[1])
    hh = _host(hx)
    lh = lengths.to("cpu", torch.int64).contiguous() if lengths is not None else None
    ph = [_host(p) for p in params]
    y = torch.empty((B, T, D * H) if batch_first else (T, B, D * H), dtype=torch.float32)
    h_n = torch.empty((L * D, B, H), dtype=torch.float32)
    inp = _lib.Inputs(xh.data_ptr(), T, B, int(batch_first), lh.data_ptr() if lh is not None else None,
                      hh.data_ptr() if hh is not None else None, code)
    cfg = _config(sizes)
    handle = _ct.c_void_p() if keep else None
    _lib.check(_lib.lib().rnn_pass_forward(_ct.byref(cfg), _lib.pointer_array([p.data_ptr() for p in ph]),
                                           _ct.byref(inp), y.data_ptr(), h_n.data_ptr(),
                                           _ct.byref(handle) if keep else None))
    return y.to(dev), h_n.to(dev), (_Pass(handle) if keep else None)


def _backward(p, x, hx, params, dy, dh_n, want_dx, want_dh0):
    """The kept pass's backward pass: (dx or None, dh0 or None, [dparam])."""
    if isinstance(p, _CudaPass):
        return _cuda_backward(p, x, hx, params, dy, dh_n, want_dx, want_dh0)
    dev = x.device
    dyh = _host(dy)
    dhh = _host(dh_n)
    dx = torch.empty(x.shape, dtype=torch.float32) if want_dx else None
    dh0 = torch.empty(hx.shape, dtype=torch.float32) if want_dh0 else None
    grads = [torch.empty(q.shape, dtype=torch.float32) for q in params]
    try:
        _lib.check(_lib.lib().rnn_pass_backward(p.h, dyh.data_ptr() if dyh is not None else None,
                                                dhh.data_ptr() if dhh is not None else None,
                                                dx.data_ptr() if dx is not None else None,
                                                dh0.data_ptr() if dh0 is not None else None,
                                                _lib.pointer_array([g.data_ptr() for g in grads])))
    finally:
        p.release()
    to = (lambda t: t.to(dev) if t is not None else None) if dev.type != "cpu" else (lambda t: t)
    return to(dx), to(dh0), [to(g) for g in grads]
