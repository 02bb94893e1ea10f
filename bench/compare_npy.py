#!/usr/bin/env python3
"""compare_npy.py TOL ACTUAL EXPECTED [ACTUAL EXPECTED ...]

Exit 0 when every ACTUAL .npy has EXPECTED's shape, is finite, and has
relative error ||a - e|| / ||e|| <= TOL (computed in float64). Needs numpy.
"""
import sys

import numpy as np


def main():
    tol = float(sys.argv[1])
    pairs = sys.argv[2:]
    ok = True
    for a_path, e_path in zip(pairs[0::2], pairs[1::2]):
        a, e = np.load(a_path).astype(np.float64), np.load(e_path).astype(np.float64)
        if a.shape != e.shape:
            print(f"{a_path}: shape {a.shape}, expected {e.shape}")
            ok = False
            continue
        if not np.isfinite(a).all():
            print(f"{a_path}: non-finite values")
            ok = False
            continue
        err = np.linalg.norm((a - e).ravel()) / max(np.linalg.norm(e.ravel()), 1e-30)
        print(f"{a_path}: rel err {err:.2e}")
        ok = ok and err <= tol
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
