"""Configuration of a zero-shot evaluation, validated when it is built (CLI flags and YAML section derive from it)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from pipeline.benchmarks.registry import BENCHMARKS
from pipeline.settings import setting
from pipeline.validation import check_range

DEFAULT_TASKS = ("lambada", "wikitext2", "ptb")
DEFAULT_DATA_DIR = Path("data/eval")
EVAL_DIR_VARIABLE = "WEBTEXT_EVAL_DIR"


@dataclasses.dataclass(frozen=True, slots=True)
class EvalConfig:
    """Which tasks, on which files, how much of them, and where the results go.

    Task files are looked up under their release names (``lambada_test.jsonl``, ``wikitext-2.test.txt``,
    ``ptb.test.txt``, …) in ``data_dir``, else ``$WEBTEXT_EVAL_DIR``, else ``data/eval``; ``task_paths``
    gives any task's file directly. ``stride`` None scores rolling tasks in disjoint windows of the
    model's context (lm-eval's default); a stride slides a full-context window by that many tokens, each
    token after the first window then seen with at least ``context - stride + 1`` before it (lower
    perplexity, more compute).
    """

    tasks: tuple[str, ...] = setting(DEFAULT_TASKS, help="tasks to run: lambada, wikitext2, wikitext103, ptb, ...")
    data_dir: Path | None = setting(None, help="folder with the tasks' files under their release names")
    task_paths: tuple[tuple[str, str], ...] = setting(
        (), flag="task-path", help="a task's file directly, TASK=PATH; repeat for more"
    )
    limit: int | None = setting(None, help="only the first N examples (lines, articles) of each task")
    batch_size: int = setting(8, help="sequences per forward pass")
    stride: int | None = setting(None, help="rolling tasks: slide the window by this many tokens; none: disjoint")
    gpu: bool = setting(False, help="evaluate on the GPU (bf16)")
    mlflow_tracking_uri: str | None = setting(
        None, help="MLflow tracking URI; none: $MLFLOW_TRACKING_URI, else the training run folder's mlflow.db"
    )
    experiment: str = setting("webtext", help="MLflow experiment (the one training logs to)")

    def __post_init__(self) -> None:
        if not self.tasks:
            raise ValueError(f"tasks is empty: name at least one of {', '.join(BENCHMARKS)}")
        unknown = [task for task in self.tasks if task not in BENCHMARKS]
        if unknown:
            raise ValueError(f"tasks: unknown {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        unknown = [task for task, _ in self.task_paths if task not in BENCHMARKS]
        if unknown:
            raise ValueError(f"task_paths: unknown task {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        if self.limit is not None:
            check_range("limit", self.limit, 1, 10**12, integer=True)
        check_range("batch_size", self.batch_size, 1, 100_000, integer=True)
        if self.stride is not None:
            check_range("stride", self.stride, 1, 10**6, integer=True)
        if not self.experiment.strip():
            raise ValueError("experiment must be a non-empty MLflow experiment name")

    def data_folder(self) -> Path:
        if self.data_dir is not None:
            return self.data_dir
        return Path(os.environ[EVAL_DIR_VARIABLE]) if os.environ.get(EVAL_DIR_VARIABLE) else DEFAULT_DATA_DIR

    def task_file(self, task: str, filename: str) -> Path:
        """Where ``task``'s file is: its own path if given, else its release name in the data folder."""
        given = dict(self.task_paths)
        return Path(given[task]) if task in given else self.data_folder() / filename
