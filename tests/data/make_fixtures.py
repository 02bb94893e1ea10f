#!/usr/bin/python3
"""Make the torch.nn.RNN parity fixtures under tests/data/parity/.

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
  expected_y.npy      [T,B,D*H] ([B,T,D*H] with --batch-first) '<f4'; 0 past a
                      sequence's length
  expected_hn.npy     [L*D,B,H] '<f4'
  expected_logits.npy [T,B,O] '<f4' (t17 only: fc applied to y)

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
    header = {"__metadata__": dict(metadata)}
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
    np.save(os.path.join(d, "expected_y.npy"), y)
    np.save(os.path.join(d, "expected_hn.npy"), hn)
    if c["head"]:
        logits = y64 @ head_w.astype(np.float64).T + head_b.astype(np.float64)
        np.save(os.path.join(d, "expected_logits.npy"), logits.astype(F32))


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

    y = np.load(os.path.join(d, "expected_y.npy"))
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
        lg = np.load(os.path.join(d, "expected_logits.npy"))
        assert lg.dtype == F32 and lg.shape == (T, B, c["head"])
        rl = ry @ tensors["fc.weight"].astype(np.float64).T + tensors["fc.bias"].astype(np.float64)
        assert np.abs(rl - lg).max() < 1e-6
        assert meta.get("vocab") == "abc"
        extra = f" logits{lg.shape}"
    return (f"{c['name']:40s} x{tuple(np.load(os.path.join(d, 'x.npy')).shape)} "
            f"y{y.shape} hn{hn.shape}{extra}  np-ref {ref_err:.1e}  f32-torch {f32_err:.1e}")


def main():
    check = "--no-check" not in sys.argv[1:]
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    for i, c in enumerate(CASES):
        make_case(i + 1, c)
    if check:
        for c in CASES:
            print(check_case(c))
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(OUT) for f in fs)
    print(f"{len(CASES)} cases in {OUT}, {total} bytes")


if __name__ == "__main__":
    main()
