"""The model and the training step import only torch and numpy, so a GPU benchmark runs where only PyTorch is."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BLOCKER = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        banned = {"pydantic", "pyarrow", "ray", "mlflow", "prefect", "pyspark", "transformers", "pipeline"}
        if name.split(".")[0] in banned:
            raise ImportError(f"{name} imported by the torch-only training step")
sys.meta_path.insert(0, Block())
import training.model, training.loop, training.lamb, training.shapes
print("ok")
"""


def test_model_and_step_need_only_torch_and_numpy() -> None:
    result = subprocess.run([sys.executable, "-c", BLOCKER], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
