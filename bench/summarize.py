#!/usr/bin/env python3
"""bench/summarize.py: the headline of an `rnn bench` JSON file, as JSON.

Usage: summarize.py bench.json

Prints one JSON object: the number of shapes and rows, and per shape our
best real engine (stepwise, persistent or auto; timing variants excluded)
against cuDNN's best strict-FP32 algorithm (ratio below 1: we are faster),
and per kernel the time split of a step (what leaving out the staging of h,
the epilogue and the grid barrier saved, in us per step). device_check.sh
puts it in results.json. Standard library only.
"""
import json
import sys


def label(r):
    return (f"B={r['B']} H={r['H']} I={r['I']} T={r['T']} L={r['L']} D={r['D']}"
            + (" varlen" if r["varlen"] else ""))


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        bench = json.load(f)
    rows = bench["rows"]
    shapes = []
    for r in rows:
        if label(r) not in shapes:
            shapes.append(label(r))
    ratios = []
    for s in shapes:
        here = [r for r in rows if label(r) == s and r["ms"] > 0]
        # Ours: checked rows only (a fast row that mismatches is no result).
        ours = [r for r in here if r["engine"].startswith("rnn ") and not r.get("timing_skip")
                and (r["status"] == "ok" or r["status"].startswith("same plan"))]
        cudnn = [r for r in here if r["engine"].startswith("cudnn") and "tf32" not in r["engine"]
                 and r["status"] == "ok"]
        entry = {"shape": s}
        if ours:
            best = min(ours, key=lambda r: r["ms"])
            entry.update(ours=best["engine"], ours_ms=best["ms"], ours_us_per_step=best["us_per_step"])
        if cudnn:
            best = min(cudnn, key=lambda r: r["ms"])
            entry.update(cudnn=best["engine"], cudnn_ms=best["ms"])
        if ours and cudnn:
            entry["ratio"] = round(entry["ours_ms"] / entry["cudnn_ms"], 3)
        ratios.append(entry)
    split = []
    for r in rows:
        if r.get("timing_skip") or not r["engine"].startswith("rnn ") or r["ms"] <= 0:
            continue
        parts = {v["timing_skip"]: round(v["saves_us_per_step"], 2) for v in rows
                 if v.get("variant_of") == r["engine"] and label(v) == label(r) and v["ms"] > 0}
        if parts:
            split.append(dict(shape=label(r), engine=r["engine"], us_per_step=round(r["us_per_step"], 2),
                              **parts))
    print(json.dumps({"shapes": len(shapes), "rows": len(rows), "mismatch": bench.get("mismatch", False),
                      "vs_cudnn": ratios, "time_split": split}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
