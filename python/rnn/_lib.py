"""The engine's C interface (include/rnn/c_api.h), loaded with ctypes.

librnn_c is found next to this file (where `pip install .` puts it), or at
the path in RNN_LIBRARY (a build tree's build/librnn_c.so, say). It is
loaded on first use, so the exporter works without it.
"""
import ctypes
import os
import threading

API_VERSION = 1

DEVICE_AUTO, DEVICE_CPU, DEVICE_CUDA, DEVICE_REFERENCE = 0, 1, 2, 3
DEVICES = {"auto": DEVICE_AUTO, "cpu": DEVICE_CPU, "cuda": DEVICE_CUDA, "reference": DEVICE_REFERENCE}


class RnnError(RuntimeError):
    """A failure the engine reported; the message names the argument or
    file and what is wrong."""


class Config(ctypes.Structure):
    _fields_ = [
        ("input_size", ctypes.c_int64),
        ("hidden_size", ctypes.c_int64),
        ("num_layers", ctypes.c_int64),
        ("bidirectional", ctypes.c_int32),
        ("bias", ctypes.c_int32),
        ("relu", ctypes.c_int32),
        ("output_size", ctypes.c_int64),
        ("output_bias", ctypes.c_int32),
    ]


class Inputs(ctypes.Structure):
    _fields_ = [
        ("x", ctypes.c_void_p),
        ("seq_len", ctypes.c_int64),
        ("batch", ctypes.c_int64),
        ("batch_first", ctypes.c_int32),
        ("lengths", ctypes.c_void_p),
        ("h0", ctypes.c_void_p),
        ("device", ctypes.c_int32),
    ]


class CudaArgs(ctypes.Structure):
    _fields_ = [
        ("steps", ctypes.c_int64),
        ("batch", ctypes.c_int64),
        ("x", ctypes.c_void_p),
        ("h0", ctypes.c_void_p),
        ("lengths", ctypes.c_void_p),
        ("y", ctypes.c_void_p),
        ("h_n", ctypes.c_void_p),
    ]


_lock = threading.Lock()
_lib = None

_P = ctypes.c_void_p
_SIGNATURES = {
    "rnn_c_api_version": (ctypes.c_int, []),
    "rnn_version": (ctypes.c_char_p, []),
    "rnn_last_error": (ctypes.c_char_p, []),
    "rnn_num_threads": (ctypes.c_int, []),
    "rnn_set_num_threads": (ctypes.c_int, [ctypes.c_int]),
    "rnn_cuda_device_count": (ctypes.c_int, []),
    "rnn_model_new": (ctypes.c_int, [ctypes.POINTER(Config), ctypes.c_uint64, ctypes.c_int32, ctypes.POINTER(_P)]),
    "rnn_model_load": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(_P)]),
    "rnn_model_save": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_char_p]),
    "rnn_model_free": (None, [_P]),
    "rnn_model_config": (ctypes.c_int, [_P, ctypes.POINTER(Config)]),
    "rnn_model_num_tensors": (ctypes.c_int, [_P]),
    "rnn_model_tensor": (ctypes.c_int, [_P, ctypes.c_int, ctypes.POINTER(ctypes.c_char_p),
                                        ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int64),
                                        ctypes.POINTER(ctypes.POINTER(ctypes.c_float))]),
    "rnn_model_vocab": (ctypes.c_char_p, [_P]),
    "rnn_model_forward": (ctypes.c_int, [_P, ctypes.POINTER(Inputs), _P, _P]),
    "rnn_model_apply_head": (ctypes.c_int, [_P, _P, ctypes.c_int64, _P]),
    "rnn_pass_forward": (ctypes.c_int, [ctypes.POINTER(Config), ctypes.POINTER(_P), ctypes.POINTER(Inputs), _P, _P,
                                        ctypes.POINTER(_P)]),
    "rnn_pass_backward": (ctypes.c_int, [_P, _P, _P, _P, _P, ctypes.POINTER(_P)]),
    "rnn_pass_free": (None, [_P]),
    "rnn_cuda_plan_new": (ctypes.c_int, [ctypes.POINTER(Config), ctypes.c_int64, ctypes.c_int64, ctypes.c_int32,
                                         ctypes.POINTER(_P)]),
    "rnn_cuda_plan_free": (None, [_P]),
    "rnn_cuda_plan_sizes": (ctypes.c_int, [_P, ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_uint64),
                                           ctypes.POINTER(ctypes.c_uint64)]),
    "rnn_cuda_plan_load_weights": (ctypes.c_int, [_P, _P, _P]),
    "rnn_cuda_plan_forward": (ctypes.c_int, [_P, ctypes.POINTER(CudaArgs), _P, ctypes.c_int32, _P]),
    "rnn_cuda_plan_backward": (ctypes.c_int, [_P, ctypes.POINTER(CudaArgs), _P, _P, _P, _P, _P, _P, _P]),
}


def _candidates():
    env = os.environ.get("RNN_LIBRARY")
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    return [os.path.join(here, "librnn_c.so")]


def lib():
    """The loaded library (loaded on the first call)."""
    global _lib
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is None:
            paths = _candidates()
            errors = []
            for path in paths:
                if not os.path.exists(path):
                    errors.append(f"{path}: no such file")
                    continue
                try:
                    handle = ctypes.CDLL(path)
                except OSError as e:
                    errors.append(f"{path}: {e}")
                    continue
                for name, (res, args) in _SIGNATURES.items():
                    fn = getattr(handle, name)
                    fn.restype = res
                    fn.argtypes = args
                if handle.rnn_c_api_version() != API_VERSION:
                    errors.append(f"{path}: C API version {handle.rnn_c_api_version()}, this package needs "
                                  f"{API_VERSION} (rebuild: pip install .)")
                    continue
                _lib = handle
                break
            if _lib is None:
                raise RnnError("cannot load the rnn engine (librnn_c): " + "; ".join(errors) +
                               " (install the package with `pip install .` at the repository root, or set "
                               "RNN_LIBRARY to a built librnn_c.so)")
    return _lib


def check(rc):
    """Raises RnnError with the engine's message when a call failed."""
    if rc != 0:
        raise RnnError(lib().rnn_last_error().decode("utf-8", "replace"))


def pointer_array(ptrs):
    arr = (_P * max(len(ptrs), 1))()
    for i, p in enumerate(ptrs):
        arr[i] = p
    return arr


def device_code(device):
    if isinstance(device, int):
        return device
    try:
        return DEVICES[str(device)]
    except KeyError:
        raise RnnError(f"device: unknown device '{device}' (expected auto, cpu, cuda or reference)") from None
