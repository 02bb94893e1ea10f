"""Shared by the package's tests: the devices to run on (the CPU, and CUDA
where PyTorch and the engine both see a GPU), fresh seeds (printed, and
replayable with RNN_TEST_SEED) and the relative-norm error."""
import os
import random

import pytest

torch = pytest.importorskip("torch")
import rnn  # noqa: E402


def devices():
    out = ["cpu"]
    if torch.cuda.is_available() and rnn.cuda_device_count() > 0:
        out.append("cuda")
    return out


@pytest.fixture
def seed(request):
    s = int(os.environ.get("RNN_TEST_SEED") or random.SystemRandom().randrange(2**31))
    print(f"seed {s} (RNN_TEST_SEED={s} replays it)")
    torch.manual_seed(s)
    return s


def rel_err(a, b):
    """|a - b| / |b| over whole tensors, in double."""
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    den = b.norm().item()
    return (a - b).norm().item() / max(den, 1e-300)
