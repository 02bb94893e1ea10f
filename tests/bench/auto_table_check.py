#!/usr/bin/env python3
"""bench/auto_table.py on a made-up bench.json: at each (B, H) the fastest of
our kernels summed over the shapes measured there (cuDNN, timing variants,
failed rows and a kernel missing some shape left out), rows ordered by H
then B with a last row for larger plans; --write replaces only the block of
a copy of host/cuda/auto_table.hpp; a file without our kernels is refused.

    auto_table_check.py <source dir>
"""
import json
import os
import subprocess
import sys
import tempfile


def row(B, H, engine, ms, T=256, status="ok", skip=""):
    return {"B": B, "H": H, "I": H, "T": T, "L": 1, "D": 1, "engine": engine, "status": status, "ms": ms,
            "timing_skip": skip}


def main():
    src = sys.argv[1]
    script = os.path.join(src, "bench", "auto_table.py")
    rows = [
        row(1, 256, "rnn stepwise", 2.0), row(1, 256, "rnn persistent", 1.0), row(1, 256, "cudnn standard", 0.1),
        row(1, 256, "rnn persistent -barrier", 0.2, skip="barrier"),
        row(64, 256, "rnn stepwise", 3.0), row(64, 256, "rnn persistent", 4.0),
        row(64, 256, "rnn registers", 0.5, status="failed: out of memory"),
        # Two T at (8, 1024): registers is fastest at one but missing at the other.
        row(8, 1024, "rnn stepwise", 5.0, T=64), row(8, 1024, "rnn stepwise", 9.0, T=512),
        row(8, 1024, "rnn persistent", 6.0, T=64), row(8, 1024, "rnn persistent", 7.0, T=512),
        row(8, 1024, "rnn registers", 1.0, T=64),
    ]
    want = [
        "    {1, 256, kAnySize, Kernel::Persistent},",
        "    {64, 256, kAnySize, Kernel::Stepwise},",
        "    {8, 1024, kAnySize, Kernel::Persistent},",
        "    {kAnySize, kAnySize, kAnySize, Kernel::Persistent},  // beyond the measured shapes",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        bench = os.path.join(tmp, "bench.json")
        with open(bench, "w") as f:
            json.dump({"device": {"name": "Test GPU"}, "rows": rows}, f)
        out = subprocess.run([sys.executable, script, bench], capture_output=True, text=True, check=True).stdout
        got = [l for l in out.splitlines() if l.startswith("    {")]
        assert got == want, "rows:\n" + "\n".join(got)
        assert 'kAutoTableSource = "measured: ' in out and "Test GPU" in out, out
        header = os.path.join(tmp, "auto_table.hpp")
        with open(os.path.join(src, "host", "cuda", "auto_table.hpp")) as f:
            before = f.read()
        with open(header, "w") as f:
            f.write(before)
        subprocess.run([sys.executable, script, bench, "--write", header], check=True)
        with open(header) as f:
            after = f.read()
        b0, e0 = before.index("// BEGIN auto_table rows"), before.index("// END auto_table rows")
        b1, e1 = after.index("// BEGIN auto_table rows"), after.index("// END auto_table rows")
        assert before[:b0] == after[:b1], "text before the block changed"
        assert before[before.index("\n", e0):] == after[after.index("\n", e1):], "text after the block changed"
        assert all(w in after for w in want), after
        with open(bench, "w") as f:
            json.dump({"rows": [row(1, 256, "cudnn standard", 1.0)]}, f)
        r = subprocess.run([sys.executable, script, bench], capture_output=True, text=True)
        assert r.returncode == 1 and "no timed row" in r.stderr, (r.returncode, r.stderr)
    print("auto_table.py: rows, --write and refusal as expected")


if __name__ == "__main__":
    main()
