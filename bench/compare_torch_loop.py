#!/usr/bin/python3 -s
"""A PyTorch char-LM training loop with rnn.torch.RNN against the same loop
with torch.nn.RNN: bench/train_char_torch.py run alternately with --module
rnn and --module torch, in separate processes, on the same CPUs and thread
count, from the same initial weights. Reports the median tokens/s of each,
their ratio, both validation bpc and how far the two loss curves drift
apart (the largest relative difference of a step's loss).

    bench/compare_torch_loop.py --text out/gpl/GPL-3 --threads 1 --cpus 0 --rounds 3

The rnn side imports the Python package: from --python (an interpreter
that has it installed: scripts/test-python.sh leaves build-py/venv), else
from this checkout's python/ with RNN_LIBRARY=build/librnn_c.so.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run(python, env, a, module):
    cmd = [python, "-s", os.path.join(HERE, "train_char_torch.py"), "--text", a.text, "--hidden", str(a.hidden),
           "--seq-len", str(a.seq_len), "--batch", str(a.batch), "--steps", str(a.steps), "--threads",
           str(a.threads), "--module", module, "--losses"]
    if a.cpus:
        cmd = ["taskset", "-c", a.cpus] + cmd
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    r = {"header": out.splitlines()[0]}
    for line in out.splitlines():
        if "=" in line and not line.startswith("torch "):
            k, v = line.split("=", 1)
            r[k] = [float(t) for t in v.split(",")] if k == "losses" else float(v)
    return r


def blas_core(python, env):
    """The kernel family OpenBLAS picked for this CPU (OPENBLAS_CORETYPE overrides it)."""
    code = ("import ctypes; l = ctypes.CDLL('libopenblas.so.0'); l.openblas_get_corename.restype = ctypes.c_char_p; "
            "print(l.openblas_get_corename().decode())")
    r = subprocess.run([python, "-s", "-c", code], env=env, capture_output=True, text=True)
    return r.stdout.strip() or "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--text", required=True)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--seq-len", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cpus", default="", help="taskset CPU list for both (e.g. 0, or 0,1)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--python", default="", help="an interpreter with the rnn package installed")
    ap.add_argument("--out", default="", help="write the results as JSON here")
    a = ap.parse_args()

    env = dict(os.environ, RNN_NUM_THREADS=str(a.threads), OMP_NUM_THREADS=str(a.threads))
    python = a.python
    if not python:
        venv = os.path.join(ROOT, "build-py", "venv", "bin", "python")
        if os.path.exists(venv):
            python = venv
        else:
            python = "/usr/bin/python3"
            env["PYTHONPATH"] = os.path.join(ROOT, "python")
            env["RNN_LIBRARY"] = os.path.join(ROOT, "build", "librnn_c.so")
    core = blas_core(python, env)
    runs = {"torch": [], "rnn": []}
    for _ in range(a.rounds):
        for module in ("torch", "rnn"):
            runs[module].append(run(python, env, a, module))
    med = {m: statistics.median(r["tokens_per_s"] for r in rs) for m, rs in runs.items()}
    lt, lr = runs["torch"][0]["losses"], runs["rnn"][0]["losses"]
    drift = max(abs(x - y) / abs(y) for x, y in zip(lr, lt))
    first = max(abs(x - y) / abs(y) for x, y in zip(lr[:10], lt[:10]))
    result = {
        "recipe": vars(a),
        "openblas_core": core,
        "torch_header": runs["torch"][0]["header"],
        "rnn_header": runs["rnn"][0]["header"],
        "tokens_per_s": {m: [r["tokens_per_s"] for r in rs] for m, rs in runs.items()},
        "median_tokens_per_s": med,
        "ratio_rnn_over_torch": med["rnn"] / med["torch"],
        "val_bpc": {m: rs[0].get("val_bpc") for m, rs in runs.items()},
        "loss_first_10_steps_max_rel_diff": first,
        "loss_curve_max_rel_diff": drift,
        "last_loss": {m: rs[0]["last_loss"] for m, rs in runs.items()},
    }
    print(f"{result['torch_header']}\n{result['rnn_header']}\nOpenBLAS kernels: {core}, threads {a.threads}, "
          f"cpus {a.cpus or 'any'}")
    print(f"tokens/s (median of {a.rounds}): nn.RNN {med['torch']:.0f}, rnn.torch.RNN {med['rnn']:.0f}: "
          f"{med['rnn'] / med['torch']:.2f}x")
    print(f"val bpc: nn.RNN {result['val_bpc']['torch']:.4f}, rnn.torch.RNN {result['val_bpc']['rnn']:.4f}")
    print(f"loss curves: largest relative difference {drift:.2e} over {len(lt)} steps "
          f"({first:.2e} over the first 10)")
    if a.out:
        with open(a.out, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
