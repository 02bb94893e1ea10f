#!/usr/bin/python3 -s
"""rnn train-char against the same recipe in PyTorch (bench/train_char_torch.py)
on the same cores and threads, runs alternated: training tokens/s of each,
their ratio, and the validation bits per character both reach after the
same number of updates. Run k (1, 2, ...) starts both from the initial
weights of seed k (train-char --seed k; train_char_torch.py builds the same
weights): one run's final bits per character moves by a few hundredths
with the order of a GEMM's sums (PyTorch's own moves by 0.024 between
OpenBLAS's kernels), so the figure compared is the mean over the seeds of
ours minus torch's.

    bench/compare_train_char.py --text out/gpl/GPL-3 --steps 300 --threads 1 --reps 3

Each run is pinned with taskset to the first --threads cores this process
may use; ours gets RNN_NUM_THREADS, torch torch.set_num_threads. Prints one
line per run and a summary (medians); --json writes the figures.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout}{p.stderr}")
    return p.stdout + p.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rnn", default=os.path.join(HERE, "..", "build", "rnn"))
    ap.add_argument("--text", required=True)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--seq-len", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", help="write the figures here")
    a = ap.parse_args()

    cores = sorted(os.sched_getaffinity(0))
    if a.threads > len(cores):
        sys.exit(f"--threads {a.threads}: only {len(cores)} cores available")
    pin = ["taskset", "-c", ",".join(str(c) for c in cores[:a.threads])]
    recipe = ["--text", a.text, "--hidden", str(a.hidden), "--seq-len", str(a.seq_len), "--batch", str(a.batch),
              "--steps", str(a.steps), "--lr", str(a.lr)]
    env = dict(os.environ, RNN_NUM_THREADS=str(a.threads), OMP_NUM_THREADS=str(a.threads))
    ours, torch = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(a.reps):
            seed = ["--seed", str(rep + 1)]
            out = run(pin + [a.rnn, "train-char"] + recipe + seed +
                      ["--device", "cpu", "--out", os.path.join(tmp, "m.safetensors")], env)
            tok = float(re.findall(r"step \d+/\d+ .*?([0-9.]+) tok/s", out)[-1])
            bpc = float(re.search(r"^val_bpc=([0-9.]+)", out, re.M).group(1))
            ours.append((tok, bpc))
            print(f"rep {rep + 1} (seed {rep + 1}): ours  {tok:10.0f} tok/s  val_bpc {bpc:.4f}", flush=True)
            out = run(pin + [sys.executable, "-s", os.path.join(HERE, "train_char_torch.py")] + recipe + seed +
                      ["--threads", str(a.threads)], env)
            tok = float(re.search(r"^tokens_per_s=([0-9.]+)", out, re.M).group(1))
            bpc = float(re.search(r"^val_bpc=([0-9.]+)", out, re.M).group(1))
            torch.append((tok, bpc))
            print(f"rep {rep + 1} (seed {rep + 1}): torch {tok:10.0f} tok/s  val_bpc {bpc:.4f}", flush=True)
    ot = statistics.median(t for t, _ in ours)
    tt = statistics.median(t for t, _ in torch)
    ob = statistics.mean(b for _, b in ours)
    tb = statistics.mean(b for _, b in torch)
    print(f"H={a.hidden} seq-len {a.seq_len} batch {a.batch}, {a.steps} steps, {a.threads} thread(s), "
          f"{a.reps} runs each (tokens/s: medians; val_bpc: means over seeds 1..{a.reps}):")
    print(f"  ours  {ot:10.0f} tok/s  val_bpc {ob:.4f}")
    print(f"  torch {tt:10.0f} tok/s  val_bpc {tb:.4f}")
    print(f"  ours/torch tokens/s: {ot / tt:.2f}x   val_bpc difference (mean over seeds): {ob - tb:+.4f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"hidden": a.hidden, "seq_len": a.seq_len, "batch": a.batch, "steps": a.steps,
                       "threads": a.threads, "seeds": list(range(1, a.reps + 1)), "ours": ours, "torch": torch, "ratio": ot / tt,
                       "val_bpc_diff": ob - tb}, f, indent=1)


if __name__ == "__main__":
    main()
