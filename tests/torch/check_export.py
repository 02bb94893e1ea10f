#!/usr/bin/env python3
"""check_export.py RNN_BINARY REPO_ROOT SCRATCH_DIR

PyTorch models as their users save them, exported with
scripts/export_torch.py and run with `rnn run` / `rnn backward`:
- nn.Embedding `emb` -> nn.RNN `rnn` (relu, 2 layers, bidirectional) ->
  nn.Linear `fc`, on int64 token ids: the logits equal PyTorch's (max abs
  error < 1e-5), and `rnn backward` given dL/dlogits returns PyTorch's
  gradients of every parameter, the embedding's and the head's included;
- `embedding` -> `encoder` -> nn.Sequential `head` (Dropout, Linear), batch
  first, int32 ids: found without flags, the same logits;
- a torch.save file, an nn.LSTM and an unknown extra module are refused
  with messages that say what to do; a state_dict without a nonlinearity is
  refused by the exporter.
Exits 77 (skipped) without PyTorch and NumPy.
"""
import os
import subprocess
import sys

try:
    import numpy as np
    import torch
except Exception:  # noqa: BLE001
    print("skipped: PyTorch or NumPy is not available")
    sys.exit(77)


def run(args, ok=True):
    r = subprocess.run(args, capture_output=True, text=True)
    if ok and r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(args)}\n{r.stdout}{r.stderr}")
    if not ok and r.returncode == 0:
        sys.exit(f"FAIL: {' '.join(args)} succeeded:\n{r.stdout}")
    return r


def expect_error(args, *needles):
    r = run(args, ok=False)
    for n in needles:
        if n not in r.stderr:
            sys.exit(f"FAIL: {' '.join(args)}: stderr lacks {n!r}:\n{r.stderr}")
    print("refused as expected:", r.stderr.strip())


class Tagger(torch.nn.Module):
    def __init__(self, vocab, dim, hidden, out):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab, dim)
        self.rnn = torch.nn.RNN(dim, hidden, num_layers=2, nonlinearity="relu", bidirectional=True)
        self.fc = torch.nn.Linear(2 * hidden, out)

    def forward(self, ids):
        return self.fc(self.rnn(self.emb(ids))[0])


class SeqHead(torch.nn.Module):
    def __init__(self, vocab, dim, hidden, out):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab, dim)
        self.encoder = torch.nn.RNN(dim, hidden, batch_first=True)
        self.head = torch.nn.Sequential(torch.nn.Dropout(0.1), torch.nn.Linear(hidden, out))

    def forward(self, ids):
        return self.head(self.encoder(self.embedding(ids))[0])


def main():
    rnn_bin, root, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(tmp, exist_ok=True)
    sys.path.insert(0, os.path.join(root, "scripts"))
    from export_torch import ExportError, export, load

    torch.manual_seed(5)
    f = lambda name: os.path.join(tmp, name)  # noqa: E731

    # ---- emb -> rnn -> fc, time-major int64 ids, forward and backward ----
    m = Tagger(vocab=50, dim=12, hidden=16, out=7).eval()
    export(m, f("tagger.safetensors"))
    T, B = 9, 4
    ids = torch.randint(0, 50, (T, B), dtype=torch.int64)
    np.save(f("ids.npy"), ids.numpy())
    run([rnn_bin, "run", "--model", f("tagger.safetensors"), "--input", f("ids.npy"), "--output", f("logits.npy"),
         "--states", f("y.npy"), "--device", "cpu"])
    ours = torch.from_numpy(np.load(f("logits.npy")))
    with torch.no_grad():
        want = m(ids)
    err = (ours - want).abs().max().item()
    print(f"emb+rnn+fc logits {tuple(ours.shape)}: max abs error {err:.2e}")
    assert ours.shape == want.shape and err < 1e-5, err
    # The same on the device auto picks (the GPU where one is usable).
    r = run([rnn_bin, "run", "--model", f("tagger.safetensors"), "--input", f("ids.npy"), "--output",
             f("logits_auto.npy")])
    err_auto = (torch.from_numpy(np.load(f("logits_auto.npy"))) - want).abs().max().item()
    print(f"  on the device auto picks ({r.stdout.split(' on ')[-1].split(' in ')[0]}): max abs error {err_auto:.2e}")
    assert err_auto < 1e-5, err_auto
    with torch.no_grad():
        y_want = m.rnn(m.emb(ids))[0]
    assert (torch.from_numpy(np.load(f("y.npy"))) - y_want).abs().max().item() < 1e-5

    dlogits = torch.randn(T, B, 7)
    np.save(f("dlogits.npy"), dlogits.numpy())
    run([rnn_bin, "backward", "--model", f("tagger.safetensors"), "--input", f("ids.npy"), "--grad-output",
         f("dlogits.npy"), "--grad-weights", f("grads.safetensors"), "--device", "cpu"])
    m.zero_grad()
    m(ids).backward(dlogits)
    from check_checkpoint import load_safetensors  # noqa: E402  (the reader beside this file)
    grads, _ = load_safetensors(f("grads.safetensors"))
    worst = 0.0
    for name, p in m.named_parameters():
        assert name in grads, f"no gradient for {name} in {sorted(grads)}"
        scale = max(1.0, p.grad.abs().max().item())
        worst = max(worst, (grads[name] - p.grad).abs().max().item() / scale)
    print(f"gradients of {len(grads)} parameters: max error {worst:.2e}")
    assert worst < 1e-5, worst

    # ---- embedding -> encoder -> Sequential head, batch first, int32 ----
    s = SeqHead(vocab=30, dim=8, hidden=10, out=5).eval()
    export(s, f("seqhead.safetensors"))
    ids2 = torch.randint(0, 30, (3, 6), dtype=torch.int32)
    np.save(f("ids2.npy"), ids2.numpy())
    run([rnn_bin, "run", "--model", f("seqhead.safetensors"), "--input", f("ids2.npy"), "--batch-first", "--output",
         f("logits2.npy"), "--device", "cpu"])
    with torch.no_grad():
        want2 = s(ids2.long())
    err2 = (torch.from_numpy(np.load(f("logits2.npy"))) - want2).abs().max().item()
    print(f"embedding+encoder+Sequential head logits: max abs error {err2:.2e}")
    assert err2 < 1e-5, err2
    run([rnn_bin, "info", "--model", f("seqhead.safetensors")])

    # ---- refusals ----
    expect_error([rnn_bin, "run", "--model", f("tagger.safetensors"), "--input", f("dlogits.npy"), "--device", "cpu"],
                 "integer token ids")
    bad_ids = ids.clone()
    bad_ids[2, 1] = 50
    np.save(f("bad_ids.npy"), bad_ids.numpy())
    expect_error([rnn_bin, "run", "--model", f("tagger.safetensors"), "--input", f("bad_ids.npy"), "--device", "cpu"],
                 "token 50 at [2, 1]", "outside the embedding's [0, 50)")
    torch.save(m.state_dict(), f("tagger.pt"))
    expect_error([rnn_bin, "run", "--model", f("tagger.pt"), "--input", f("ids.npy")], "torch.save",
                 "scripts/export_torch.py")
    lstm = torch.nn.LSTM(4, 6)
    export({k: v for k, v in lstm.state_dict().items()}, f("lstm.safetensors"), nonlinearity="tanh")
    expect_error([rnn_bin, "info", "--model", f("lstm.safetensors")], "nn.LSTM", "only nn.RNN")
    try:
        export(lstm, f("x.safetensors"))
        sys.exit("FAIL: the exporter took an LSTM module")
    except ExportError as e:
        print("exporter refused:", e)
    try:
        export(m.state_dict(), f("x.safetensors"))
        sys.exit("FAIL: the exporter took a state_dict without a nonlinearity")
    except ExportError as e:
        print("exporter refused:", e)
    extra = dict(m.state_dict())
    extra["norm.weight"] = torch.ones(32)
    export(extra, f("extra.safetensors"), nonlinearity="relu")
    expect_error([rnn_bin, "info", "--model", f("extra.safetensors")], "unexpected tensor 'norm.weight'",
                 "--head-prefix")
    # The command-line exporter on a saved state_dict: the nonlinearity must be said.
    exporter = [sys.executable, "-s", os.path.join(root, "scripts", "export_torch.py")]
    r = run(exporter + [f("tagger.pt"), f("whole.safetensors")], ok=False)
    assert "--nonlinearity" in r.stderr or "nonlinearity" in r.stderr, r.stderr
    r = run(exporter + [f("tagger.pt"), f("whole.safetensors"), "--nonlinearity", "relu"])
    print(r.stdout.strip())
    run([rnn_bin, "run", "--model", f("whole.safetensors"), "--input", f("ids.npy"), "--output", f("l3.npy"),
         "--device", "cpu"])
    assert np.array_equal(np.load(f("l3.npy")), np.load(f("logits.npy")))
    # And back: the file rnn read (and the gradients it wrote) load into the module.
    state, meta = load(f("tagger.safetensors"))
    m2 = Tagger(vocab=50, dim=12, hidden=16, out=7).eval()
    m2.load_state_dict(state, strict=True)
    assert meta["nonlinearity"] == "relu"
    with torch.no_grad():
        assert torch.equal(m2(ids), want)
    print("PASS")


if __name__ == "__main__":
    main()
