"""The run configuration: one YAML file (``flows/configs/*.yaml``) parsed into a pydantic model.

Only the run-level settings live here: the data root, which stages run, the sample, and the
inputs each stage reads (dump paths, a reference directory). A stage's own settings are its
config dataclass's fields, read through ``pipeline.settings.section_model``: its section of the
YAML takes exactly those fields, with their defaults, types and checks. Relative paths are
resolved against the working directory the flow runs in (the repository root for the README
commands and the served deployment).
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evaluation.config import EvalConfig
from pipeline.decontaminate.config import DecontaminateConfig
from pipeline.dedup.config import DedupConfig
from pipeline.extract.config import ExtractConfig
from pipeline.fetch.config import FetchConfig
from pipeline.filter.config import FilterConfig, QualityTrainConfig
from pipeline.harvest.config import HarvestConfig
from pipeline.harvest.reddit_api import RedditApiConfig
from pipeline.layout import DATA_STAGES, DEDUP_FIRST, LAYOUT, QUALITY_MODEL_DIR, REPORT_DIR, STAGE_ORDERS, VERSIONS_DIR
from pipeline.services.config import Services, service_fields, with_services
from pipeline.settings import StageSection, section_model
from pipeline.tokenize.config import TokenizeConfig
from training.config import TrainConfig
from training.shapes import SIZES

STAGES = (*DATA_STAGES, "train", "evaluate")  # in the DAG's order
Stage = Literal[STAGES]
SLICES = {"data": DATA_STAGES, "models": ("train", "evaluate")}  # the flow's `stages` parameter also takes these


def expand_stages(names: list[str]) -> list[str]:
    """Stage names with the slices ``data`` and ``models`` expanded, in the DAG's order; an unknown name is an error."""
    wanted: set[str] = set()
    for name in names:
        if name not in STAGES and name not in SLICES:
            raise ValueError(f"unknown stage {name!r}: choose from {', '.join([*STAGES, *SLICES])}")
        wanted.update(SLICES.get(name, (name,)))
    return [stage for stage in STAGES if stage in wanted]


def moved_services(cls: type, **others: str) -> dict[str, str]:
    """The service fields of stage config ``cls`` (and ``others``), each with where the run config sets it now."""
    moved = {name: f"it moved to {where} (one setting for every stage)" for name, where in service_fields(cls).items()}
    return {**moved, **others}


ServicesSection = section_model(Services)
HarvestSection = section_model(
    HarvestConfig,
    dumps=(list[str], Field(default_factory=list, description="dump files or glob patterns (RS_2017-*.zst)")),
    reddit_api=(section_model(RedditApiConfig) | None, Field(None, description="also page the Reddit API")),
)
FetchSection = section_model(
    FetchConfig,
    crawl_sample_web=(
        bool,
        Field(False, description="serve the sample web (sample.dir/web) on 127.0.0.1 and pin its hosts there"),
    ),
)
ExtractSection = section_model(ExtractConfig)
DedupSection = section_model(
    DedupConfig,
    moved=moved_services(DedupConfig),
    against=(Path | None, Field(None, description="an earlier dedup output new documents must not repeat")),
)
FilterSection = section_model(FilterConfig)
DecontaminateSection = section_model(
    DecontaminateConfig,
    moved=moved_services(DecontaminateConfig),
    eval_sets=(list[str], Field(default_factory=list, description="NAME=PATH or NAME=FORMAT:PATH evaluation sets")),
    evaluated_sets=(
        bool,
        Field(
            True,
            description="also cut every benchmark the evaluate section scores whose file is found (as evaluation "
            "finds and reads it), so the run never evaluates on a set it did not remove from its corpus",
        ),
    ),
    wikipedia_dumps=(list[Path], Field(default_factory=list, description="pages-articles*.xml[.bz2] dumps")),
)
TokenizeSection = section_model(TokenizeConfig)
TrainSection = section_model(
    TrainConfig,
    moved=moved_services(TrainConfig, model="the sizes to train are listed in train.models"),
    models=(
        list[Literal[tuple(SIZES)]],
        Field(default_factory=lambda: ["tiny"], description="sizes to train, one run each"),
    ),
    min_new_tokens=(
        int,
        Field(
            0,
            ge=0,
            description="train a size again only when its last model's corpus has grown by this many train tokens "
            "(0: whenever it grew); the flow's `train` parameter overrides it",
        ),
    ),
)
EvaluateSection = section_model(
    EvalConfig,
    moved=moved_services(EvalConfig),
    skip_missing=(bool, Field(False, description="leave out tasks whose file is missing instead of failing")),
)
QualityTrainSection = section_model(
    QualityTrainConfig,
    positives=(list[Path], Field(default_factory=list, description="empty: the run's deduplicated documents")),
    negatives=(list[Path], Field(..., description="Document directories or .jsonl files (a random crawl)")),
)


class SampleSettings(BaseModel):
    """Generate the bundled sample before the run (the offline demo)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    generate: bool = False
    dir: Path = Path("build/sample")


class RunConfig(BaseModel):
    """Everything one run of the ``webtext`` flow needs; the stage directories hang off ``data_root``.

    ``stages`` lists the stages to run (default: all); stages talk only through files, so a stage
    left out reads what an earlier run left under ``data_root``. ``quality_train``, when set,
    trains the quality classifier before the filter and the filter uses it unless
    ``filter.quality.model_path`` names another model. ``services`` names the Ray, Spark, MLflow and
    task runner every stage uses: each stage section's ``config()`` carries them. ``order`` runs dedup before
    filter (``dedup_first``, GPT-2's card) or after it (``filter_first``, FineWeb's: fewer documents to cluster).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    data_root: Path = Path("build/run")
    stages: list[Stage] = Field(default_factory=lambda: list(STAGES))
    order: Literal[tuple(STAGE_ORDERS)] = DEDUP_FIRST  # dedup then filter (the card's), or filter_first (FineWeb's)
    replace: bool = False  # delete output shards whose input shard is gone (otherwise the stage stops, naming them)
    sample: SampleSettings = SampleSettings()
    services: ServicesSection = ServicesSection()
    harvest: HarvestSection = HarvestSection()
    fetch: FetchSection = FetchSection()
    extract: ExtractSection = ExtractSection()
    dedup: DedupSection = DedupSection()
    filter: FilterSection = FilterSection()
    decontaminate: DecontaminateSection = DecontaminateSection()
    tokenize: TokenizeSection = TokenizeSection()
    train: TrainSection = TrainSection()
    evaluate: EvaluateSection = EvaluateSection()
    quality_train: QualityTrainSection | None = None

    @model_validator(mode="before")
    @classmethod
    def _refuse_moved(cls, data: Any) -> Any:
        if isinstance(data, dict) and "task_runner" in data:
            raise ValueError("task_runner moved to services.task_runner (a Ray task runner's address: services.ray)")
        return data

    @model_validator(mode="after")
    def _fill_services(self) -> Self:
        """Each stage section's config gets the run's services (frozen model: set once, while validating)."""
        services = self.service_settings
        for name, section in self:
            if isinstance(section, StageSection) and service_fields(section.config_class):
                object.__setattr__(self, name, section.with_config(with_services(section.config(), services)))
        return self

    @property
    def service_settings(self) -> Services:
        """The run's services (``services:``)."""
        return self.services.config()

    def runs(self, stage: Stage) -> bool:
        return stage in self.stages

    def folder(self, part: str) -> Path:
        """A stage's folder (or ``models``, ``compare``) under ``data_root``, by the run layout."""
        return self.data_root.joinpath(*LAYOUT[part])

    @property
    def stage_order(self) -> tuple[str, ...]:
        """The data stages in the order this run takes them (``order``)."""
        return STAGE_ORDERS[self.order]

    def input_dir(self, stage: str) -> Path:
        """The folder ``stage`` reads: the output of the stage before it in the run's order."""
        position = self.stage_order.index(stage)
        if position == 0:  # index -1 would name the last stage's folder
            raise ValueError(f"{stage} is the first stage of {self.stage_order}: no stage's output is its input")
        return self.folder(self.stage_order[position - 1])

    def stage_folders(self) -> dict[str, Path]:
        """Each data stage's output folder, in the run's order (what a corpus version's counts are read from)."""
        return {stage: self.folder(stage) for stage in self.stage_order}

    @property
    def may_join_wikipedia_in_spark(self) -> bool:
        """Whether decontaminate may match Wikipedia in Spark (``auto`` decides by the dumps' size when it runs)."""
        wikipedia_join = self.runs("decontaminate") and bool(self.decontaminate.wikipedia_dumps)
        return wikipedia_join and self.decontaminate.config().join != "local"

    @property
    def urls_dir(self) -> Path:
        return self.folder("harvest")

    @property
    def fetch_dir(self) -> Path:
        return self.folder("fetch")

    @property
    def extracted_dir(self) -> Path:
        return self.folder("extract")

    @property
    def deduped_dir(self) -> Path:
        return self.folder("dedup")

    @property
    def filtered_dir(self) -> Path:
        return self.folder("filter")

    @property
    def corpus_dir(self) -> Path:
        return self.folder("decontaminate")

    @property
    def tokens_dir(self) -> Path:
        return self.folder("tokenize")

    def model_dir(self, size: str, version: str) -> Path:
        """One training run per size and corpus version: ``models/124M/v0003``."""
        return self.models_dir / size / version

    @property
    def models_dir(self) -> Path:
        return self.folder("models")

    @property
    def versions_dir(self) -> Path:
        return self.data_root / VERSIONS_DIR

    @property
    def report_dir(self) -> Path:
        return self.data_root / REPORT_DIR

    @property
    def comparison_dir(self) -> Path:
        return self.folder("compare")

    @property
    def quality_model_dir(self) -> Path:
        return self.models_dir / QUALITY_MODEL_DIR


class ConfigError(ValueError):
    """A run config that cannot be used; the message names the file and the field."""


def match_dumps(patterns: list[str]) -> tuple[list[Path], list[str]]:
    """The dump files ``patterns`` name on this machine, glob patterns expanded in name order, and the patterns that
    name no file: harvest fails on those, while a corpus version recorded where some dumps are not lists the rest."""
    paths: list[Path] = []
    unmatched: list[str] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        found = [Path(match) for match in matches if Path(match).is_file()]
        paths += found
        if not found:
            unmatched.append(pattern)
    return paths, unmatched


def load_run_config(path: Path | str) -> RunConfig:
    """Parse and validate ``path``, including each stage's own checks."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as error:
        raise ConfigError(f"run config not found: {path}") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from error
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as error:
        problems = [f"{'.'.join(map(str, item['loc'])) or 'top level'}: {item['msg']}" for item in error.errors()]
        raise ConfigError(f"{path}: " + "; ".join(problems).replace("Value error, ", "")) from error
    except ValueError as error:
        raise ConfigError(f"{path}: {error}") from error
