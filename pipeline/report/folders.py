"""Where a run's outputs are, and their ``summary.json`` files read back without ever failing.

The report reads only what the stages left on disk, so it works on a finished run, a partial one
(some stages never ran) and a run whose folders were moved: each stage's folder is given alone,
or derived from the data root by the run layout (``pipeline/layout.py``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path

from pipeline.layout import DATA_STAGES, LAYOUT, QUALITY_MODEL_DIR, latest_model
from pipeline.stage import SUMMARY_FILE, StageSummary, SummaryError, read_summary

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class ReportFolders:
    """One folder per stage (``None``: not part of this run); ``models`` holds one folder per model size."""

    harvest: Path | None = None
    fetch: Path | None = None
    extract: Path | None = None
    dedup: Path | None = None
    filter: Path | None = None
    decontaminate: Path | None = None
    tokenize: Path | None = None
    models: Path | None = None
    compare: Path | None = None

    @classmethod
    def under(cls, data_root: Path) -> ReportFolders:
        """The folders of a run under ``data_root``, laid out as the flow writes them."""
        return cls(**{stage: data_root.joinpath(*parts) for stage, parts in LAYOUT.items()})

    @classmethod
    def from_mapping(cls, folders: Mapping[str, Path | str | None]) -> ReportFolders:
        """From ``{stage: folder}``; an unknown stage name is an error naming the allowed ones."""
        unknown = sorted(set(folders) - set(LAYOUT))
        if unknown:
            raise ValueError(f"report folders: unknown stage(s) {unknown}; allowed: {sorted(LAYOUT)}")
        return cls(**{stage: Path(path) if path is not None else None for stage, path in folders.items()})

    def summary(self, stage: str) -> StageSummary | None:
        """The stage's ``summary.json``, or ``None`` when it did not run (or left no readable summary)."""
        folder = getattr(self, stage)
        return None if folder is None else readable_summary(folder)

    def summaries(self) -> dict[str, StageSummary | None]:
        return {stage: self.summary(stage) for stage in DATA_STAGES}

    def model_dirs(self) -> list[Path]:
        """Each size's newest trained model (``models/<size>/<corpus version>/``, ``latest_model``), by size."""
        if self.models is None or not self.models.is_dir():
            return []
        sizes = [
            folder
            for folder in sorted(self.models.iterdir())
            if folder.is_dir() and folder.name != QUALITY_MODEL_DIR  # the filter's classifier, not a trained GPT-2
        ]
        return [model for model in map(latest_model, sizes) if model is not None]


def as_folders(folders: ReportFolders | Mapping[str, Path | str | None] | Path | str) -> ReportFolders:
    """``ReportFolders`` from itself, a ``{stage: folder}`` mapping or a data root."""
    if isinstance(folders, ReportFolders):
        return folders
    if isinstance(folders, Mapping):
        return ReportFolders.from_mapping(folders)
    return ReportFolders.under(Path(folders))


def readable_summary(folder: Path, name: str = SUMMARY_FILE) -> StageSummary | None:
    """``read_summary``, with a summary it cannot read left out (and named in the log) instead of failing."""
    try:
        return read_summary(folder, name)
    except SummaryError as error:
        log.warning("the report leaves out %s", error)
        return None


def count(summary: StageSummary | None, key: str) -> int:
    """A headline count of a summary as an int (0 when absent: a summary written before the count existed)."""
    value = summary.counts.get(key) if summary else None
    return int(value) if isinstance(value, int | float) else 0
