"""rnn.torch.RNN under DistributedDataParallel: two processes (gloo, CPU),
each with half of the batch, reach the gradients one process computes on
the whole batch; no special handling (ordinary nn.Parameters)."""
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

import rnn.torch as rt

B, T, I, H, O = 8, 9, 5, 12, 4


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = rt.RNN(I, H, num_layers=2, bidirectional=True)
        self.fc = nn.Linear(2 * H, O)

    def forward(self, x, lengths):
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
        out, h_n = self.rnn(packed)
        y, _ = nn.utils.rnn.pad_packed_sequence(out, total_length=x.shape[0])
        return self.fc(y)


def data():
    g = torch.Generator().manual_seed(7)
    x = torch.randn(T, B, I, generator=g)
    lengths = torch.randint(1, T + 1, (B,), generator=g)
    target = torch.randint(0, O, (T, B), generator=g)
    for b in range(B):
        target[lengths[b]:, b] = -100
    return x, lengths, target


def loss_of(net, x, lengths, target):
    logits = net(x, lengths)
    return nn.functional.cross_entropy(logits.reshape(-1, O), target.reshape(-1), ignore_index=-100,
                                       reduction="sum") / x.shape[1]


def worker(rank, world, port, out):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        torch.manual_seed(0)
        net = nn.parallel.DistributedDataParallel(Net())
        x, lengths, target = data()
        half = slice(rank * B // world, (rank + 1) * B // world)
        loss = loss_of(net, x[:, half], lengths[half], target[:, half])
        loss.backward()
        if rank == 0:
            torch.save({n: p.grad for n, p in net.module.named_parameters()}, out)
    finally:
        dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not dist.is_available(), reason="this PyTorch has no torch.distributed")
def test_two_processes_match_one_on_the_whole_batch(tmp_path):
    out = str(tmp_path / "grads.pt")
    mp.spawn(worker, args=(2, free_port(), out), nprocs=2, join=True)
    ddp = torch.load(out, weights_only=True)
    torch.manual_seed(0)
    net = Net()
    x, lengths, target = data()
    loss_of(net, x, lengths, target).backward()
    names = [n for n, _ in net.named_parameters()]
    assert sorted(ddp) == sorted(names)
    for n, p in net.named_parameters():
        err = (ddp[n] - p.grad).norm() / p.grad.norm()
        assert err < 1e-5, f"{n}: {err}"
