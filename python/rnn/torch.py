"""rnn.torch.RNN: a drop-in torch.nn.RNN whose passes run on the engine.

    import rnn.torch
    model = rnn.torch.RNN(input_size, hidden_size, num_layers=2, bidirectional=True)
    y, h_n = model(x, h0)          # x: a Tensor or a PackedSequence, as nn.RNN takes

The constructor, parameter names, shapes and initialisation are
torch.nn.RNN's (with the same torch.manual_seed both draw the same weights),
so state_dicts load both ways. Parameters are ordinary nn.Parameters (no
flattened copy): optimizers, DistributedDataParallel and state_dict see
them as they see nn.RNN's. Gradients reach the input, hx and every
parameter through the engine's backward pass.

Tensors are float32. CPU tensors run on the engine's fast CPU backend, with
torch.get_num_threads() threads unless RNN_NUM_THREADS says otherwise (the
count is fixed by the first pass). CUDA tensors run on the engine's CUDA
plans (one per thread, configuration and device, grown to the largest T and
B seen) on device memory and torch's current stream, without copies through
the host; RNN_TORCH_CUDA=staged takes the earlier path through host memory
instead. PyTorch's C++ ABI is never linked: the engine takes raw pointers,
so one build works with any PyTorch version.

On PyTorch >= 2.4 the passes are also registered as custom operators
(rnn::forward, rnn::backward, with fake implementations and autograd), which
torch.compile(fullgraph=True) and torch.export trace; compiled graphs run
the forward pass again in their backward pass (a traced graph keeps no
engine state between its two halves). Eager mode, on every version, keeps
the forward pass for the backward pass.
"""
import ctypes as _ct
import math
import os
import threading
import warnings
from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from . import _lib
from ._lib import RnnError

__all__ = ["RNN", "RnnError"]

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


class _EngineRNN(torch.autograd.Function):
    """The eager path (every PyTorch version): the forward pass is kept in
    the graph until its backward pass."""

    @staticmethod
    def forward(ctx, sizes, batch_first, lengths, x, hx, *params):
        keep = any(ctx.needs_input_grad[3:])  # a gradient is wanted: keep the pass
        y, h_n, p = _forward(sizes, batch_first, x, hx, lengths, params, keep)
        ctx.engine_pass = p
        ctx.has_hx = hx is not None
        # y too: the GPU's backward pass reads it, and autograd then refuses
        # a backward after y was changed in place (as nn.RNN's does).
        if hx is not None:
            ctx.save_for_backward(x, hx, *params, y)
        else:
            ctx.save_for_backward(x, *params, y)
        return y, h_n

    @staticmethod
    def backward(ctx, dy, dh_n):
        saved = ctx.saved_tensors[:-1]  # the last is y
        if ctx.has_hx:
            x, hx, params = saved[0], saved[1], saved[2:]
        else:
            x, hx, params = saved[0], None, saved[1:]
        p = ctx.engine_pass
        ctx.engine_pass = None
        if p is None:
            raise RnnError("backward: the forward pass kept nothing (no input needed a gradient)")
        dx, dh0, grads = _backward(p, x, hx, params, dy, dh_n, ctx.needs_input_grad[3],
                                   hx is not None and ctx.needs_input_grad[4])
        return (None, None, None, dx, dh0, *grads)


# ---- custom operators (PyTorch >= 2.4): torch.compile and torch.export ----

_custom_ops = None


def _register_custom_ops():
    """Registers rnn::forward and rnn::backward once; None where the
    PyTorch version has no torch.library.custom_op."""
    global _custom_ops
    if _custom_ops is not None:
        return _custom_ops or None
    lib = getattr(torch, "library", None)
    if lib is None or not hasattr(lib, "custom_op") or not hasattr(lib, "register_autograd"):
        _custom_ops = False
        return None

    @torch.library.custom_op("rnn::forward", mutates_args=())
    def forward_op(x: torch.Tensor, hx: torch.Tensor, lengths: torch.Tensor, params: List[torch.Tensor],
                   sizes: List[int], batch_first: bool, has_hx: bool, has_lengths: bool) -> Tuple[torch.Tensor,
                                                                                               torch.Tensor]:
        y, h_n, _ = _forward(tuple(sizes), batch_first, x, hx if has_hx else None, lengths if has_lengths else None,
                             params, False)
        return y, h_n

    @forward_op.register_fake
    def _(x, hx, lengths, params, sizes, batch_first, has_hx, has_lengths):
        I, H, L, bidir, _, _ = sizes
        D = 2 if bidir else 1
        T, B = (x.shape[1], x.shape[0]) if batch_first else (x.shape[0], x.shape[1])
        y = x.new_empty((B, T, D * H) if batch_first else (T, B, D * H))
        return y, x.new_empty((L * D, B, H))

    @torch.library.custom_op("rnn::backward", mutates_args=())
    def backward_op(x: torch.Tensor, hx: torch.Tensor, lengths: torch.Tensor, params: List[torch.Tensor],
                    dy: torch.Tensor, dh_n: torch.Tensor, sizes: List[int], batch_first: bool, has_hx: bool,
                    has_lengths: bool) -> Tuple[torch.Tensor, torch.Tensor, List[torch.Tensor]]:
        _, _, p = _forward(tuple(sizes), batch_first, x, hx if has_hx else None, lengths if has_lengths else None,
                           params, True)
        dx, dh0, grads = _backward(p, x, hx if has_hx else None, params, dy, dh_n, True, has_hx)
        return dx, (dh0 if has_hx else torch.zeros_like(hx)), grads

    @backward_op.register_fake
    def _(x, hx, lengths, params, dy, dh_n, sizes, batch_first, has_hx, has_lengths):
        return torch.empty_like(x), torch.empty_like(hx), [torch.empty_like(q) for q in params]

    def setup_context(ctx, inputs, output):
        x, hx, lengths, params, sizes, batch_first, has_hx, has_lengths = inputs
        ctx.save_for_backward(x, hx, lengths, *params)
        ctx.args = (list(sizes), batch_first, has_hx, has_lengths)

    def backward(ctx, dy, dh_n):
        x, hx, lengths, *params = ctx.saved_tensors
        sizes, batch_first, has_hx, has_lengths = ctx.args
        dx, dh0, grads = backward_op(x, hx, lengths, params, dy.contiguous(), dh_n.contiguous(), sizes,
                                     batch_first, has_hx, has_lengths)
        return dx, (dh0 if has_hx else None), None, list(grads), None, None, None, None

    torch.library.register_autograd("rnn::forward", backward, setup_context=setup_context)
    _custom_ops = (forward_op, backward_op)
    return _custom_ops


# Registered when the module is imported, so that a traced graph finds them;
# a failure is kept and reported when a graph is compiled (eager mode needs
# no operator).
_custom_ops_error = None
try:
    _register_custom_ops()
except Exception as e:  # noqa: BLE001
    _custom_ops, _custom_ops_error = False, e


def _compiling():
    c = getattr(torch, "compiler", None)
    if c is not None and hasattr(c, "is_compiling"):
        return c.is_compiling()
    d = getattr(torch, "_dynamo", None)
    return bool(d is not None and hasattr(d, "is_compiling") and d.is_compiling())


def _engine(sizes, batch_first, x, hx, lengths, params):
    """y, h_n of one engine call, differentiable."""
    if _compiling():
        ops = _register_custom_ops()
        if ops is None:
            why = f": registering rnn::forward failed: {_custom_ops_error}" if _custom_ops_error else ""
            raise RnnError("torch.compile: rnn.torch.RNN needs PyTorch >= 2.4 (torch.library.custom_op) to be "
                           f"compiled{why}")
        I, H, L, bidir, _, _ = sizes
        D = 2 if bidir else 1
        B = x.shape[0] if batch_first else x.shape[1]
        h = hx if hx is not None else x.new_zeros((L * D, B, H))
        ln = lengths if lengths is not None else torch.zeros(1, dtype=torch.int64)
        return ops[0](x, h, ln, list(params), list(sizes), batch_first, hx is not None, lengths is not None)
    return _EngineRNN.apply(sizes, batch_first, lengths, x, hx, *params)


class RNN(nn.Module):
    r"""torch.nn.RNN on the engine: same constructor, parameters, inputs and
    outputs. ``dropout`` (between layers, in training mode only) is applied
    as nn.RNN applies it, running the layers one engine call each."""

    _rnn_engine_module = True  # rnn.export recognises it
    __constants__ = ["input_size", "hidden_size", "num_layers", "nonlinearity", "bias", "batch_first", "dropout",
                     "bidirectional"]

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__()
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError("hidden_size must be an integer greater than zero")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError("num_layers must be an integer greater than zero")
        if not isinstance(input_size, int) or input_size <= 0:
            raise ValueError("input_size must be an integer greater than zero")
        if dtype is not None and dtype != torch.float32:
            raise RnnError(f"dtype: the engine computes in float32, got {dtype}")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.nonlinearity = nonlinearity
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = 0  # nn.RNNBase's attributes, read by code written for nn.RNN
        self.mode = "RNN_RELU" if nonlinearity == "relu" else "RNN_TANH"
        kw = {"device": device, "dtype": torch.float32}
        D = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            for direction in range(D):
                width = input_size if layer == 0 else hidden_size * D
                suffix = "_reverse" if direction == 1 else ""
                names = [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"]
                params = [nn.Parameter(torch.empty((hidden_size, width), **kw)),
                          nn.Parameter(torch.empty((hidden_size, hidden_size), **kw))]
                if bias:
                    names += [f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
                    params += [nn.Parameter(torch.empty(hidden_size, **kw)),
                               nn.Parameter(torch.empty(hidden_size, **kw))]
                for n, p in zip(names, params):
                    setattr(self, n, p)
                self._flat_weights_names.extend(names)
        self.reset_parameters()

    def reset_parameters(self):
        """Every parameter uniform in [-1/sqrt(H), 1/sqrt(H)], in nn.RNN's order."""
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for w in self.parameters():
            nn.init.uniform_(w, -stdv, stdv)

    @property
    def all_weights(self):
        D = 2 if self.bidirectional else 1
        per = 4 if self.bias else 2
        ws = [getattr(self, n) for n in self._flat_weights_names]
        return [ws[i * per:(i + 1) * per] for i in range(self.num_layers * D)]

    def flatten_parameters(self):
        """nn.RNN's cuDNN weight flattening: nothing to do here."""

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.nonlinearity != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    def _sizes(self, layer=None):
        relu = int(self.nonlinearity == "relu")
        D = 2 if self.bidirectional else 1
        if layer is None:
            return (self.input_size, self.hidden_size, self.num_layers, int(self.bidirectional), int(self.bias), relu)
        width = self.input_size if layer == 0 else self.hidden_size * D
        return (width, self.hidden_size, 1, int(self.bidirectional), int(self.bias), relu)

    def forward(self, input, hx=None):
        D = 2 if self.bidirectional else 1
        L, H = self.num_layers, self.hidden_size
        packed = isinstance(input, PackedSequence)
        batch_first = self.batch_first
        lengths = None
        sorted_indices = unsorted_indices = None
        unbatched = False
        if packed:
            data, batch_sizes, sorted_indices, unsorted_indices = input
            self._check_tensor(data, "input")
            if data.dim() != 2 or data.shape[1] != self.input_size:
                raise RnnError(f"input: expected packed data of shape [N, {self.input_size}], got {list(data.shape)}")
            T, B = batch_sizes.shape[0], int(batch_sizes[0])
            # Time-major, in the packed (sorted) order; lengths from batch_sizes.
            mask = torch.arange(B)[None, :] < batch_sizes[:, None]
            lengths = mask.sum(0).to(torch.int64)
            mask = mask.to(data.device)
            x = data.new_zeros((T, B, self.input_size)).masked_scatter(mask[:, :, None], data)
            batch_first = False
            if hx is not None and sorted_indices is not None:
                hx = hx.index_select(1, sorted_indices)
        else:
            x = input
            self._check_tensor(x, "input")
            if x.dim() == 2:
                unbatched = True
                x = x.unsqueeze(1)
                batch_first = False
                if hx is not None:
                    if hx.dim() != 2:
                        raise RnnError(f"hx: for unbatched 2-D input, hx should also be 2-D but got "
                                       f"{hx.dim()}-D tensor")
                    hx = hx.unsqueeze(1)
            elif x.dim() != 3:
                raise RnnError(f"input: expected a 2-D (unbatched) or 3-D (batched) tensor, got {x.dim()}-D with "
                               f"shape {list(x.shape)}")
            elif hx is not None and hx.dim() != 3:
                raise RnnError(f"hx: for batched 3-D input, hx should also be 3-D but got {hx.dim()}-D tensor")
            if x.shape[2] != self.input_size:
                raise RnnError(f"input: input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {x.shape[2]}")
        B = x.shape[0] if batch_first else x.shape[1]
        if hx is not None:
            self._check_tensor(hx, "hx")
            if tuple(hx.shape) != (L * D, B, H):
                raise RnnError(f"hx: expected hidden size {(L * D, B, H)}, got {list(hx.shape)}")
            if hx.device != x.device:
                raise RnnError(f"hx: on {hx.device}, the input on {x.device}")
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise RnnError(f"input: expected a non-empty sequence and batch, got shape {list(x.shape)}")
        params = [getattr(self, n) for n in self._flat_weights_names]
        for n, p in zip(self._flat_weights_names, params):
            if p.dtype != torch.float32:
                raise RnnError(f"{n}: the engine computes in float32, got {p.dtype} (keep the module in float32)")
            if p.device != x.device:
                raise RnnError(f"{n}: on {p.device}, the input on {x.device} (move the module with .to())")
        x = x.contiguous()

        if self.dropout > 0 and self.training and L > 1:
            per = len(params) // (L * D)
            outs = []
            layer_in = x
            for layer in range(L):
                h = hx[layer * D:(layer + 1) * D].contiguous() if hx is not None else None
                ps = params[layer * D * per:(layer + 1) * D * per]
                layer_in, h_l = _engine(self._sizes(layer), batch_first, layer_in, h, lengths, ps)
                outs.append(h_l)
                if layer + 1 < L:
                    layer_in = F.dropout(layer_in, p=self.dropout, training=True).contiguous()
            y, h_n = layer_in, torch.cat(outs, 0)
        else:
            y, h_n = _engine(self._sizes(), batch_first, x, hx.contiguous() if hx is not None else None, lengths,
                             params)

        if packed:
            out = PackedSequence(y[mask], batch_sizes, sorted_indices, unsorted_indices)
            if unsorted_indices is not None:
                h_n = h_n.index_select(1, unsorted_indices)
            return out, h_n
        if unbatched:
            return y.squeeze(1), h_n.squeeze(1)
        return y, h_n

    @staticmethod
    def _check_tensor(t, name):
        if not torch.is_tensor(t):
            raise RnnError(f"{name}: expected a Tensor, got {type(t).__name__}")
        if t.dtype != torch.float32:
            raise RnnError(f"{name}: the engine computes in float32, got {t.dtype}")
