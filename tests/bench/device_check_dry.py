#!/usr/bin/env python3
"""tests/bench/device_check_dry.py: bench/device_check.sh run without a GPU.

Usage: device_check_dry.py SOURCE_DIR BUILD_DIR

Runs the device check on this machine's build (RNN_CHECK_PREBUILT: no
configure, no build) with every section but the whole suite (cpu-tests, which
would run this test again), and checks what a lent GPU session relies on:
  - the sections come in the promised order (preflight right after the
    build, the benchmark before any sanitizer), in results.json and in the
    snapshot taken after every section, each snapshot valid JSON with the
    section just finished given a status;
  - without a GPU, the preflight says no usable CUDA device was found and
    every GPU section fails at once saying so; the whole run takes seconds;
  - $OUT holds plain files only, at most 8, all of known names; the temporary
    folder is gone.
Exit 77 (a skip) on a machine with a GPU: there the check runs for real.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ORDER = ["build", "preflight", "gpu-tests", "bench", "parity", "python", "workbench", "train", "tasks", "memcheck", "racecheck",
         "initcheck", "synccheck", "torch", "bench-more", "cpu-tests"]
GPU_SECTIONS = ["gpu-tests", "bench", "parity", "python", "workbench", "train", "tasks", "memcheck", "racecheck", "initcheck",
                "synccheck", "torch", "bench-more"]
ALLOWED = {"results.json", "logs.txt", "bench.json", "bench.csv", "bench.txt", "torch.json",
           "time_per_step.png", "ratio_to_cudnn.png"}


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def main():
    src, build = sys.argv[1], sys.argv[2]
    try:
        if subprocess.run(["nvidia-smi", "-L"], capture_output=True, timeout=30).returncode == 0:
            print("a GPU is present: device_check.sh runs for real there")
            return 77
    except (OSError, subprocess.TimeoutExpired):
        pass
    work = tempfile.mkdtemp(prefix="device-check-dry.")
    try:
        out, snap, tmp = (os.path.join(work, d) for d in ("out", "snap", "tmp"))
        os.makedirs(tmp)
        env = dict(os.environ, OUT=out, RNN_CHECK_SECONDS="120", RNN_CHECK_PREBUILT=os.path.abspath(build),
                   RNN_CHECK_SNAPSHOTS=snap, RNN_CHECK_ONLY=" ".join(ORDER[:-1]), RNN_COMMIT="dry-run",
                   TMPDIR=tmp)
        t0 = time.time()
        r = subprocess.run(["bash", os.path.join(src, "bench", "device_check.sh")], env=env,
                           capture_output=True, text=True, timeout=300)
        seconds = time.time() - t0
        print(r.stdout[-3000:])
        if r.returncode == 0:
            fail("the check passed without a GPU")
        if "device check: FAIL" not in r.stdout:
            fail("no 'device check: FAIL' verdict")
        if seconds > 90:
            fail(f"took {seconds:.0f} s: the GPU sections did not fail fast")

        with open(os.path.join(out, "results.json")) as f:
            res = json.load(f)
        if list(res["sections"]) != ORDER:
            fail(f"sections in results.json: {list(res['sections'])}")
        st = {k: v["status"] for k, v in res["sections"].items()}
        if st["build"] != "pass":
            fail(f"build: {st['build']}")
        if not st["preflight"].startswith("fail: no usable CUDA device"):
            fail(f"preflight: {st['preflight']}")
        info = res["sections"]["preflight"].get("info")
        if not isinstance(info, dict) or info.get("devices") != 0 or "error" not in info:
            fail(f"preflight record: {info}")
        for s in GPU_SECTIONS:
            if not st[s].startswith("fail: no GPU found (no usable CUDA device"):
                fail(f"{s}: {st[s]}")
        if st["cpu-tests"] != "not asked":
            fail(f"cpu-tests: {st['cpu-tests']}")

        # One valid snapshot per section, in order, the section just finished given a status.
        shots = sorted(os.listdir(snap))
        want = ["01-start.json"] + [f"{i + 2:02d}-{s}.json" for i, s in enumerate(ORDER)]
        if shots != want:
            fail(f"snapshots: {shots}")
        for name, section in zip(shots[1:], ORDER):
            with open(os.path.join(snap, name)) as f:
                shot = json.load(f)
            if list(shot["sections"]) != ORDER:
                fail(f"{name}: section order {list(shot['sections'])}")
            if shot["sections"][section]["status"] == "not run":
                fail(f"{name}: section {section} has no status yet")
            later = ORDER[ORDER.index(section) + 1:]
            if any(shot["sections"][s]["status"] != "not run" for s in later):
                fail(f"{name}: a later section already has a status")

        entries = os.listdir(out)
        for e in entries:
            p = os.path.join(out, e)
            if not os.path.isfile(p) or os.path.islink(p):
                fail(f"$OUT holds {e}, not a plain file")
            if e not in ALLOWED:
                fail(f"$OUT holds {e}, not one of the known files")
        if len(entries) > 8:
            fail(f"$OUT holds {len(entries)} files")
        if os.listdir(tmp):
            fail(f"temporary files left: {os.listdir(tmp)}")
        print(f"dry run: {len(ORDER)} sections in order, {len(shots)} valid snapshots, "
              f"{len(entries)} files in $OUT ({', '.join(sorted(entries))}), {seconds:.1f} s")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
