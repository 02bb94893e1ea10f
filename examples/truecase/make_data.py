#!/usr/bin/python3
"""make_data.py OUT_DIR [--train N] [--test M] [--seed S]

Truecasing as per-character tagging: lines of real English text from
Debian's `fortunes` package (/usr/share/games/fortunes), lower-cased as
input, tagged `U` where the original character is upper case and `-`
elsewhere. Writes OUT_DIR/train.tsv and OUT_DIR/test.tsv (`text<TAB>tags`),
disjoint, seeded, and prints the F1 of the `U` tag reached on the test set
by the rule "capitalise the first letter of a line and the first letter
after a full stop, question or exclamation mark": the baseline. Standard
library only.
"""
import argparse
import os
import random
import re
import sys

ROOT = "/usr/share/games/fortunes"


def lines():
    out = set()
    for name in sorted(os.listdir(ROOT)):
        path = os.path.join(ROOT, name)
        if "." in name or not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                s = " ".join(line.split())
                if (20 <= len(s) <= 100 and s.isascii() and s != "%" and re.search(r"[a-z]", s)
                        and re.search(r"[A-Za-z]{3}", s)):
                    out.add(s)
    return sorted(out)


def tags(s):
    return "".join("U" if c.isupper() else "-" for c in s)


def baseline(text):
    out, start = [], True
    for c in text:
        if c.isalpha():
            out.append("U" if start else "-")
            start = False
        else:
            out.append("-")
            if c in ".?!":
                start = True
    return "".join(out)


def f1(pairs):
    tp = fp = fn = 0
    for want, got in pairs:
        for w, g in zip(want, got):
            tp += w == "U" and g == "U"
            fp += w != "U" and g == "U"
            fn += w == "U" and g != "U"
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--train", type=int, default=8000)
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=2026)
    a = ap.parse_args()
    if not os.path.isdir(ROOT):
        sys.exit(f"make_data.py: error: {ROOT}: missing (apt-get install fortunes)")
    pool = lines()
    random.Random(a.seed).shuffle(pool)
    if len(pool) < a.train + a.test:
        sys.exit(f"make_data.py: error: only {len(pool)} usable lines")
    test, train = pool[: a.test], pool[a.test: a.test + a.train]
    os.makedirs(a.out, exist_ok=True)
    for name, rows in (("train.tsv", train), ("test.tsv", test)):
        with open(os.path.join(a.out, name), "w", encoding="utf-8") as f:
            f.writelines(f"{s.lower()}\t{tags(s)}\n" for s in rows)
    print(f"wrote {len(train)} training and {len(test)} test lines to {a.out}")
    print(f"baseline_upper_f1={f1((tags(s), baseline(s.lower())) for s in test):.4f}")


if __name__ == "__main__":
    main()
