#!/usr/bin/python3
"""Make the torch.nn.RNN parity fixtures under tests/data/parity/ and the gradient
fixtures under tests/data/grad/ (see the "gradient fixtures" section below and
tests/data/grad/README.md).

Each case folder tests/data/parity/<case>/ holds:

  model.safetensors   torch.nn.RNN state_dict names (weight_ih_l{k}, weight_hh_l{k},
                      bias_ih_l{k}, bias_hh_l{k}, and the _reverse variants), or the
                      same under "rnn." plus "fc.weight"/"fc.bias" for t17;
                      __metadata__ {"nonlinearity": "tanh"|"relu"[, "vocab": ...]}
  x.npy               [T,B,I] ([B,T,I] with --batch-first), '<f4' unless stated
  h0.npy              [L*D,B,H] '<f4', only for cases with an initial state
  lengths.npy         [B] '<i8' ('<i4' for t08), only for variable-length cases
                      (unsorted, each in [1,T], one equal to T)
  args.txt            extra CLI flags: "" or "--batch-first\\n"
  expected_y.npy      what `rnn run --output` writes: [T,B,D*H] ([B,T,D*H] with
                      --batch-first) '<f4', 0 past a sequence's length; for a
                      model with a head (t17) the logits [T,B,O], fc applied
                      to the RNN's y, which is then expected_states.npy
  expected_hn.npy     [L*D,B,H] '<f4'

The expected values are the exact function of the stored inputs: every weight and
input is first reduced to the float32 value the engine sees after loading (F64/F16/BF16
tensors and '<f8' x converted to float32), then PyTorch runs a float64 copy of the
module (packed sequences via pack_padded_sequence(..., enforce_sorted=False) when the
case has lengths) and the results are rounded to float32.

Everything is drawn from fixed NumPy seeds (weights uniform in +-1/sqrt(H) like
PyTorch's default init, x ~ N(0,1), h0 ~ 0.5*N(0,1)), so running the script twice
gives byte-identical files.  After writing, it reads every case back and checks
shapes, zero padding, an independent NumPy float64 reference and a float32 PyTorch run.

Rerun (Debian's python3-torch and python3-numpy, no other packages needed):

    tests/data/make_fixtures.py            # from the repository root
    /usr/bin/python3 tests/data/make_fixtures.py --no-check
    /usr/bin/python3 tests/data/make_fixtures.py --grad-only   # or --parity-only
"""

import json
import os
import shutil
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "parity")

F32 = np.dtype("<f4")
F64 = np.dtype("<f8")


# --------------------------------------------------------------------------- cases

def case(name, L, I, H, T, B, nl="tanh", bidir=False, bias=True, h0=False, lengths=None,
         lengths_dtype="<i8", batch_first=False, wdtype="F32", xdtype="<f4", xscale=1.0,
         head=None, extra_meta=None):
    return dict(name=name, L=L, I=I, H=H, T=T, B=B, nl=nl, bidir=bidir, bias=bias, h0=h0,
                lengths=lengths, lengths_dtype=lengths_dtype, batch_first=batch_first,
                wdtype=wdtype, xdtype=xdtype, xscale=xscale, head=head,
                extra_meta=extra_meta or {})


CASES = [
    case("t01_single_tanh", L=1, I=5, H=8, T=7, B=3),
    case("t02_relu", L=1, I=4, H=6, T=9, B=2, nl="relu", h0=True),
    case("t03_no_bias", L=2, I=3, H=5, T=6, B=2, bias=False, h0=True),
    case("t04_layers3_h0", L=3, I=6, H=7, T=5, B=4, h0=True),
    case("t05_bidir_layers2", L=2, I=5, H=6, T=8, B=3, bidir=True, h0=True),
    case("t06_bidir_relu_nobias", L=1, I=4, H=5, T=6, B=2, nl="relu", bidir=True, bias=False),
    case("t07_varlen", L=1, I=3, H=4, T=7, B=4, h0=True, lengths=[3, 7, 1, 5]),
    case("t08_varlen_bidir_layers2_batch_first", L=2, I=4, H=5, T=6, B=3, bidir=True, h0=True,
         lengths=[4, 6, 2], lengths_dtype="<i4", batch_first=True),
    case("t09_batch_first", L=1, I=3, H=4, T=5, B=2, batch_first=True),
    case("t10_t1_b1", L=2, I=2, H=3, T=1, B=1, h0=True),
    case("t11_odd_sizes_long", L=1, I=7, H=13, T=300, B=2, h0=True),
    case("t12_saturating", L=1, I=4, H=6, T=10, B=2, xscale=50.0),
    case("t13_weights_f64", L=1, I=3, H=4, T=4, B=2, wdtype="F64"),
    case("t14_weights_f16", L=1, I=3, H=4, T=4, B=2, wdtype="F16"),
    case("t15_weights_bf16", L=1, I=3, H=4, T=4, B=2, wdtype="BF16"),
    case("t16_x_f64", L=1, I=3, H=4, T=4, B=2, xdtype="<f8"),
    case("t17_prefix_head", L=1, I=4, H=6, T=5, B=2, head=3, extra_meta={"vocab": "abc"}),
]


# ------------------------------------------------------------------ number formats

def to_bf16_bits(a):
    """float32 -> bfloat16 bit patterns (uint16), round to nearest even (no NaNs here)."""
    bits = np.ascontiguousarray(a, dtype=F32).view("<u4").astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype("<u2")


def bf16_bits_to_f32(b):
    return (b.astype("<u4") << 16).view(F32)


def stored_and_effective(w64, wdtype):
    """A float64 draw -> (array written to the file, float32 value the engine sees)."""
    if wdtype == "F32":
        s = w64.astype(F32)
        return s, s
    if wdtype == "F64":
        s = w64.astype(F64)  # full float64 precision in the file
        return s, s.astype(F32)
    if wdtype == "F16":
        s = w64.astype(F32).astype("<f2")
        return s, s.astype(F32)
    if wdtype == "BF16":
        s = to_bf16_bits(w64.astype(F32))
        eff = bf16_bits_to_f32(s)
        # cross-check against torch's own rounding
        t = torch.from_numpy(w64.astype(F32)).to(torch.bfloat16).to(torch.float32).numpy()
        assert np.array_equal(t, eff), "bf16 rounding disagrees with torch"
        return s, eff
    raise ValueError(wdtype)


ST_DTYPE = {"F32": F32, "F64": F64, "F16": np.dtype("<f2"), "BF16": np.dtype("<u2")}


# ------------------------------------------------------------------- safetensors

def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, dtype string, numpy array) in file order."""
    header = {"__metadata__": dict(metadata)} if metadata else {}
    blobs = []
    offset = 0
    for name, dt, arr in tensors:
        data = np.ascontiguousarray(arr, dtype=ST_DTYPE[dt]).tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * (-len(hb) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for d in blobs:
            f.write(d)


def read_safetensors(path):
    """-> ({name: float32 array as the engine would load it}, metadata, {name: dtype})."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    meta = header.pop("__metadata__", {})
    out, dtypes = {}, {}
    end_max = 0
    for name, info in header.items():
        b, e = info["data_offsets"]
        end_max = max(end_max, e)
        a = np.frombuffer(data[b:e], dtype=ST_DTYPE[info["dtype"]]).reshape(info["shape"])
        a = bf16_bits_to_f32(a) if info["dtype"] == "BF16" else a.astype(F32)
        out[name] = a
        dtypes[name] = info["dtype"]
    assert end_max == len(data), f"{path}: trailing or missing data"
    return out, meta, dtypes


# ------------------------------------------------------------------------ model

def param_names(c):
    D = 2 if c["bidir"] else 1
    names = []
    for k in range(c["L"]):
        for d in range(D):
            suf = f"_l{k}" + ("_reverse" if d else "")
            fan_in = c["I"] if k == 0 else D * c["H"]
            names.append(("weight_ih" + suf, (c["H"], fan_in)))
            names.append(("weight_hh" + suf, (c["H"], c["H"])))
            if c["bias"]:
                names.append(("bias_ih" + suf, (c["H"],)))
                names.append(("bias_hh" + suf, (c["H"],)))
    return names


def build_rnn(c, weights, dtype):
    rnn = torch.nn.RNN(input_size=c["I"], hidden_size=c["H"], num_layers=c["L"],
                       nonlinearity=c["nl"], bias=c["bias"], batch_first=c["batch_first"],
                       bidirectional=c["bidir"])
    rnn = rnn.to(dtype)
    sd = {k: torch.from_numpy(np.asarray(v, dtype=np.float64)).to(dtype) for k, v in weights.items()}
    rnn.load_state_dict(sd, strict=True)
    return rnn


def run_torch(c, weights, x, h0, lengths, dtype):
    """weights: {name: float32 array}; x, h0 float32 arrays. Returns (y, hn) numpy."""
    rnn = build_rnn(c, weights, dtype)
    xt = torch.from_numpy(np.asarray(x, dtype=np.float64)).to(dtype)
    ht = None if h0 is None else torch.from_numpy(np.asarray(h0, dtype=np.float64)).to(dtype)
    with torch.no_grad():
        if lengths is None:
            y, hn = rnn(xt, ht)
        else:
            lt = torch.as_tensor(np.asarray(lengths, dtype=np.int64))
            packed = torch.nn.utils.rnn.pack_padded_sequence(
                xt, lt, batch_first=c["batch_first"], enforce_sorted=False)
            yp, hn = rnn(packed, ht)
            y, _ = torch.nn.utils.rnn.pad_packed_sequence(
                yp, batch_first=c["batch_first"], total_length=c["T"])
    return y.numpy(), hn.numpy()


def numpy_reference(c, weights, x, h0, lengths):
    """Independent float64 Elman RNN with PyTorch's packed-sequence semantics."""
    L, H, T, B = c["L"], c["H"], c["T"], c["B"]
    D = 2 if c["bidir"] else 1
    act = np.tanh if c["nl"] == "tanh" else (lambda v: np.maximum(v, 0.0))
    x = np.asarray(x, np.float64)
    if c["batch_first"]:
        x = x.transpose(1, 0, 2)
    lens = [T] * B if lengths is None else [int(v) for v in lengths]
    h0 = np.zeros((L * D, B, H)) if h0 is None else np.asarray(h0, np.float64)
    hn = np.zeros((L * D, B, H))
    inp = x
    for k in range(L):
        out = np.zeros((T, B, D * H))
        for d in range(D):
            suf = f"_l{k}" + ("_reverse" if d else "")
            wih = weights["weight_ih" + suf].astype(np.float64)
            whh = weights["weight_hh" + suf].astype(np.float64)
            b = np.zeros(H)
            if c["bias"]:
                b = weights["bias_ih" + suf].astype(np.float64) + weights["bias_hh" + suf].astype(np.float64)
            for bi in range(B):
                h = h0[k * D + d, bi].copy()
                steps = range(lens[bi]) if d == 0 else range(lens[bi] - 1, -1, -1)
                for t in steps:
                    h = act(wih @ inp[t, bi] + b + whh @ h)
                    out[t, bi, d * H:(d + 1) * H] = h
                hn[k * D + d, bi] = h
        inp = out
    y = inp.transpose(1, 0, 2) if c["batch_first"] else inp
    return y, hn


# ----------------------------------------------------------------------- writing

def make_case(index, c):
    rng = np.random.default_rng(20240600 + index)
    D = 2 if c["bidir"] else 1
    L, I, H, T, B = c["L"], c["I"], c["H"], c["T"], c["B"]
    k = 1.0 / np.sqrt(H)

    # weights, in state_dict order
    file_tensors, eff = [], {}
    prefix = "rnn." if c["head"] else ""
    for name, shape in param_names(c):
        w64 = rng.uniform(-k, k, size=shape)
        stored, effective = stored_and_effective(w64, c["wdtype"])
        file_tensors.append((prefix + name, c["wdtype"], stored))
        eff[name] = effective
    head_w = head_b = None
    if c["head"]:
        kh = 1.0 / np.sqrt(D * H)
        head_w = rng.uniform(-kh, kh, size=(c["head"], D * H)).astype(F32)
        head_b = rng.uniform(-kh, kh, size=(c["head"],)).astype(F32)
        file_tensors.append(("fc.weight", "F32", head_w))
        file_tensors.append(("fc.bias", "F32", head_b))

    xshape = (B, T, I) if c["batch_first"] else (T, B, I)
    x_stored = (c["xscale"] * rng.standard_normal(xshape)).astype(c["xdtype"])
    x_eff = x_stored.astype(F32)
    h0 = (0.5 * rng.standard_normal((L * D, B, H))).astype(F32) if c["h0"] else None
    lengths = None
    if c["lengths"] is not None:
        lengths = np.asarray(c["lengths"], dtype=c["lengths_dtype"])
        assert lengths.min() >= 1 and lengths.max() == T and list(lengths) != sorted(lengths)

    y64, hn64 = run_torch(c, eff, x_eff, h0, lengths, torch.float64)
    y, hn = y64.astype(F32), hn64.astype(F32)

    d = os.path.join(OUT, c["name"])
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    meta = {"nonlinearity": c["nl"]}
    meta.update(c["extra_meta"])
    write_safetensors(os.path.join(d, "model.safetensors"), file_tensors, meta)
    np.save(os.path.join(d, "x.npy"), x_stored)
    if h0 is not None:
        np.save(os.path.join(d, "h0.npy"), h0)
    if lengths is not None:
        np.save(os.path.join(d, "lengths.npy"), lengths)
    with open(os.path.join(d, "args.txt"), "w") as f:
        f.write("--batch-first\n" if c["batch_first"] else "")
    np.save(os.path.join(d, "expected_states.npy" if c["head"] else "expected_y.npy"), y)
    np.save(os.path.join(d, "expected_hn.npy"), hn)
    if c["head"]:
        logits = y64 @ head_w.astype(np.float64).T + head_b.astype(np.float64)
        np.save(os.path.join(d, "expected_y.npy"), logits.astype(F32))


# ---------------------------------------------------------------------- checking

def check_case(c):
    d = os.path.join(OUT, c["name"])
    L, I, H, T, B = c["L"], c["I"], c["H"], c["T"], c["B"]
    D = 2 if c["bidir"] else 1
    bf = c["batch_first"]
    tensors, meta, dtypes = read_safetensors(os.path.join(d, "model.safetensors"))
    assert meta.get("nonlinearity") == c["nl"]
    prefix = "rnn." if c["head"] else ""
    expected_names = [prefix + n for n, _ in param_names(c)] + (["fc.weight", "fc.bias"] if c["head"] else [])
    assert list(tensors) == expected_names, (list(tensors), expected_names)
    for n, shape in param_names(c):
        assert tensors[prefix + n].shape == shape and dtypes[prefix + n] == c["wdtype"]
    w = {n: tensors[prefix + n] for n, _ in param_names(c)}

    x = np.load(os.path.join(d, "x.npy"))
    assert x.dtype == np.dtype(c["xdtype"]) and x.shape == ((B, T, I) if bf else (T, B, I))
    x = x.astype(F32)
    h0 = None
    if os.path.exists(os.path.join(d, "h0.npy")):
        h0 = np.load(os.path.join(d, "h0.npy"))
        assert h0.dtype == F32 and h0.shape == (L * D, B, H)
    assert (h0 is not None) == c["h0"]
    lengths = None
    if os.path.exists(os.path.join(d, "lengths.npy")):
        lengths = np.load(os.path.join(d, "lengths.npy"))
        assert lengths.dtype == np.dtype(c["lengths_dtype"]) and lengths.shape == (B,)
    assert (lengths is not None) == (c["lengths"] is not None)
    with open(os.path.join(d, "args.txt")) as f:
        assert f.read() == ("--batch-first\n" if bf else "")

    y = np.load(os.path.join(d, "expected_states.npy" if c["head"] else "expected_y.npy"))
    hn = np.load(os.path.join(d, "expected_hn.npy"))
    assert y.dtype == F32 and y.shape == ((B, T, D * H) if bf else (T, B, D * H))
    assert hn.dtype == F32 and hn.shape == (L * D, B, H)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(hn))

    # padding is exactly zero; valid positions are not all zero
    yt = y.transpose(1, 0, 2) if bf else y
    lens = [T] * B if lengths is None else [int(v) for v in lengths]
    for b in range(B):
        assert np.all(yt[lens[b]:, b] == 0.0), (c["name"], b)
        assert np.any(yt[:lens[b], b] != 0.0)
        # h_n of the top layer: forward = y at step len-1, reverse = y at step 0
        assert np.array_equal(hn[(L - 1) * D, b], yt[lens[b] - 1, b, :H])
        if D == 2:
            assert np.array_equal(hn[(L - 1) * D + 1, b], yt[0, b, H:])

    # independent NumPy float64 reference: must agree to float32 rounding
    ry, rhn = numpy_reference(c, w, x, h0, lengths)
    scale = max(1.0, float(np.abs(ry).max()))
    ref_err = max(float(np.abs(ry - y).max()), float(np.abs(rhn - hn).max())) / scale
    assert ref_err < 2e-7 * max(1, T) ** 0.5 * 4, (c["name"], ref_err)

    # a float32 PyTorch run on the same stored values
    y32, hn32 = run_torch(c, w, x, h0, lengths, torch.float32)
    f32_err = max(float(np.abs(y32 - y).max()), float(np.abs(hn32 - hn).max())) / scale
    y32t = y32.transpose(1, 0, 2) if bf else y32
    for b in range(B):
        assert np.all(y32t[lens[b]:, b] == 0.0)

    extra = ""
    if c["head"]:
        lg = np.load(os.path.join(d, "expected_y.npy"))
        assert lg.dtype == F32 and lg.shape == (T, B, c["head"])
        rl = ry @ tensors["fc.weight"].astype(np.float64).T + tensors["fc.bias"].astype(np.float64)
        assert np.abs(rl - lg).max() < 1e-6
        assert meta.get("vocab") == "abc"
        extra = f" logits{lg.shape}"
    return (f"{c['name']:40s} x{tuple(np.load(os.path.join(d, 'x.npy')).shape)} "
            f"y{y.shape} hn{hn.shape}{extra}  np-ref {ref_err:.1e}  f32-torch {f32_err:.1e}")


# ========================================================== gradient fixtures
#
# tests/data/grad/<case>/ is what /work/shared/tools/check-grad reads: the same
# model.safetensors / x.npy / h0.npy / lengths.npy / args.txt as a parity case, plus
#
#   dy.npy                     [T,B,D*H] ([B,T,D*H] with --batch-first) '<f4', N(0,1);
#                              large non-zero garbage past each sequence's length
#   dhn.npy                    [L*D,B,H] '<f4', N(0,1), only for cases that have it
#   expected_y.npy             as in the parity cases
#   expected_dx.npy            like x, '<f4'
#   expected_dh0.npy           [L*D,B,H] '<f4', only when h0.npy exists
#   expected_grads.safetensors one F32 tensor per nn.RNN parameter, state_dict names
#
# Expected values: torch.autograd.backward([y, h_n], [dy, dh_n]) (dh_n zeros without
# dhn.npy) on a float64 copy of the module built from the float32 stored values,
# packed via pack_padded_sequence(enforce_sorted=False) / pad_packed_sequence(
# total_length=T) when the case has lengths, rounded to float32.

GRAD_OUT = os.path.join(HERE, "grad")


def gcase(name, dhn=False, **kw):
    c = case(name, **kw)
    c["dhn"] = dhn
    return c


GRAD_CASES = [
    gcase("g01_single_tanh", L=1, I=4, H=6, T=5, B=3),
    gcase("g02_relu_h0_dhn", L=1, I=3, H=5, T=6, B=2, nl="relu", h0=True, dhn=True),
    gcase("g03_no_bias_layers2", L=2, I=3, H=4, T=5, B=2, bias=False, h0=True, dhn=True),
    gcase("g04_layers3", L=3, I=5, H=6, T=4, B=3, h0=True, dhn=True),
    gcase("g05_bidir_layers2", L=2, I=4, H=5, T=6, B=3, bidir=True, h0=True, dhn=True),
    gcase("g06_varlen_bidir_relu", L=1, I=4, H=5, T=7, B=4, nl="relu", bidir=True, h0=True,
          dhn=True, lengths=[3, 7, 1, 5]),
    gcase("g07_varlen_layers2_batch_first", L=2, I=3, H=4, T=6, B=3, bidir=True, h0=True,
          dhn=True, lengths=[4, 6, 2], lengths_dtype="<i4", batch_first=True),
    gcase("g08_t1_b1", L=1, I=2, H=3, T=1, B=1, h0=True, dhn=True),
    gcase("g09_long_t60", L=1, I=3, H=8, T=60, B=2, h0=True),
]

# (case, parameter, index) checked by central finite differences in float64
FD_CHECKS = [
    ("g07_varlen_layers2_batch_first", "weight_hh_l0_reverse", (1, 2)),
    ("g07_varlen_layers2_batch_first", "weight_ih_l1", (2, 5)),
    ("g07_varlen_layers2_batch_first", "bias_ih_l0", (3,)),
    ("g02_relu_h0_dhn", "weight_ih_l0", (4, 1)),
]


def valid_mask(c, lengths):
    """[T,B] (or [B,T] with batch_first) bool: True at positions < length."""
    T, B = c["T"], c["B"]
    lens = np.full(B, T) if lengths is None else np.asarray(lengths, np.int64)
    m = np.arange(T)[:, None] < lens[None, :]
    return m.T if c["batch_first"] else m


def torch_grads(c, weights, x, h0, lengths, dy, dhn, dtype):
    """float32 numpy inputs -> (y, {"dx", "dh0"?, param name: grad}) as numpy in dtype."""
    rnn = build_rnn(c, weights, dtype)
    as_t = lambda a: torch.from_numpy(np.asarray(a, dtype=np.float64)).to(dtype)
    xt = as_t(x).requires_grad_(True)
    ht = None if h0 is None else as_t(h0).requires_grad_(True)
    if lengths is None:
        y, hn = rnn(xt, ht)
    else:
        lt = torch.as_tensor(np.asarray(lengths, dtype=np.int64))
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            xt, lt, batch_first=c["batch_first"], enforce_sorted=False)
        yp, hn = rnn(packed, ht)
        y, _ = torch.nn.utils.rnn.pad_packed_sequence(
            yp, batch_first=c["batch_first"], total_length=c["T"])
    dhn_t = torch.zeros_like(hn) if dhn is None else as_t(dhn)
    torch.autograd.backward([y, hn], [as_t(dy), dhn_t])
    g = {"dx": xt.grad.numpy()}
    if ht is not None:
        g["dh0"] = ht.grad.numpy()
    for name, p in rnn.named_parameters():
        g[name] = p.grad.numpy()
    return y.detach().numpy(), g


def numpy_bptt(c, weights, x, h0, lengths, dy, dhn):
    """Independent float64 BPTT in NumPy (PyTorch packed-sequence semantics).

    Returns (y, grads, preacts) with grads keyed like torch_grads and preacts the
    list of every pre-activation visited (for the ReLU margin check)."""
    L, H, T, B = c["L"], c["H"], c["T"], c["B"]
    D = 2 if c["bidir"] else 1
    relu = c["nl"] == "relu"
    bf = c["batch_first"]
    x = np.asarray(x, np.float64)
    dy = np.asarray(dy, np.float64)
    if bf:
        x, dy = x.transpose(1, 0, 2), dy.transpose(1, 0, 2)
    lens = [T] * B if lengths is None else [int(v) for v in lengths]
    h0 = np.zeros((L * D, B, H)) if h0 is None else np.asarray(h0, np.float64)
    dhn = np.zeros((L * D, B, H)) if dhn is None else np.asarray(dhn, np.float64)
    W = {k: np.asarray(v, np.float64) for k, v in weights.items()}
    sfx = lambda k, d: f"_l{k}" + ("_reverse" if d else "")
    steps = lambda d, n: list(range(n)) if d == 0 else list(range(n - 1, -1, -1))

    # forward, keeping every layer's input and every state
    inputs, states, preacts = [], {}, []
    inp = x
    for k in range(L):
        inputs.append(inp)
        out = np.zeros((T, B, D * H))
        for d in range(D):
            s = sfx(k, d)
            b = (W["bias_ih" + s] + W["bias_hh" + s]) if c["bias"] else np.zeros(H)
            for bi in range(B):
                h = h0[k * D + d, bi]
                for t in steps(d, lens[bi]):
                    z = W["weight_ih" + s] @ inp[t, bi] + W["weight_hh" + s] @ h + b
                    preacts.append(z)
                    h = np.maximum(z, 0.0) if relu else np.tanh(z)
                    states[(k, d, bi, t)] = (z, h)
                    out[t, bi, d * H:(d + 1) * H] = h
        inp = out
    y = inp

    # backward, top layer first
    g = {n: np.zeros(shape) for n, shape in param_names(c)}
    dh0 = np.zeros((L * D, B, H))
    dout = dy
    for k in range(L - 1, -1, -1):
        lin = inputs[k]
        din = np.zeros_like(lin)
        for d in range(D):
            s = sfx(k, d)
            for bi in range(B):
                dh = dhn[k * D + d, bi].copy()
                order = steps(d, lens[bi])
                for j in range(len(order) - 1, -1, -1):
                    t = order[j]
                    z, h = states[(k, d, bi, t)]
                    hprev = states[(k, d, bi, order[j - 1])][1] if j > 0 else h0[k * D + d, bi]
                    dh = dh + dout[t, bi, d * H:(d + 1) * H]
                    dz = dh * ((z > 0).astype(np.float64) if relu else 1.0 - h * h)
                    g["weight_ih" + s] += np.outer(dz, lin[t, bi])
                    g["weight_hh" + s] += np.outer(dz, hprev)
                    if c["bias"]:
                        g["bias_ih" + s] += dz
                        g["bias_hh" + s] += dz
                    din[t, bi] += W["weight_ih" + s].T @ dz
                    dh = W["weight_hh" + s].T @ dz
                dh0[k * D + d, bi] = dh
        dout = din
    g["dx"] = dout.transpose(1, 0, 2) if bf else dout
    g["dh0"] = dh0
    return (y.transpose(1, 0, 2) if bf else y), g, preacts


def make_grad_case(index, c):
    rng = np.random.default_rng(20240700 + index)
    D = 2 if c["bidir"] else 1
    L, I, H, T, B = c["L"], c["I"], c["H"], c["T"], c["B"]
    k = 1.0 / np.sqrt(H)
    bf = c["batch_first"]

    file_tensors, w = [], {}
    for name, shape in param_names(c):
        w[name] = rng.uniform(-k, k, size=shape).astype(F32)
        assert np.all(w[name] != 0)
        file_tensors.append((name, "F32", w[name]))
    x = rng.standard_normal((B, T, I) if bf else (T, B, I)).astype(F32)
    h0 = (0.5 * rng.standard_normal((L * D, B, H))).astype(F32) if c["h0"] else None
    lengths = None
    if c["lengths"] is not None:
        lengths = np.asarray(c["lengths"], dtype=c["lengths_dtype"])
        assert lengths.min() >= 1 and lengths.max() == T and list(lengths) != sorted(lengths)
    yshape = (B, T, D * H) if bf else (T, B, D * H)
    dy = rng.standard_normal(yshape).astype(F32)
    garbage = (rng.choice([-1.0, 1.0], size=yshape) * rng.uniform(100.0, 1000.0, size=yshape)).astype(F32)
    dy = np.where(valid_mask(c, lengths)[:, :, None], dy, garbage).astype(F32)
    dhn = rng.standard_normal((L * D, B, H)).astype(F32) if c["dhn"] else None
    for a in (x, h0, dy, dhn):
        assert a is None or np.all(a != 0)

    y64, g64 = torch_grads(c, w, x, h0, lengths, dy, dhn, torch.float64)

    d = os.path.join(GRAD_OUT, c["name"])
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    write_safetensors(os.path.join(d, "model.safetensors"), file_tensors, {"nonlinearity": c["nl"]})
    np.save(os.path.join(d, "x.npy"), x)
    if h0 is not None:
        np.save(os.path.join(d, "h0.npy"), h0)
    if lengths is not None:
        np.save(os.path.join(d, "lengths.npy"), lengths)
    np.save(os.path.join(d, "dy.npy"), dy)
    if dhn is not None:
        np.save(os.path.join(d, "dhn.npy"), dhn)
    with open(os.path.join(d, "args.txt"), "w") as f:
        f.write("--batch-first\n" if bf else "")
    np.save(os.path.join(d, "expected_y.npy"), y64.astype(F32))
    np.save(os.path.join(d, "expected_dx.npy"), g64["dx"].astype(F32))
    if h0 is not None:
        np.save(os.path.join(d, "expected_dh0.npy"), g64["dh0"].astype(F32))
    write_safetensors(os.path.join(d, "expected_grads.safetensors"),
                      [(n, "F32", g64[n].astype(F32)) for n, _ in param_names(c)], {})


def rel(a, b):
    """check-grad's measure: ||a-b|| / ||b||."""
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def fd_check(c, w, x, h0, lengths, dy, dhn, pname, idx, g_expected):
    """Central finite difference of <y,dy>_valid + <h_n,dh_n> in one weight entry."""
    mask = valid_mask(c, lengths)[:, :, None].astype(np.float64)
    dy64 = np.asarray(dy, np.float64) * mask
    dhn64 = 0.0 if dhn is None else np.asarray(dhn, np.float64)

    def loss(delta):
        wp = {k: np.asarray(v, np.float64).copy() for k, v in w.items()}
        wp[pname][idx] += delta
        y, hn = run_torch(c, wp, x, h0, lengths, torch.float64)
        return float(np.sum(y * dy64) + np.sum(hn * dhn64))

    eps = 1e-6
    fd = (loss(eps) - loss(-eps)) / (2 * eps)
    an = float(g_expected[pname][idx])
    err = abs(fd - an) / max(abs(an), 1e-3)
    assert err < 1e-6, (c["name"], pname, idx, fd, an)
    return f"    fd {pname}{list(idx)}: {fd:+.10f} vs {an:+.10f} (rel {err:.1e})"


def check_grad_case(c):
    d = os.path.join(GRAD_OUT, c["name"])
    L, I, H, T, B = c["L"], c["I"], c["H"], c["T"], c["B"]
    D = 2 if c["bidir"] else 1
    bf = c["batch_first"]
    j = lambda f: os.path.join(d, f)
    xshape, yshape, sshape = ((B, T, I) if bf else (T, B, I)), ((B, T, D * H) if bf else (T, B, D * H)), (L * D, B, H)

    tensors, meta, dtypes = read_safetensors(j("model.safetensors"))
    assert meta == {"nonlinearity": c["nl"]}
    assert list(tensors) == [n for n, _ in param_names(c)]
    for n, shape in param_names(c):
        assert tensors[n].shape == shape and dtypes[n] == "F32" and np.all(tensors[n] != 0)
    w = tensors
    x = np.load(j("x.npy"))
    assert x.dtype == F32 and x.shape == xshape
    h0 = np.load(j("h0.npy")) if c["h0"] else None
    assert os.path.exists(j("h0.npy")) == c["h0"]
    assert h0 is None or (h0.dtype == F32 and h0.shape == sshape)
    lengths = np.load(j("lengths.npy")) if c["lengths"] is not None else None
    assert os.path.exists(j("lengths.npy")) == (c["lengths"] is not None)
    assert lengths is None or (lengths.dtype == np.dtype(c["lengths_dtype"]) and lengths.shape == (B,))
    dy = np.load(j("dy.npy"))
    assert dy.dtype == F32 and dy.shape == yshape and np.all(dy != 0)
    dhn = np.load(j("dhn.npy")) if c["dhn"] else None
    assert os.path.exists(j("dhn.npy")) == c["dhn"]
    assert dhn is None or (dhn.dtype == F32 and dhn.shape == sshape)
    with open(j("args.txt")) as f:
        assert f.read() == ("--batch-first\n" if bf else "")

    y = np.load(j("expected_y.npy"))
    dx = np.load(j("expected_dx.npy"))
    assert y.dtype == F32 and y.shape == yshape and dx.dtype == F32 and dx.shape == xshape
    exp = {"dx": dx}
    if c["h0"]:
        exp["dh0"] = np.load(j("expected_dh0.npy"))
        assert exp["dh0"].dtype == F32 and exp["dh0"].shape == sshape
    else:
        assert not os.path.exists(j("expected_dh0.npy"))
    gt, gmeta, gdt = read_safetensors(j("expected_grads.safetensors"))
    assert gmeta == {} and list(gt) == [n for n, _ in param_names(c)]
    for n, shape in param_names(c):
        assert gt[n].shape == shape and gdt[n] == "F32"
        exp[n] = gt[n]
    for v in exp.values():
        assert np.all(np.isfinite(v)) and np.any(v != 0)

    # padding: y and dx exactly 0 there; garbage dy there is large and non-zero
    m = valid_mask(c, lengths)
    assert np.all(y[~m] == 0.0) and np.all(dx[~m] == 0.0) and np.all(np.abs(dy[~m]) >= 100)

    # independent NumPy float64 BPTT (never reads dy past a length)
    ry, rg, pre = numpy_bptt(c, w, x, h0, lengths, dy, dhn)
    np_err = max([rel(ry, y)] + [rel(rg[k], v) for k, v in exp.items()])
    assert np_err < 1e-6, (c["name"], np_err)
    relu_note = ""
    if c["nl"] == "relu":
        pre = np.concatenate(pre)
        margin = float(np.abs(pre).min())
        assert np.any(pre < 0) and np.any(pre > 0) and margin > 1e-4, (c["name"], margin)
        relu_note = f"  relu: {np.mean(pre < 0):.0%} negative, min |z| {margin:.1e}"

    # float64 torch with dy zeroed at padded positions gives the same values
    if lengths is not None:
        _, gz = torch_grads(c, w, x, h0, lengths, np.where(m[:, :, None], dy, 0).astype(F32), dhn,
                            torch.float64)
        assert all(np.array_equal(gz[k].astype(F32), v) for k, v in exp.items()), c["name"]

    # a float32 PyTorch run on the same stored values
    y32, g32 = torch_grads(c, w, x, h0, lengths, dy, dhn, torch.float32)
    f32_err = max([rel(y32, y)] + [rel(g32[k], v) for k, v in exp.items()])
    assert f32_err < 5e-6, (c["name"], f32_err)

    lines = [f"{c['name']:34s} x{xshape} dy{yshape} {len(exp) - 1 - c['h0']} grads"
             f"{' dh0' if c['h0'] else ''}{' dhn' if c['dhn'] else ''}  np-bptt {np_err:.1e}"
             f"  f32-torch {f32_err:.1e}{relu_note}"]
    _, g64 = torch_grads(c, w, x, h0, lengths, dy, dhn, torch.float64)
    for case_name, pname, idx in FD_CHECKS:
        if case_name == c["name"]:
            lines.append(fd_check(c, w, x, h0, lengths, dy, dhn, pname, idx, g64))
    return "\n".join(lines)


def main():
    args = sys.argv[1:]
    check = "--no-check" not in args
    torch.set_num_threads(1)
    groups = [(OUT, CASES, make_case, check_case), (GRAD_OUT, GRAD_CASES, make_grad_case, check_grad_case)]
    if "--grad-only" in args:
        groups = groups[1:]
    elif "--parity-only" in args:
        groups = groups[:1]
    for out, cases, make, chk in groups:
        os.makedirs(out, exist_ok=True)
        for i, c in enumerate(cases):
            make(i + 1, c)
        if check:
            for c in cases:
                print(chk(c))
        total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(out) for f in fs)
        print(f"{len(cases)} cases in {out}, {total} bytes")

if __name__ == "__main__":
    main()
