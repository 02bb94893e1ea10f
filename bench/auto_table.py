#!/usr/bin/env python3
"""The rows of Kernel::Auto's table (host/cuda/auto_table.hpp) from a GPU
record's bench.json (rnn bench --json): at each measured (B, H) the fastest
of our kernels (rnn stepwise, rnn persistent, rnn registers, rnn gemm, rnn cluster; status ok; the
sum over the shapes measured there, every T, layer count and direction
count), as rows whose bounds round a plan up to the next measured shape:
ordered by H, then B, and a last row for plans larger than any measured.

    bench/auto_table.py bench/results/<record>/bench.json            # print the block
    bench/auto_table.py bench/results/<record>/bench.json --write host/cuda/auto_table.hpp

--write replaces the block between the BEGIN and END lines of the header.
Exit status 1 when the file holds no timed row of our kernels.
"""
import argparse
import json
import sys

KERNELS = {"rnn stepwise": "Stepwise", "rnn persistent": "Persistent", "rnn registers": "Registers",
           "rnn gemm": "Gemm", "rnn cluster": "Cluster"}
BEGIN = "// BEGIN auto_table rows"
END = "// END auto_table rows"


def best_by_shape(rows):
    """{(B, H): kernel name} from bench.json's rows."""
    totals = {}  # (B, H) -> {kernel: [ms sum, shapes]}
    for r in rows:
        kernel = KERNELS.get(r.get("engine"))
        if kernel is None or r.get("status") != "ok" or not r.get("ms", 0) > 0 or r.get("timing_skip"):
            continue
        per = totals.setdefault((r["B"], r["H"]), {})
        acc = per.setdefault(kernel, [0.0, 0])
        acc[0] += r["ms"]
        acc[1] += 1
    best = {}
    for shape, per in totals.items():
        most = max(n for _, n in per.values())  # a kernel timed on every shape there (one that failed some is out)
        full = {k: ms for k, (ms, n) in per.items() if n == most}
        best[shape] = min(sorted(full), key=lambda k: full[k])
    return best


def block(best, source):
    lines = [BEGIN + " (bench/auto_table.py rewrites this block)",
             'inline constexpr const char* kAutoTableSource = "%s";' % source.replace('"', "'"),
             "inline constexpr AutoRow kAutoTable[] = {"]
    for (B, H) in sorted(best, key=lambda s: (s[1], s[0])):
        lines.append("    {%d, %d, kAnySize, Kernel::%s}," % (B, H, best[(B, H)]))
    largest = max(best, key=lambda s: (s[1], s[0]))
    lines.append("    {kAnySize, kAnySize, kAnySize, Kernel::%s},  // beyond the measured shapes" % best[largest])
    lines.append("};")
    lines.append(END)
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bench_json")
    ap.add_argument("--write", metavar="HEADER", help="rewrite the block of this header in place")
    a = ap.parse_args()
    with open(a.bench_json) as f:
        report = json.load(f)
    best = best_by_shape(report.get("rows", []))
    if not best:
        print("auto_table: %s holds no timed row of our kernels" % a.bench_json, file=sys.stderr)
        return 1
    gpu = report.get("device", {}).get("name", "unknown GPU")
    text = block(best, "measured: %s (%s)" % (a.bench_json, gpu))
    if not a.write:
        sys.stdout.write(text)
        return 0
    with open(a.write) as f:
        header = f.read()
    start, end = header.find(BEGIN), header.find(END)
    if start < 0 or end < start:
        print("auto_table: %s has no %s ... %s block" % (a.write, BEGIN, END), file=sys.stderr)
        return 1
    end = header.index("\n", end) + 1
    with open(a.write, "w") as f:
        f.write(header[:start] + text + header[end:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
