#!/usr/bin/python3 -s
"""PyTorch's side of the train-char comparison: the recipe of `rnn train-char`
in PyTorch, to time against it on the same machine and threads.

The same data and schedule as rnn train-char: the text decoded as UTF-8, the
vocabulary its characters in code point order, the last 10% held out
(texts of 2000 characters or more), the training part cut into B contiguous
streams walked seq_len characters at a time with the hidden state carried
(truncated BPTT) and reset at the start of each pass; one-hot inputs, an
nn.RNN (tanh) and an nn.Linear head, softmax cross-entropy on the next
character, gradients clipped to a global norm, Adam (or SGD with momentum
0.9). Prints the training throughput (tokens/s over the updates, set-up and
validation excluded) and the validation bits per character at the end,
evaluated as rnn train-char does (chunks of 512, state carried from zero).
By default the model starts from the very weights rnn train-char starts
from with the same --seed (rnn::Model::random: std::mt19937_64, uniform in
+-1/sqrt(H), reproduced here), so the two runs differ only in how they
compute; --init torch uses PyTorch's own initialisation instead.

--module rnn runs the same loop with rnn.torch.RNN (the Python package:
installed, or found through PYTHONPATH=python and RNN_LIBRARY) in place of
torch.nn.RNN, everything else PyTorch's: bench/compare_torch_loop.py times
the two against each other and compares their loss curves (--losses prints
every step's loss).

    taskset -c 0 bench/train_char_torch.py --text GPL-3 --hidden 256 --seq-len 64 \
        --batch 32 --steps 300 --threads 1
"""
import argparse
import math
import time

import torch


def vocabulary(text):
    """rnn::Vocab's: the text's characters in code point order."""
    return {c: i for i, c in enumerate(sorted(set(text)))}


class Mt19937_64:
    """std::mt19937_64 as the C++ standard defines it (seeded with one value)."""

    def __init__(self, seed):
        self.mt = [seed & 0xFFFFFFFFFFFFFFFF]
        for i in range(1, 312):
            prev = self.mt[-1]
            self.mt.append((6364136223846793005 * (prev ^ (prev >> 62)) + i) & 0xFFFFFFFFFFFFFFFF)
        self.index = 312

    def __call__(self):
        mt = self.mt
        if self.index >= 312:
            for i in range(312):
                x = (mt[i] & 0xFFFFFFFF80000000) | (mt[(i + 1) % 312] & 0x7FFFFFFF)
                mt[i] = mt[(i + 156) % 312] ^ (x >> 1) ^ (0xB5026F5AA96619E9 if x & 1 else 0)
            self.index = 0
        x = mt[self.index]
        self.index += 1
        x ^= (x >> 29) & 0x5555555555555555
        x ^= (x << 17) & 0x71D67FFFEDA60000
        x ^= (x << 37) & 0xFFF7EEE000000000
        x ^= x >> 43
        return x & 0xFFFFFFFFFFFFFFFF


def init_like_rnn(rnn, fc, seed):
    """The weights rnn::Model::random(config, seed) makes: per layer w_ih,
    w_hh, b_ih, b_hh, then the head's weight and bias, each uniform in
    [-bound, bound) from the top 53 bits of a std::mt19937_64 draw."""
    gen = Mt19937_64(seed)

    def fill(t, bound):
        vals = [(2.0 * ((gen() >> 11) * 2.0 ** -53) - 1.0) * bound for _ in range(t.numel())]
        with torch.no_grad():
            t.copy_(torch.tensor(vals, dtype=torch.float64).reshape(t.shape).float())

    k = 1.0 / math.sqrt(rnn.hidden_size)
    for layer in range(rnn.num_layers):
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            fill(getattr(rnn, f"{name}_l{layer}"), k)
    fill(fc.weight, k)
    fill(fc.bias, k)


def bits_per_char(rnn, fc, ids, V):
    with torch.no_grad():
        h, nll, count = None, 0.0, 0
        for p in range(0, len(ids) - 1, 512):
            T = min(512, len(ids) - 1 - p)
            x = torch.nn.functional.one_hot(torch.tensor(ids[p:p + T]), V).float().unsqueeze(1)
            y, h = rnn(x, h)
            logits = fc(y.squeeze(1))
            nll += torch.nn.functional.cross_entropy(logits, torch.tensor(ids[p + 1:p + 1 + T]),
                                                     reduction="sum").item()
            count += T
        return nll / count / math.log(2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--text", required=True)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--seq-len", type=int, default=50)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    ap.add_argument("--clip", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--module", choices=["torch", "rnn"], default="torch",
                    help="the recurrent layer: torch.nn.RNN (default) or rnn.torch.RNN")
    ap.add_argument("--losses", action="store_true", help="print every step's loss (losses=...)")
    ap.add_argument("--init", choices=["rnn", "torch"], default="rnn",
                    help="rnn (default): rnn train-char's initial weights for --seed; torch: PyTorch's")
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    text = open(a.text, encoding="utf-8").read()
    vocab = vocabulary(text)
    V = len(vocab)
    ids = [vocab[c] for c in text]
    n_train = len(ids) * 9 // 10 if len(ids) >= 2000 else len(ids)
    train_ids, val_ids = ids[:n_train], ids[n_train:]
    usable = n_train - 1
    seq = min(a.seq_len, usable)
    B = max(1, min(a.batch, usable // seq))
    S = usable // B
    data = torch.tensor(train_ids[:B * S + 1])
    streams_in = torch.stack([data[b * S:b * S + S] for b in range(B)], 1)       # [S, B]
    streams_out = torch.stack([data[b * S + 1:b * S + S + 1] for b in range(B)], 1)

    if a.module == "rnn":
        import rnn.torch as rnn_torch
        rnn = rnn_torch.RNN(V, a.hidden, a.layers)
    else:
        rnn = torch.nn.RNN(V, a.hidden, a.layers)
    fc = torch.nn.Linear(a.hidden, V)
    if a.init == "rnn":
        init_like_rnn(rnn, fc, a.seed)
    params = list(rnn.parameters()) + list(fc.parameters())
    opt = (torch.optim.Adam(params, lr=a.lr) if a.optimizer == "adam"
           else torch.optim.SGD(params, lr=a.lr, momentum=0.9))

    h, pos, losses = None, 0, []
    start = time.perf_counter()
    for step in range(1, a.steps + 1):
        if pos >= S:
            pos, h = 0, None
        T = min(seq, S - pos)
        x = torch.nn.functional.one_hot(streams_in[pos:pos + T], V).float()
        target = streams_out[pos:pos + T].reshape(-1)
        y, h_n = rnn(x, h)
        loss = torch.nn.functional.cross_entropy(fc(y).reshape(-1, V), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if a.clip > 0:
            torch.nn.utils.clip_grad_norm_(params, a.clip)
        opt.step()
        h = h_n.detach()
        pos += T
        losses.append(loss.item())
    seconds = time.perf_counter() - start
    tokens = a.steps * seq * B
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {type(rnn).__module__}.RNN: "
          f"{a.steps} steps of {seq} x {B}, H={a.hidden} L={a.layers}, vocabulary {V}")
    print(f"seconds={seconds:.3f}")
    print(f"tokens_per_s={tokens / seconds:.0f}")
    print(f"last_loss={loss.item():.4f}")
    if a.losses:
        print("losses=" + ",".join(f"{v:.7g}" for v in losses))
    if val_ids:
        print(f"val_bpc={bits_per_char(rnn, fc, val_ids, V):.4f}")


if __name__ == "__main__":
    main()
