#!/usr/bin/env python3
"""Export a PyTorch RNN model to the .safetensors file rnn reads.

The exporter is the Python package's (python/rnn/export.py, `rnn.export`
once installed with `pip install .`); this script runs it from a checkout,
with PyTorch only (no `safetensors` package, no build):

    python3 scripts/export_torch.py MODEL.pt OUT.safetensors [--nonlinearity tanh|relu] [--vocab-file F]

From Python: `sys.path.insert(0, "scripts"); from export_torch import export, load`
(see python/rnn/export.py for both).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

from rnn.export import ExportError, export, load, main  # noqa: E402,F401

if __name__ == "__main__":
    sys.exit(main())
