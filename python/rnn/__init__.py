"""rnn: an engine for Elman recurrent networks (torch.nn.RNN's), in Python.

Two faces over one C library (librnn_c, rnn/c_api.h):

* ``rnn.torch.RNN``: a drop-in ``torch.nn.RNN`` whose forward and backward
  passes run on the engine (``import rnn.torch``; needs PyTorch).
* A NumPy API for those without PyTorch::

      import rnn
      m = rnn.load("model.safetensors")        # a PyTorch state_dict, as the CLI reads it
      y, h_n = m.forward(x)                    # x [T, B, I] float32
      logits = m.logits(y)                     # the model's head, if it has one
      rnn.save(m, "copy.safetensors")

Shapes are torch.nn.RNN's: x [T, B, I] ([B, T, I] with batch_first), y
[T, B, D*H], h0 and h_n [L*D, B, H], lengths [B] (any order, each in 1..T;
y is 0 past a sequence's length and h_n is its state at its last step).
Errors are ``rnn.RnnError`` carrying the engine's message.
"""
from ._lib import RnnError, check, device_code, lib, Config, Inputs
import ctypes as _ct

__version__ = "0.1.0"

__all__ = ["RnnError", "Model", "load", "save", "export", "num_threads", "set_num_threads",
           "cuda_device_count", "engine_version", "__version__"]


def engine_version():
    """The engine's version (librnn_c's)."""
    return lib().rnn_version().decode()


def num_threads():
    """The CPU backend's thread count."""
    return lib().rnn_num_threads()


def set_num_threads(n):
    """Chooses the CPU backend's thread count; only before its first pass
    (RNN_NUM_THREADS in the environment does the same at start-up)."""
    check(lib().rnn_set_num_threads(int(n)))


def cuda_device_count():
    """CUDA devices the engine can use (0 without its CUDA backend or a GPU)."""
    return lib().rnn_cuda_device_count()


def _np():
    import numpy
    return numpy


def _f32(a, name):
    np = _np()
    a = np.asarray(a)
    if a.dtype != np.float32:
        if a.dtype.kind not in "fiu":
            raise RnnError(f"{name}: expected a float32 array, got dtype {a.dtype}")
        a = a.astype(np.float32)
    return np.ascontiguousarray(a)


class Model:
    """An Elman RNN (optionally with a linear head) held by the engine."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 bidirectional=False, output_size=0, output_bias=True, seed=None):
        """Weights drawn like PyTorch's initialisation from `seed` (zeros
        when seed is None)."""
        if nonlinearity not in ("tanh", "relu"):
            raise RnnError(f"nonlinearity: expected 'tanh' or 'relu', got {nonlinearity!r}")
        cfg = Config(int(input_size), int(hidden_size), int(num_layers), int(bool(bidirectional)), int(bool(bias)),
                     int(nonlinearity == "relu"), int(output_size), int(bool(output_bias)))
        h = _ct.c_void_p()
        check(lib().rnn_model_new(_ct.byref(cfg), 0 if seed is None else int(seed), int(seed is not None),
                                  _ct.byref(h)))
        self._h = h

    @classmethod
    def _adopt(cls, handle):
        m = cls.__new__(cls)
        m._h = handle
        return m

    def __del__(self):
        h = getattr(self, "_h", None)
        if h is not None and h.value:
            lib().rnn_model_free(h)
            self._h = None

    def _config(self):
        c = Config()
        check(lib().rnn_model_config(self._h, _ct.byref(c)))
        return c

    input_size = property(lambda self: self._config().input_size)
    hidden_size = property(lambda self: self._config().hidden_size)
    num_layers = property(lambda self: self._config().num_layers)
    bidirectional = property(lambda self: bool(self._config().bidirectional))
    bias = property(lambda self: bool(self._config().bias))
    nonlinearity = property(lambda self: "relu" if self._config().relu else "tanh")
    output_size = property(lambda self: self._config().output_size)

    @property
    def vocab(self):
        """The characters of a character-level model, in index order ("" if none)."""
        return lib().rnn_model_vocab(self._h).decode("utf-8")

    def _tensors(self):
        out = []
        for i in range(lib().rnn_model_num_tensors(self._h)):
            name, rank = _ct.c_char_p(), _ct.c_int()
            shape = (_ct.c_int64 * 2)()
            data = _ct.POINTER(_ct.c_float)()
            check(lib().rnn_model_tensor(self._h, i, _ct.byref(name), _ct.byref(rank), shape, _ct.byref(data)))
            out.append((name.value.decode(), tuple(shape[: rank.value]), data))
        return out

    def state_dict(self):
        """The parameters under torch.nn.RNN's names (the head's as fc.*), as
        float32 NumPy copies, in state_dict order."""
        np = _np()
        d = {}
        for name, shape, data in self._tensors():
            n = int(np.prod(shape))
            d[name] = np.ctypeslib.as_array(data, shape=(n,)).reshape(shape).copy() if n else np.zeros(shape,
                                                                                                          np.float32)
        return d

    def load_state_dict(self, state):
        """Copies arrays (or tensors) named as state_dict() names them in;
        every parameter must be given, with its shape."""
        np = _np()
        state = dict(state)
        for name, shape, data in self._tensors():
            if name not in state:
                raise RnnError(f"state_dict: missing tensor '{name}'")
            v = state.pop(name)
            if hasattr(v, "detach"):
                v = v.detach().cpu().numpy()
            v = _f32(v, name)
            if tuple(v.shape) != shape:
                raise RnnError(f"{name}: expected shape {list(shape)}, got {list(v.shape)}")
            n = int(np.prod(shape))
            if n:
                np.ctypeslib.as_array(data, shape=(n,))[:] = v.reshape(-1)
        if state:
            raise RnnError("state_dict: unexpected tensors " + ", ".join(sorted(state)))

    def forward(self, x, lengths=None, h0=None, batch_first=False, device="cpu"):
        """The RNN's forward pass: returns (y, h_n) as torch.nn.RNN does
        (y [T, B, D*H] or [B, T, D*H], h_n [L*D, B, H]). device: "cpu" (the
        fast backend), "reference" (double precision), "cuda" or "auto"."""
        np = _np()
        c = self._config()
        x = _f32(x, "x")
        if x.ndim != 3 or x.shape[2] != c.input_size:
            raise RnnError(f"x: expected shape [{'B, T' if batch_first else 'T, B'}, {c.input_size}], "
                           f"got {list(x.shape)}")
        T, B = (x.shape[1], x.shape[0]) if batch_first else (x.shape[0], x.shape[1])
        D = 2 if c.bidirectional else 1
        inp = Inputs(x.ctypes.data, T, B, int(bool(batch_first)), None, None, device_code(device))
        if lengths is not None:
            lengths = np.ascontiguousarray(np.asarray(lengths, dtype=np.int64))
            if lengths.shape != (B,):
                raise RnnError(f"lengths: expected shape [{B}], got {list(lengths.shape)}")
            inp.lengths = lengths.ctypes.data
        if h0 is not None:
            h0 = _f32(h0, "h0")
            if h0.shape != (c.num_layers * D, B, c.hidden_size):
                raise RnnError(f"h0: expected shape [{c.num_layers * D}, {B}, {c.hidden_size}], got {list(h0.shape)}")
            inp.h0 = h0.ctypes.data
        y = np.empty((B, T, D * c.hidden_size) if batch_first else (T, B, D * c.hidden_size), np.float32)
        h_n = np.empty((c.num_layers * D, B, c.hidden_size), np.float32)
        check(lib().rnn_model_forward(self._h, _ct.byref(inp), y.ctypes.data, h_n.ctypes.data))
        return y, h_n

    __call__ = forward

    def logits(self, y):
        """The head: y [..., D*H] -> y W^T + b [..., O]."""
        np = _np()
        c = self._config()
        if c.output_size == 0:
            raise RnnError("model: has no output head")
        y = _f32(y, "y")
        D = 2 if c.bidirectional else 1
        if y.ndim < 1 or y.shape[-1] != D * c.hidden_size:
            raise RnnError(f"y: expected a last dimension of {D * c.hidden_size}, got shape {list(y.shape)}")
        rows = int(np.prod(y.shape[:-1]))
        out = np.empty(y.shape[:-1] + (c.output_size,), np.float32)
        if rows:
            check(lib().rnn_model_apply_head(self._h, y.ctypes.data, rows, out.ctypes.data))
        return out

    def __repr__(self):
        c = self._config()
        extra = f", output_size={c.output_size}" if c.output_size else ""
        return (f"rnn.Model({c.input_size}, {c.hidden_size}, num_layers={c.num_layers}, "
                f"nonlinearity='{'relu' if c.relu else 'tanh'}', bias={bool(c.bias)}, "
                f"bidirectional={bool(c.bidirectional)}{extra})")


def load(path):
    """Reads a model from a .safetensors file holding a PyTorch state_dict
    (an nn.RNN, optionally an nn.Linear head), as `rnn run` reads it."""
    h = _ct.c_void_p()
    check(lib().rnn_model_load(str(path).encode(), _ct.byref(h)))
    return Model._adopt(h)


def save(model, path, prefix=""):
    """Writes a Model as F32 safetensors under torch.nn.RNN's names (prefix
    "rnn." gives a module's `rnn.` and `fc.` names). A PyTorch module or
    state_dict goes to rnn.export.export instead."""
    if not isinstance(model, Model):
        from .export import export as _export
        return _export(model, str(path))
    check(lib().rnn_model_save(model._h, str(path).encode(), str(prefix).encode()))


def export(module_or_state_dict, path, nonlinearity=None, vocab=None, metadata=None):
    """Writes a PyTorch module (holding an nn.RNN or rnn.torch.RNN, an
    optional nn.Linear head) or state_dict as the .safetensors file the
    engine and the CLI read (rnn.export.export)."""
    from .export import export as _export
    return _export(module_or_state_dict, str(path), nonlinearity=nonlinearity, vocab=vocab, metadata=metadata)
