#!/usr/bin/env python3
"""compare_torch.py: torch.nn.RNN timed on the shapes of `rnn bench`.

usage: compare_torch.py [--bench BENCH.json] [--quick] [--runs N] [--warmup N] [--json OUT.json]

Shapes: those of BENCH.json (written by `rnn bench --json`), else the same
default grid (`--quick`: the quick one). On CUDA, torch.nn.RNN runs on cuDNN
with TF32 disabled (strict FP32), timed with CUDA events: median of --runs
after --warmup, fresh random data. Variable-length rows run packed
sequences (packing not timed). Prints the columns of `rnn bench`; with
BENCH.json, the ratio column is torch over the best strict-FP32 cuDNN row
of that file. Without CUDA it times torch on the CPU and says so, on
RNN_NUM_THREADS threads (else the cores this process may use, as `rnn
bench` does); with BENCH.json from a CPU run, the ratio column is our fast
CPU backend's time over torch's (below 1: ours is faster).
"""
import argparse
import json
import os
import sys
import time

import torch


def default_grid(quick, gpu):
    rows = []
    hs = ([256, 512] if gpu else [64, 128]) if quick else [256, 512, 1024, 2048]
    bs = [1, 8] if quick else [1, 8, 64, 256]
    t = (64 if gpu else 32) if quick else 256
    for h in hs:
        for b in bs:
            rows.append(dict(B=b, H=h, I=h, T=t, L=1, D=1, varlen=False))
    if quick:
        rows.append(dict(B=bs[-1], H=hs[-1], I=hs[-1], T=t, L=2, D=2, varlen=True))
    else:
        rows += [dict(B=64, H=1024, I=1024, T=256, L=2, D=1, varlen=False),
                 dict(B=64, H=1024, I=1024, T=256, L=1, D=2, varlen=False),
                 dict(B=64, H=1024, I=1024, T=256, L=1, D=1, varlen=True),
                 dict(B=8, H=512, I=512, T=256, L=2, D=2, varlen=True)]
    return rows


def flops(s, tokens):
    per = 0.0
    for layer in range(s["L"]):
        inp = s["I"] if layer == 0 else s["D"] * s["H"]
        per += s["D"] * 2.0 * s["H"] * (inp + s["H"])
    return per * tokens


def label(s):
    return f"B={s['B']} H={s['H']} I={s['I']} T={s['T']} L={s['L']} D={s['D']}" + (" varlen" if s["varlen"] else "")


def time_shape(s, dev, warmup, runs):
    gen = torch.Generator().manual_seed(int(time.time_ns() % (2**31)))
    rnn = torch.nn.RNN(s["I"], s["H"], num_layers=s["L"], bidirectional=s["D"] == 2).to(dev).eval()
    x = (torch.rand(s["T"], s["B"], s["I"], generator=gen) * 2 - 1).to(dev)
    lengths = torch.full((s["B"],), s["T"], dtype=torch.int64)
    if s["varlen"]:
        lo = max(1, s["T"] // 2)
        lengths = torch.randint(lo, s["T"] + 1, (s["B"],), generator=gen)
        lengths[s["B"] // 2] = s["T"]
        inp = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
    else:
        inp = x
    times = []
    with torch.no_grad():
        for i in range(warmup + runs):
            if dev == "cuda":
                start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                rnn(inp)
                stop.record()
                stop.synchronize()
                ms = start.elapsed_time(stop)
            else:
                t0 = time.perf_counter()
                rnn(inp)
                ms = (time.perf_counter() - t0) * 1e3
            if i >= warmup:
                times.append(ms)
    times.sort()
    ms = times[len(times) // 2]
    tokens = float(lengths.sum())
    return ms, ms * 1e3 / s["T"], flops(s, tokens) / (ms * 1e-3) / 1e12


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", help="rnn bench --json output: its shapes and cuDNN figures")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--json")
    a = ap.parse_args()
    gpu = torch.cuda.is_available()
    dev = "cuda" if gpu else "cpu"
    if gpu:
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    if not gpu:
        threads = int(os.environ.get("RNN_NUM_THREADS", "0")) or len(os.sched_getaffinity(0))
        torch.set_num_threads(threads)
    best_cudnn, ours_cpu = {}, {}
    if a.bench:
        with open(a.bench) as f:
            bench = json.load(f)
        shapes = []
        for r in bench["rows"]:
            s = {k: r[k] for k in ("B", "H", "I", "T", "L", "D", "varlen")}
            if s not in shapes:
                shapes.append(s)
            ok = r["status"] == "ok" and r["engine"].startswith("cudnn") and "tf32" not in r["engine"]
            if ok:
                key = label(s)
                best_cudnn[key] = min(best_cudnn.get(key, float("inf")), r["ms"])
            if r["engine"] == "cpu" and r["status"].startswith("ok"):
                ours_cpu[label(s)] = r["ms"]
    else:
        shapes = default_grid(a.quick, gpu)
    name = torch.cuda.get_device_name() if gpu else "cpu"
    print(f"device: {name}; torch {torch.__version__}" +
          ("" if gpu else f" (CPU, {torch.get_num_threads()} threads: not a GPU figure)"))
    ratio_name = "/cuDNN" if gpu else "ours/it"
    print(f"{'shape':40}{'engine':26}{'ms':>10}{'us/step':>10}{'TFLOP/s':>9}{ratio_name:>9}")
    out = []
    engine = "torch nn.RNN" + (" (cuDNN)" if gpu else " (CPU)")
    for s in shapes:
        ms, us, tf = time_shape(s, dev, a.warmup, a.runs)
        if gpu:
            ratio = ms / best_cudnn[label(s)] if label(s) in best_cudnn else 0.0
        else:
            ratio = ours_cpu[label(s)] / ms if label(s) in ours_cpu else 0.0
        print(f"{label(s):40}{engine:26}{ms:10.3f}{us:10.2f}{tf:9.3f}{(f'{ratio:.2f}' if ratio else '-'):>9}",
              flush=True)
        out.append(dict(s, engine=engine, ms=ms, us_per_step=us, tflops=tf,
                        **({"vs_cudnn": ratio} if gpu else {"ours_over_torch": ratio})))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"device": name, "torch": torch.__version__, "rows": out}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
