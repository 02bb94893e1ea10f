#!/usr/bin/python3 -s
"""The fast CPU backend's forward pass against torch.nn.RNN on the same cores
and threads, shape by shape, the two timed alternately.

    bench/cpu_vs_torch.py --threads 1,2 --batch 1,8,64 --hidden 256,512,1024 --steps 64 --reps 3

For each thread count and shape, --reps rounds of: `rnn bench --device cpu`
on that shape (median of --runs), then bench/compare_torch.py on it (median
of --runs), each a process pinned with taskset to the same cores and told
the thread count (RNN_NUM_THREADS; torch.set_num_threads, OMP_NUM_THREADS,
OPENBLAS_NUM_THREADS), so that neither has a thread outside them. A round's ratio is ours/torch (below 1: ours is
faster); the table gives the median of each side and of the rounds'
ratios, which cancels most of a shared machine's drift. --json writes every
figure.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def pinned(cores, threads):
    env = dict(os.environ, RNN_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS=str(threads))
    return ["taskset", "-c", ",".join(map(str, cores))], env


def run(cmd, env):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stdout}{p.stderr}")
    return p


def one_round(rnn, cores, threads, s, runs):
    """(ours ms, torch ms) for shape s: rnn bench, then compare_torch.py on its output."""
    pin, env = pinned(cores, threads)
    with tempfile.TemporaryDirectory() as tmp:
        out, theirs = os.path.join(tmp, "bench.json"), os.path.join(tmp, "torch.json")
        run(pin + [rnn, "bench", "--device", "cpu", "--batch", str(s["B"]), "--hidden", str(s["H"]), "--input",
                   str(s["I"]), "--steps", str(s["T"]), "--reference-runs", "0", "--runs", str(runs), "--json", out],
            env)
        run(pin + [sys.executable, "-s", os.path.join(HERE, "compare_torch.py"), "--bench", out, "--runs", str(runs),
                   "--json", theirs], env)
        with open(out) as f:
            mine = [r for r in json.load(f)["rows"] if r["engine"] == "cpu"][0]["ms"]
        with open(theirs) as f:
            doc = json.load(f)
        return mine, doc["rows"][0]["ms"], doc["torch"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rnn", default=os.path.join(HERE, "..", "build", "rnn"))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--batch", default="1,8,64")
    ap.add_argument("--hidden", default="256,512,1024")
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--json")
    a = ap.parse_args()
    available = sorted(os.sched_getaffinity(0))
    results, version = [], ""
    for threads in [int(t) for t in a.threads.split(",")]:
        if threads > len(available):
            sys.exit(f"--threads {threads}: only {len(available)} cores available")
        cores = available[:threads]
        print(f"{threads} thread(s) on cores {cores}", flush=True)
        print(f"  {'shape':<24} {'ours ms':>9} {'torch ms':>9} {'ours/torch':>10}", flush=True)
        for h in [int(v) for v in a.hidden.split(",")]:
            for b in [int(v) for v in a.batch.split(",")]:
                s = dict(B=b, H=h, I=h, T=a.steps, L=1, D=1, varlen=False)
                mine, theirs = [], []
                for _ in range(a.reps):
                    m, t, version = one_round(a.rnn, cores, threads, s, a.runs)
                    mine.append(m)
                    theirs.append(t)
                ratio = statistics.median(m / t for m, t in zip(mine, theirs))
                row = dict(threads=threads, B=b, H=h, T=a.steps, ours_ms=mine, torch_ms=theirs, ratio=ratio)
                results.append(row)
                print(f"  B={b:<3} H={h:<5} T={a.steps:<4}      {statistics.median(mine):9.2f} "
                      f"{statistics.median(theirs):9.2f} {ratio:10.2f}", flush=True)
    print(f"torch {version}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"torch": version, "rows": results}, f, indent=1)


if __name__ == "__main__":
    main()
