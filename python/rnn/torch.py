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

This module holds the nn.Module; the engine's passes on tensors are in
rnn/_torch_passes.py, their autograd and custom operators in
rnn/_torch_autograd.py.
"""
import math
import warnings

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from ._lib import RnnError
from ._torch_autograd import _engine

__all__ = ["RNN", "RnnError"]


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
