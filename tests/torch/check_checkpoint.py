#!/usr/bin/env python3
"""check_checkpoint.py RNN_BINARY SCRATCH_DIR

A checkpoint written by `rnn train-char` loads in PyTorch and gives the same
outputs there: a module holding nn.RNN `rnn` and nn.Linear `fc` takes the
file's state dict as it is; its RNN output on a one-hot text equals what
`rnn run` writes (relative error < 1e-5), and its greedy generation equals
`rnn sample --temperature 0`. Exits 77 (skipped) without PyTorch and NumPy.
"""
import json
import os
import struct
import subprocess
import sys

try:
    import numpy as np
    import torch
except Exception:  # noqa: BLE001
    print("skipped: PyTorch or NumPy is not available")
    sys.exit(77)


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, e in header.items():
        assert e["dtype"] == "F32", e["dtype"]
        a, b = e["data_offsets"]
        tensors[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").reshape(e["shape"]).copy())
    return tensors, meta


class CharModel(torch.nn.Module):
    def __init__(self, vocab, hidden, layers):
        super().__init__()
        self.rnn = torch.nn.RNN(vocab, hidden, num_layers=layers)
        self.fc = torch.nn.Linear(hidden, vocab)


def main():
    rnn_bin, tmp = sys.argv[1], sys.argv[2]
    os.makedirs(tmp, exist_ok=True)
    model_path = os.path.join(tmp, "char.safetensors")
    text = "the quick brown fox jumps over the lazy dog. " * 3
    subprocess.run([rnn_bin, "train-char", "--string", text, "--out", model_path, "--hidden", "24", "--layers", "2",
                    "--steps", "40", "--seq-len", "16", "--batch", "4"], check=True, capture_output=True)
    tensors, meta = load_safetensors(model_path)
    vocab = meta["vocab"]
    hidden = tensors["rnn.weight_hh_l0"].shape[0]
    m = CharModel(len(vocab), hidden, 2)
    m.load_state_dict(tensors, strict=True)  # the names fit nn.RNN + nn.Linear as they are
    m = m.double()

    probe = "lazy fox the dog"
    ids = [vocab.index(c) for c in probe]
    x = np.zeros((len(ids), 1, len(vocab)), dtype="<f4")
    for t, i in enumerate(ids):
        x[t, 0, i] = 1.0
    np.save(os.path.join(tmp, "x.npy"), x)
    # A model with a head: --output gets its logits, --states the RNN's y.
    subprocess.run([rnn_bin, "run", "--model", model_path, "--input", os.path.join(tmp, "x.npy"), "--output",
                    os.path.join(tmp, "logits.npy"), "--states", os.path.join(tmp, "y.npy"), "--device", "cpu"],
                   check=True, capture_output=True)
    with torch.no_grad():
        y_torch, _ = m.rnn(torch.from_numpy(x.astype(np.float64)))
        logits_torch = m.fc(y_torch)
    for name, theirs in (("y", y_torch.numpy()), ("logits", logits_torch.numpy())):
        ours = np.load(os.path.join(tmp, name + ".npy")).astype(np.float64)
        err = np.linalg.norm(ours - theirs) / np.linalg.norm(theirs)
        print(f"rnn run vs PyTorch on the checkpoint, {name}: relative error {err:.2e}")
        if not err < 1e-5:
            return 1

    prime, n = "the ", 30
    out = subprocess.run([rnn_bin, "sample", "--model", model_path, "--prime", prime, "--length", str(n),
                          "--temperature", "0"], check=True, capture_output=True, text=True).stdout.rstrip("\n")
    with torch.no_grad():
        h, text_out, logits = None, prime, None
        for c in prime:
            xt = torch.zeros(1, 1, len(vocab), dtype=torch.float64)
            xt[0, 0, vocab.index(c)] = 1
            y, h = m.rnn(xt, h)
            logits = m.fc(y[0, 0])
        for _ in range(n):
            c = vocab[int(torch.argmax(logits))]
            text_out += c
            xt = torch.zeros(1, 1, len(vocab), dtype=torch.float64)
            xt[0, 0, vocab.index(c)] = 1
            y, h = m.rnn(xt, h)
            logits = m.fc(y[0, 0])
    print(f"rnn sample:      {out!r}\nPyTorch greedy:  {text_out!r}")
    return 0 if out == text_out else 1


if __name__ == "__main__":
    sys.exit(main())
