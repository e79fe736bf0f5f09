"""Exporting or evaluating a checkpoint reads the model's weights, not the optimizer state beside them.

A checkpoint of AdamW training holds three times the model's size (weights, two moments); ``model_weights``
must cost about the weights alone. Measured as the peak resident memory of a fresh process that loads a
100 MB model's checkpoint and reads every weight.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from training.checkpoint import STATE_FILE, save_checkpoint
from training.model import GPT, GPTConfig

ROOT = Path(__file__).resolve().parents[2]
SHAPE = GPTConfig(vocab_size=512, block_size=64, n_layer=8, n_head=8, n_embd=512)  # about 25M parameters
LOAD = """
import sys
from pathlib import Path
from training.checkpoint import model_weights


def peak_rss() -> int:  # VmHWM: this process's own peak (ru_maxrss would carry the parent's across fork and exec)
    line = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


before = peak_rss()
weights = model_weights(Path(sys.argv[1]))
total = sum(float(tensor.double().sum()) for tensor in weights.values())  # every weight read
print(peak_rss() - before)
"""


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads the peak memory from /proc (Linux)")
def test_model_weights_reads_the_weights_and_not_the_optimizer_state(tmp_path: Path) -> None:
    model = GPT(SHAPE)
    optimizer = torch.optim.AdamW(model.parameters())
    _, loss = model(torch.zeros(1, 8, dtype=torch.long), torch.zeros(1, 8, dtype=torch.long))
    loss.backward()
    optimizer.step()  # the moments exist: the state is three times the weights
    save_checkpoint(tmp_path, model, optimizer, 1, {}, {})
    weights_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    assert (tmp_path / STATE_FILE).stat().st_size > 2.8 * weights_bytes
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", LOAD, str(tmp_path)], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    grown = int(result.stdout.split()[-1])
    assert grown < 1.6 * weights_bytes, f"loading the weights took {grown / weights_bytes:.1f}x their size"
