#!/usr/bin/python3
"""make_data.py OUT_DIR [--per-language N] [--test-per-language M] [--seed S]

Language identification of single words: samples a balanced set from
Debian's word lists (wamerican, wngerman, wfrench, wspanish, witalian, in
/usr/share/dict) with a fixed seed and writes OUT_DIR/train.tsv and
OUT_DIR/test.tsv, one `language<TAB>word` per line. Words are lower-cased,
3 to 14 letters (accents allowed, no apostrophes or hyphens), and a word
found in more than one list is left out (it has no single answer). Train
and test words are disjoint. Standard library only.
"""
import argparse
import os
import random
import sys

LISTS = {"en": "american-english", "de": "ngerman", "fr": "french", "es": "spanish", "it": "italian"}


def words(path):
    out = set()
    with open(path, encoding="utf-8", errors="strict") as f:
        for line in f:
            w = line.strip().lower()
            if 3 <= len(w) <= 14 and w.isalpha():
                out.add(w)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--per-language", type=int, default=4000)
    ap.add_argument("--test-per-language", type=int, default=500)
    ap.add_argument("--seed", type=int, default=2026)
    a = ap.parse_args()
    sets = {}
    for lang, name in LISTS.items():
        path = os.path.join("/usr/share/dict", name)
        if not os.path.exists(path):
            sys.exit(f"make_data.py: error: {path}: missing (apt-get install w{name.split('-')[-1]})")
        sets[lang] = words(path)
    seen = {}
    for lang, ws in sets.items():
        for w in ws:
            seen[w] = seen.get(w, 0) + 1
    rng = random.Random(a.seed)
    train, test = [], []
    for lang in sorted(sets):
        pool = sorted(w for w in sets[lang] if seen[w] == 1)
        pick = rng.sample(pool, a.per_language + a.test_per_language)
        test += [(lang, w) for w in pick[: a.test_per_language]]
        train += [(lang, w) for w in pick[a.test_per_language:]]
    rng.shuffle(train)
    rng.shuffle(test)
    os.makedirs(a.out, exist_ok=True)
    for name, rows in (("train.tsv", train), ("test.tsv", test)):
        with open(os.path.join(a.out, name), "w", encoding="utf-8") as f:
            f.writelines(f"{lang}\t{w}\n" for lang, w in rows)
    print(f"wrote {len(train)} training and {len(test)} test words to {a.out}")


if __name__ == "__main__":
    main()
