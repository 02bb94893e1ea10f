"""rnn.torch's autograd: the engine's passes (rnn/_torch_passes.py) as a
differentiable call, _engine(sizes, batch_first, x, hx, lengths, params).

Eager mode runs _EngineRNN, an autograd.Function that keeps the forward
pass for its backward pass. Under torch.compile and torch.export (PyTorch
>= 2.4) the call is the custom operator rnn::forward, whose backward is
rnn::backward (the forward pass again, then its backward pass); both are
registered, with fake implementations, when this module is imported.
"""
from typing import List, Tuple

import torch

from ._lib import RnnError
from ._torch_passes import _backward, _forward


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
