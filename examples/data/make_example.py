#!/usr/bin/python3
"""Writes the quick start's example model and input (needs only numpy).

    examples/data/model.safetensors  2-layer bidirectional tanh nn.RNN, I=8, H=16
    examples/data/x.npy              x [T=12, B=3, I=8], float32
    examples/data/lengths.npy        [12, 7, 9], int64

Deterministic (fixed seed); rerun to regenerate byte-identical files.
"""
import json
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(2026)
I, H, L, D, T, B = 8, 16, 2, 2, 12, 3
k = 1.0 / np.sqrt(H)
tensors = []
for layer in range(L):
    for d in range(D):
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        in_w = I if layer == 0 else D * H
        tensors += [("weight_ih" + sfx, rng.uniform(-k, k, (H, in_w))), ("weight_hh" + sfx, rng.uniform(-k, k, (H, H))),
                    ("bias_ih" + sfx, rng.uniform(-k, k, (H,))), ("bias_hh" + sfx, rng.uniform(-k, k, (H,)))]
header, blobs, off = {"__metadata__": {"nonlinearity": "tanh"}}, [], 0
for name, a in tensors:
    b = a.astype("<f4").tobytes()
    header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * ((8 - len(h) % 8) % 8)
with open(os.path.join(HERE, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
np.save(os.path.join(HERE, "x.npy"), rng.standard_normal((T, B, I)).astype("<f4"))
np.save(os.path.join(HERE, "lengths.npy"), np.array([12, 7, 9], dtype="<i8"))
