"""Export a PyTorch RNN model to the .safetensors file rnn reads.

Needs PyTorch only (no `safetensors` package, not the engine). As a command:

    python3 -m rnn.export MODEL.pt OUT.safetensors [--nonlinearity tanh|relu] [--vocab-file F]
    python3 scripts/export_torch.py ...      (the same, from a checkout)

load(path) reads a .safetensors file back: (state_dict, metadata), for
module.load_state_dict(state_dict).

MODEL.pt is what torch.save wrote: a state_dict (which does not record its
nonlinearity, so --nonlinearity is then required), or a whole module (its
class must then be importable, as for any torch.load of a module). From
Python, where the model is at hand:

    from rnn.export import export     # or rnn.export(...), rnn.save(module, path)
    export(model, "model.safetensors")            # an nn.Module
    export(model.state_dict(), "m.safetensors", nonlinearity="tanh")

Every tensor of the state_dict is written as F32 under its own name (an
nn.RNN `rnn`, an nn.Linear `fc`, an nn.Embedding `emb`, or any other names
`rnn run` maps with --rnn-prefix, --head-prefix and --embedding-prefix). The
metadata records the nonlinearity (taken from the module's nn.RNN or
rnn.torch.RNN; an
nn.LSTM or nn.GRU is refused: rnn runs Elman networks only), an optional
vocabulary (the characters of a character model, index order) and any other
string pairs given.
"""
import argparse
import json
import os
import struct
import sys

import torch


class ExportError(Exception):
    pass


def _nonlinearity_of(module):
    kinds = set()
    for name, sub in module.named_modules():
        if isinstance(sub, (torch.nn.LSTM, torch.nn.GRU)):
            raise ExportError(f"module '{name or type(sub).__name__}' is an nn.{type(sub).__name__}: "
                              "rnn runs Elman networks (nn.RNN) only")
        if isinstance(sub, torch.nn.RNN) or getattr(sub, "_rnn_engine_module", False):
            kinds.add(sub.nonlinearity)
    if not kinds:
        raise ExportError("the module holds no nn.RNN (or rnn.torch.RNN)")
    if len(kinds) > 1:
        raise ExportError("the module's nn.RNNs use different nonlinearities: " + ", ".join(sorted(kinds)))
    return kinds.pop()


def _f32_bytes(t):
    t = t.detach().to(device="cpu", dtype=torch.float32).contiguous()
    try:
        return t.numpy().astype("<f4", copy=False).tobytes()
    except Exception:  # no NumPy: pack the values
        values = t.reshape(-1).tolist()
        return struct.pack("<%df" % len(values), *values)


def export(model_or_state_dict, path, nonlinearity=None, vocab=None, metadata=None):
    """Writes `path`; returns the tensor names written."""
    if isinstance(model_or_state_dict, torch.nn.Module):
        found = _nonlinearity_of(model_or_state_dict)
        if nonlinearity is not None and nonlinearity != found:
            raise ExportError(f"nonlinearity='{nonlinearity}' given, but the module's nn.RNN uses '{found}'")
        nonlinearity = found
        state = model_or_state_dict.state_dict()
    else:
        state = dict(model_or_state_dict)
        if nonlinearity is None:
            raise ExportError("a state_dict does not record its nonlinearity: give nonlinearity='tanh' or 'relu' "
                              "(or export the module itself)")
    if nonlinearity not in ("tanh", "relu"):
        raise ExportError(f"unknown nonlinearity '{nonlinearity}' (expected tanh or relu)")
    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    meta["nonlinearity"] = nonlinearity
    if vocab is not None:
        meta["vocab"] = vocab if isinstance(vocab, str) else "".join(vocab)

    header, blobs, offset = {}, [], 0
    for name, t in state.items():
        if not torch.is_tensor(t):
            raise ExportError(f"state_dict entry '{name}' is not a tensor")
        if not (t.is_floating_point()):
            raise ExportError(f"tensor '{name}' is {t.dtype}, not floating point")
        data = _f32_bytes(t)
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = meta
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)
    return list(state)


_DTYPES = {"F32": (torch.float32, 4), "F64": (torch.float64, 8), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2)}


def load(path):
    """Reads a .safetensors file (one rnn wrote, or any other) back into
    PyTorch: returns (state_dict, metadata) for module.load_state_dict()."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = blob[8 + n:]
    state = {}
    for name, e in header.items():
        if e["dtype"] not in _DTYPES:
            raise ExportError(f"{path}: tensor '{name}' has dtype {e['dtype']} (expected F32, F64, F16 or BF16)")
        dtype, size = _DTYPES[e["dtype"]]
        a, b = e["data_offsets"]
        count = (b - a) // size
        t = torch.frombuffer(bytearray(data[a:b]), dtype=dtype, count=count) if count else torch.zeros(0, dtype=dtype)
        state[name] = t.reshape(e["shape"]).clone()
    return state, meta


def _load(path):
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except TypeError:  # torch < 1.13 has no weights_only
        return torch.load(path, map_location="cpu")


def main(argv=None):
    p = argparse.ArgumentParser(description="Export a torch.save'd RNN model (module or state_dict) to .safetensors")
    p.add_argument("model", help="what torch.save wrote: an nn.Module or a state_dict")
    p.add_argument("out", help="the .safetensors file to write")
    p.add_argument("--nonlinearity", choices=["tanh", "relu"], help="required for a state_dict")
    p.add_argument("--vocab-file", help="a UTF-8 file whose characters are the vocabulary, in index order")
    a = p.parse_args(argv)
    try:
        obj = _load(a.model)
    except Exception as e:  # noqa: BLE001
        print(f"export: error: {a.model}: cannot load with torch.load: {e}", file=sys.stderr)
        return 1
    vocab = None
    if a.vocab_file:
        with open(a.vocab_file, encoding="utf-8") as f:
            vocab = f.read()
    try:
        names = export(obj, a.out, nonlinearity=a.nonlinearity, vocab=vocab)
    except ExportError as e:
        hint = " (--nonlinearity tanh|relu)" if "nonlinearity" in str(e) and a.nonlinearity is None else ""
        print(f"export: error: {a.model}: {e}{hint}", file=sys.stderr)
        return 1
    print(f"wrote {a.out}: {len(names)} tensors ({', '.join(names[:6])}{', ...' if len(names) > 6 else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
