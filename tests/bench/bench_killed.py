#!/usr/bin/env python3
"""tests/bench/bench_killed.py: `rnn bench` killed mid-grid leaves valid files.

Usage: bench_killed.py RNN

Starts `rnn bench --device cpu --json F --csv C` on an 8-shape grid, waits
until F holds its first row, kills the process with SIGKILL, and checks that
F is valid JSON holding the rows finished so far (at least one, fewer than
the grid) and that C is a complete CSV of at most as many rows. Then
`--append` completes the grid: the rows kept are the killed run's, bit for
bit, and every shape appears once.
"""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BATCHES = [1, 2, 3, 4, 5, 6, 7, 8]


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def rows_in(path):
    try:
        with open(path) as f:
            return json.load(f)["rows"]
    except (OSError, ValueError, KeyError):
        return None


def main():
    rnn = sys.argv[1]
    work = tempfile.mkdtemp(prefix="bench-killed.")
    try:
        js, cs = os.path.join(work, "b.json"), os.path.join(work, "b.csv")
        args = [rnn, "bench", "--device", "cpu", "--hidden", "512", "--steps", "128", "--runs", "1",
                "--batch", ",".join(map(str, BATCHES)), "--json", js, "--csv", cs]
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while time.time() < deadline:
            rows = rows_in(js)
            if rows:
                break
            if p.poll() is not None:
                fail(f"rnn bench ended (exit {p.returncode}) before its first row was written")
            time.sleep(0.005)
        p.send_signal(signal.SIGKILL)
        p.wait()
        with open(js) as f:
            report = json.load(f)  # raises, failing the test, if the file is not valid JSON
        # On the CPU each shape gives two rows (the fast backend, the reference).
        per = 2 if report["device"]["gpu"] is False else 1
        n_rows = len(report["rows"])
        n = n_rows // per
        if n_rows % per or not 1 <= n < len(BATCHES):
            fail(f"the killed run's JSON holds {n_rows} rows (expected {per} per shape, 1 to {len(BATCHES) - 1} shapes)")
        if [r["B"] for r in report["rows"]][::per] != BATCHES[:n]:
            fail(f"rows out of order: {[r['B'] for r in report['rows']]}")
        if any(r["ms"] <= 0 for r in report["rows"]):
            fail("a finished row has no time")
        with open(cs, newline="") as f:
            table = list(csv.reader(f))
        if table[0][:9] != ["device", "B", "H", "I", "T", "L", "D", "varlen", "engine"]:
            fail(f"CSV header: {table[0]}")
        if not n_rows - per <= len(table) - 1 <= n_rows or any(len(r) != len(table[0]) for r in table):
            fail(f"CSV: {len(table) - 1} rows for {n_rows} JSON rows, or a short row")
        leftovers = [e for e in os.listdir(work) if e not in ("b.json", "b.csv")]
        # A kill between writing a temporary file and renaming it may leave that
        # temporary behind; it must never replace the real file with a partial one.
        print(f"killed after {n} of {len(BATCHES)} shapes; JSON and CSV valid; other files: {leftovers}")

        r = subprocess.run(args + ["--append"], capture_output=True, text=True, timeout=240)
        if r.returncode != 0:
            fail(f"--append: exit {r.returncode}: {r.stderr}")
        with open(js) as f:
            full = json.load(f)
        if [x["B"] for x in full["rows"]][::per] != BATCHES:
            fail(f"after --append: shapes {[x['B'] for x in full['rows']]}")
        if full["rows"][:n_rows] != report["rows"]:
            fail("--append changed the rows it kept")
        if "already measured (kept)" not in r.stderr:
            fail("--append did not say it kept the finished shapes")
        print(f"--append completed the grid: {len(full['rows'])} rows, the first {n} unchanged")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
