#!/usr/bin/env python3
"""The CUDA kernels as compiled: resources and the hot loops' instruction mix.

    scripts/kernel_report.py [--check] [--strict] [--json FILE] BUILD_DIR

For every kernel in BUILD_DIR's compiled kernels (the objects of kernels/*.cu
in the rnn_cuda target), from `cuobjdump --dump-resource-usage`: registers
per thread, stack, local memory and static shared memory. For every kernel
of the recurrence families (recurrence_*, backward_*: the per-step code),
from the SASS (`cuobjdump -xelf` then `nvdisasm`): the hot loop, taken as
the innermost loop (a backward branch to a label, holding no other loop)
with the most FFMA, and its instruction mix per iteration: FFMA, shared
loads (LDS, LDSM), global loads (LDG), barriers (BAR), all instructions;
FFMA per shared load; and the calls to 64-bit integer division or
remainder routines (__cuda_sm20_div/rem_s64/u64) inside any loop.

--check fails (exit 1) when a recurrence-family kernel uses local memory or
stack (spills); --strict also fails when a second-generation kernel's
(recurrence_registers, recurrence_cluster, backward_registers) hot loop
issues fewer than 4 FFMA per shared load, or any recurrence-family kernel calls a 64-bit division
inside a loop. cuobjdump and nvdisasm are found on PATH, in $CUDA_TOOLS, in
/usr/local/cuda/bin or under /opt/cudatools (pip install --target
/opt/cudatools nvidia-cuda-cuobjdump nvidia-cuda-nvdisasm).
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

FAMILY = re.compile(r"(recurrence|persistent|stepwise|backward|registers)", re.I)
DIV64 = re.compile(r"__cuda_sm\d+_(div|rem)_[su]64")
# The kernels --strict holds to at least 4 FFMA per shared
# load: the second generation's (W_hh in registers: the registers kernel,
# the cluster kernel, and the registers backward twin); the first
# generation's (W_hh in shared memory, recurrence_persistent) is reported as
# it is.
GEN2_PERSISTENT = ("recurrence_registers", "recurrence_cluster", "backward_registers")


def tool(name):
    for d in [os.environ.get("CUDA_TOOLS", "")] + os.environ.get("PATH", "").split(os.pathsep) + [
            "/usr/local/cuda/bin"] + glob.glob("/opt/cudatools/nvidia/*/bin") + ["/opt/cudatools/bin"]:
        if d and os.access(os.path.join(d, name), os.X_OK):
            return os.path.join(d, name)
    sys.exit(f"kernel_report: {name} not found (pip install --target /opt/cudatools nvidia-cuda-cuobjdump "
             f"nvidia-cuda-nvdisasm, or set CUDA_TOOLS)")


def demangle(names):
    if not names or not shutil.which("c++filt"):
        return {n: n for n in names}
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True).stdout.splitlines()
    return dict(zip(names, out)) if len(out) == len(names) else {n: n for n in names}


def short(name):
    """rnn::kernels::recurrence_persistent_kernel<2, 4>(...) -> recurrence_persistent_kernel<2, 4>"""
    name = re.sub(r"\(.*$", "", name)
    name = re.sub(r"^(void )?rnn::kernels::", "", name)
    return re.sub(r"\(anonymous namespace\)::", "", name)


def resources(cuobjdump, obj):
    text = subprocess.run([cuobjdump, "--dump-resource-usage", obj], capture_output=True, text=True).stdout
    out, fn = {}, None
    for line in text.splitlines():
        m = re.match(r"\s*Function (\S+):", line)
        if m:
            fn = m.group(1)
            continue
        if fn and "REG:" in line:
            out[fn] = {k.lower(): int(v) for k, v in re.findall(r"(REG|STACK|SHARED|LOCAL):(\d+)", line)}
            fn = None
    return out


INSN = re.compile(r"^\s*/\*([0-9a-f]{4,})\*/\s+(@!?U?P\w+\s+)?([A-Z0-9_.]+)(.*)$")


def sass_functions(nvdisasm, cubin):
    """{function: [(address, opcode, operands)], ...} and {function: {label: address}}."""
    return parse_listing(subprocess.run([nvdisasm, "-c", cubin], capture_output=True, text=True).stdout)


def parse_listing(text):
    """nvdisasm's listing -> ({function: [(address, opcode, operands)]}, {function: {label: address}})."""
    funcs, labels, fn, pending = {}, {}, None, []
    for line in text.splitlines():
        m = re.match(r"^\s*\.text\.(\S+):", line)
        if m:
            fn = m.group(1)
            funcs[fn], labels[fn], pending = [], {}, []
            continue
        if fn is None:
            continue
        m = re.match(r"^(\.L_x_\d+|\$[^:\s]+):", line)
        if m:
            pending.append(m.group(1))
            continue
        m = INSN.match(line)
        if m:
            addr = int(m.group(1), 16)
            for lab in pending:
                labels[fn][lab] = addr
            pending = []
            funcs[fn].append((addr, m.group(3), m.group(4)))
    return funcs, labels


def loops_of(insns, labels):
    """[(start, end)] of every backward branch's range."""
    out = []
    for addr, op, rest in insns:
        if op.startswith("BRA"):
            m = re.search(r"\((\.L_x_\d+)\)", rest)
            if m and m.group(1) in labels and labels[m.group(1)] <= addr:
                out.append((labels[m.group(1)], addr))
    return out


def mix(insns, lo, hi):
    body = [op for a, op, _ in insns if lo <= a <= hi]
    count = lambda pred: sum(1 for op in body if pred(op))
    return {
        "ffma": count(lambda op: op.startswith("FFMA")),
        "lds": count(lambda op: op.startswith("LDS")),
        "ldg": count(lambda op: op.startswith("LDG")),
        "bar": count(lambda op: op.startswith("BAR")),
        "instructions": len(body),
    }


def analyse(insns, labels):
    loops = loops_of(insns, labels)
    inner = [l for l in loops if not any(o != l and l[0] <= o[0] and o[1] <= l[1] for o in loops)]
    hot, best = None, None
    for lo, hi in inner:
        m = mix(insns, lo, hi)
        if best is None or (m["ffma"], m["instructions"]) > (best["ffma"], best["instructions"]):
            hot, best = (lo, hi), m
    div_in_loops = sum(1 for a, op, rest in insns
                       if op.startswith("CALL") and DIV64.search(rest) and any(lo <= a <= hi for lo, hi in loops))
    div_total = sum(1 for a, op, rest in insns if op.startswith("CALL") and DIV64.search(rest))
    r = {"loops": len(loops), "div64_calls_in_loops": div_in_loops, "div64_calls": div_total}
    if best is not None:
        r["hot_loop"] = dict(best, start=f"0x{hot[0]:04x}", end=f"0x{hot[1]:04x}")
        r["hot_loop"]["ffma_per_lds"] = round(best["ffma"] / best["lds"], 2) if best["lds"] else None
    return r


SAMPLE = """
.text.k:
        /*0000*/                   MOV R1, c[0x0][0x28] ;
.L_x_0:
        /*0010*/                   LDS R2, [R3] ;
        /*0020*/                   FFMA R4, R2, R5, R4 ;
        /*0030*/                   FFMA R6, R2, R7, R6 ;
.L_x_1:
        /*0040*/                   LDS.128 R8, [R3+0x10] ;
        /*0050*/                   FFMA R4, R8, R5, R4 ;
        /*0060*/                   FFMA R4, R9, R5, R4 ;
        /*0070*/                   FFMA R4, R10, R5, R4 ;
        /*0080*/                   FFMA R4, R11, R5, R4 ;
        /*0090*/               @P0 BRA `(.L_x_1) ;
        /*00a0*/                   CALL.REL.NOINC `($__internal_0_$__cuda_sm20_div_u64) ;
        /*00b0*/                   BAR.SYNC.DEFER_BLOCKING 0x0 ;
        /*00c0*/              @!P1 BRA `(.L_x_0) ;
        /*00d0*/                   LDG.E R2, desc[UR4][R2.64] ;
        /*00e0*/                   EXIT ;
"""


def self_test():
    """The SASS reading on a listing with known answers: an outer loop
    holding an inner one, a 64-bit division in the outer loop only."""
    funcs, labels = parse_listing(SAMPLE)
    r = analyse(funcs["k"], labels["k"])
    want = {"loops": 2, "div64_calls_in_loops": 1, "div64_calls": 1,
            "hot_loop": {"ffma": 4, "lds": 1, "ldg": 0, "bar": 0, "instructions": 6, "start": "0x0040",
                         "end": "0x0090", "ffma_per_lds": 4.0}}
    if r != want:
        print(f"kernel_report: self-test FAILED:\n  got  {r}\n  want {want}")
        return 1
    print("kernel_report: self-test passed")
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build_dir")
    ap.add_argument("--check", action="store_true", help="fail on spills or local memory in the recurrence kernels")
    ap.add_argument("--strict", action="store_true", help="also fail below the second generation's targets")
    ap.add_argument("--json", help="write the report as JSON here")
    a = ap.parse_args()
    objs = sorted(glob.glob(os.path.join(a.build_dir, "CMakeFiles", "rnn_cuda.dir", "kernels", "*.cu.o")))
    if not objs:
        sys.exit(f"kernel_report: no compiled kernels under {a.build_dir}/CMakeFiles/rnn_cuda.dir/kernels "
                 "(a build with the CUDA backend: scripts/build.sh where nvcc is found)")
    cuobjdump, nvdisasm = tool("cuobjdump"), tool("nvdisasm")
    report = []
    with tempfile.TemporaryDirectory() as tmp:
        for obj in objs:
            family = os.path.basename(obj).split(".")[0]
            res = resources(cuobjdump, obj)
            d = os.path.join(tmp, family)
            os.makedirs(d)
            subprocess.run([cuobjdump, "-xelf", "all", os.path.abspath(obj)], cwd=d, capture_output=True)
            funcs, labels = {}, {}
            for cubin in glob.glob(os.path.join(d, "*.cubin")):
                f, l = sass_functions(nvdisasm, cubin)
                funcs.update(f)
                labels.update(l)
            names = demangle(sorted(res))
            for mangled in sorted(res):
                entry = {"family": family, "kernel": short(names[mangled]), "mangled": mangled, **res[mangled]}
                entry["per_step"] = bool(FAMILY.search(family))
                if entry["per_step"] and mangled in funcs:
                    entry.update(analyse(funcs[mangled], labels[mangled]))
                report.append(entry)

    failures = []
    print(f"{'kernel':58} {'reg':>4} {'stack':>5} {'local':>5} {'smem':>6}  hot loop: {'ffma':>4} {'lds':>4} "
          f"{'ldg':>4} {'bar':>3} {'insn':>5} {'ffma/lds':>8}  div64 in loops")
    for e in report:
        line = f"{e['kernel'][:58]:58} {e['reg']:>4} {e['stack']:>5} {e['local']:>5} {e['shared']:>6}"
        h = e.get("hot_loop")
        if h:
            ratio = "-" if h["ffma_per_lds"] is None else f"{h['ffma_per_lds']:.2f}"
            line += (f"            {h['ffma']:>4} {h['lds']:>4} {h['ldg']:>4} {h['bar']:>3} {h['instructions']:>5} "
                     f"{ratio:>8}  {e['div64_calls_in_loops']}")
        print(line)
        if e["per_step"] and (e["local"] > 0 or e["stack"] > 0):
            failures.append(f"{e['kernel']}: {e['local']} bytes of local memory, {e['stack']} of stack (spills)")
        if a.strict and e["per_step"]:
            if e.get("div64_calls_in_loops"):
                failures.append(f"{e['kernel']}: {e['div64_calls_in_loops']} 64-bit divisions inside loops")
            if e["family"] in GEN2_PERSISTENT and h and (h["ffma_per_lds"] or 0) < 4:
                failures.append(f"{e['kernel']}: {h['ffma_per_lds']} FFMA per shared load in the hot loop (< 4)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
    if failures and (a.check or a.strict):
        print("\nkernel_report: FAIL\n  " + "\n  ".join(failures))
        return 1
    per_step = sum(1 for e in report if e["per_step"])
    print(f"\nkernel_report: {len(report)} kernels, {per_step} of the recurrence families; "
          + ("; ".join(failures) if failures else "none uses local memory or stack"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
