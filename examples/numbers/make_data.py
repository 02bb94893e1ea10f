#!/usr/bin/python3
"""make_data.py OUT_DIR [--train N] [--test M] [--seed S]

Numbers to English words ("4107" -> "four thousand one hundred seven") for
the encoder-decoder: seeded, disjoint train and test sets of numbers in
[0, 9999], written as OUT_DIR/train.tsv and OUT_DIR/test.tsv
(`digits<TAB>words`). Test numbers never occur in training. Standard
library only.
"""
import argparse
import os
import random

ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen " \
       "seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def words(n):
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    if n < 1000:
        return ONES[n // 100] + " hundred" + ("" if n % 100 == 0 else " " + words(n % 100))
    return words(n // 1000) + " thousand" + ("" if n % 1000 == 0 else " " + words(n % 1000))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--train", type=int, default=7000)
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=2026)
    a = ap.parse_args()
    nums = list(range(10000))
    random.Random(a.seed).shuffle(nums)
    test, train = nums[: a.test], nums[a.test: a.test + a.train]
    os.makedirs(a.out, exist_ok=True)
    for name, rows in (("train.tsv", train), ("test.tsv", test)):
        with open(os.path.join(a.out, name), "w") as f:
            f.writelines(f"{n}\t{words(n)}\n" for n in rows)
    print(f"wrote {len(train)} training and {len(test)} test numbers to {a.out}")


if __name__ == "__main__":
    main()
