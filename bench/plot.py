#!/usr/bin/env python3
"""plot.py: PNG plots of an `rnn bench --json` file.

usage: plot.py BENCH.json OUT_DIR

Writes, for the base grid (one layer, one direction, fixed length):
  time_per_step.png   microseconds per step against H, one panel per B:
                      our best kernel, each of our kernels, cuDNN's best
  ratio_to_cudnn.png  our auto kernel's time over cuDNN's best strict-FP32
                      time, against H, one line per B (below 1: we are ahead)
Needs matplotlib.
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        bench = json.load(f)
    out = sys.argv[2]
    os.makedirs(out, exist_ok=True)
    rows = [r for r in bench["rows"] if r["L"] == 1 and r["D"] == 1 and not r["varlen"] and r["ms"] > 0]
    bs = sorted({r["B"] for r in rows})
    hs = sorted({r["H"] for r in rows})
    if not rows:
        print("plot.py: no timed base-grid rows to plot", file=sys.stderr)
        return 1

    def best(b, h, pred):
        ms = [r["us_per_step"] for r in rows if r["B"] == b and r["H"] == h and pred(r["engine"])]
        return min(ms) if ms else float("nan")

    fig, axes = plt.subplots(1, len(bs), figsize=(4 * len(bs), 3.6), squeeze=False)
    series = [("rnn stepwise", lambda e: e == "rnn stepwise"),
              ("rnn persistent", lambda e: e == "rnn persistent"),
              ("cuDNN best (FP32)", lambda e: e.startswith("cudnn") and "tf32" not in e),
              ("cpu reference", lambda e: e == "cpu reference")]
    for ax, b in zip(axes[0], bs):
        for name, pred in series:
            ys = [best(b, h, pred) for h in hs]
            if any(y == y for y in ys):
                ax.plot(hs, ys, marker="o", label=name)
        ax.set_title(f"B = {b}")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("H")
        ax.set_ylabel("us per step")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"Time per step, T = {rows[0]['T']}, I = H ({bench['device']['name']})")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "time_per_step.png"), dpi=110)

    fig, ax = plt.subplots(figsize=(6, 4))
    for b in bs:
        ratios = []
        for h in hs:
            r = [x["vs_cudnn"] for x in rows if x["B"] == b and x["H"] == h and x["engine"].startswith("rnn auto")]
            ratios.append(r[0] if r and r[0] > 0 else float("nan"))
        if any(v == v for v in ratios):
            ax.plot(hs, ratios, marker="o", label=f"B = {b}")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("H")
    ax.set_ylabel("our time / cuDNN best")
    ax.set_title("Ratio to cuDNN (below 1: faster than cuDNN)")
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "ratio_to_cudnn.png"), dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())
