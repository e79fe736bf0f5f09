"""The run configuration: one YAML file (``flows/configs/*.yaml``) parsed into a pydantic model.

Every field has a default that works on one machine. Relative paths are resolved
against the working directory the flow runs in (the repository root for the README
commands and the served deployment).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.dedup.config import DedupConfig, SparkConfig
from pipeline.extract.config import ExtractConfig
from pipeline.fetch.config import FetchConfig, parse_resolve
from pipeline.filter.config import FilterConfig, HeuristicConfig, LanguageConfig, QualityConfig
from pipeline.filter.quality_train import QualityTrainConfig
from pipeline.harvest.config import HarvestConfig
from pipeline.harvest.reddit_api import DEFAULT_API_BASE, DEFAULT_AUTH_URL, RedditApiConfig
from pipeline.harvest.urls import DEFAULT_BLOCKED_DOMAINS


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SampleSettings(Section):
    """Generate the bundled sample before the run (the offline demo)."""

    generate: bool = False
    dir: Path = Path("build/sample")


class RedditApiSettings(Section):
    subreddits: list[str] = Field(default_factory=lambda: ["all"])
    api_base: str = DEFAULT_API_BASE
    auth_url: str = DEFAULT_AUTH_URL
    since: str | None = None
    max_pages: int = 10
    allow_private: bool = False

    def to_config(self) -> RedditApiConfig:
        return RedditApiConfig(
            subreddits=tuple(self.subreddits),
            api_base=self.api_base,
            auth_url=self.auth_url,
            since=self.since,
            max_pages=self.max_pages,
            allow_private=self.allow_private,
        )


class HarvestSettings(Section):
    dumps: list[Path] = Field(default_factory=list)
    min_karma: int = 3
    after: str | None = None
    before: str | None = None
    allow_nsfw: bool = False
    use_default_blocklist: bool = True
    extra_blocked_domains: list[str] = Field(default_factory=list)
    n_buckets: int = 16
    skip_corrupt: bool = False
    reddit_api: RedditApiSettings | None = None

    def to_config(self) -> HarvestConfig:
        defaults = DEFAULT_BLOCKED_DOMAINS if self.use_default_blocklist else ()
        return HarvestConfig(
            min_karma=self.min_karma,
            after=self.after,
            before=self.before,
            allow_nsfw=self.allow_nsfw,
            blocked_domains=(*defaults, *self.extra_blocked_domains),
            n_buckets=self.n_buckets,
            skip_corrupt=self.skip_corrupt,
        )


class FetchSettings(Section):
    """The crawler; ``crawl_sample_web`` serves the bundled sample web on loopback and pins its hosts."""

    # Defaults come from FetchConfig itself, so the two cannot drift apart.
    concurrency: int = FetchConfig.concurrency
    per_host_concurrency: int = FetchConfig.per_host_concurrency
    per_host_delay_s: float = FetchConfig.per_host_delay_s
    total_timeout_s: float = FetchConfig.total_timeout_s
    max_bytes: int = FetchConfig.max_bytes
    max_retries: int = FetchConfig.max_retries
    user_agent: str = FetchConfig.user_agent
    respect_robots: bool = FetchConfig.respect_robots
    allow_private: bool = FetchConfig.allow_private
    resolve: list[str] = Field(default_factory=list)
    resolve_only: bool = FetchConfig.resolve_only
    batch_size: int = FetchConfig.batch_size
    warc_gzip_level: int = FetchConfig.warc_gzip_level
    crawl_sample_web: bool = False

    def to_config(self, extra_pins: dict[str, str] | None = None) -> FetchConfig:
        return FetchConfig(
            user_agent=self.user_agent,
            concurrency=self.concurrency,
            per_host_concurrency=self.per_host_concurrency,
            per_host_delay_s=self.per_host_delay_s,
            total_timeout_s=self.total_timeout_s,
            max_bytes=self.max_bytes,
            max_retries=self.max_retries,
            respect_robots=self.respect_robots,
            allow_private=self.allow_private,
            resolve={**parse_resolve(self.resolve), **(extra_pins or {})},
            resolve_only=self.resolve_only,
            batch_size=self.batch_size,
            warc_gzip_level=self.warc_gzip_level,
        )


class ExtractSettings(Section):
    min_words: int = 50
    page_timeout_s: float = 10.0
    workers: int | None = None

    def to_config(self) -> ExtractConfig:
        return ExtractConfig(min_words=self.min_words, page_timeout_s=self.page_timeout_s, workers=self.workers)


SPARK_DEFAULTS, DEDUP_DEFAULTS = SparkConfig(), DedupConfig()  # slotted dataclasses: defaults live on instances


class SparkSettings(Section):
    """The Spark session of the dedup stage: ``local[*]`` here, a cluster's master URL to scale out."""

    master: str = SPARK_DEFAULTS.master
    driver_memory: str = SPARK_DEFAULTS.driver_memory
    shuffle_partitions: int = SPARK_DEFAULTS.shuffle_partitions
    ui_enabled: bool = SPARK_DEFAULTS.ui_enabled
    local_dir: str | None = None
    conf: dict[str, str] = Field(default_factory=dict)

    def to_config(self) -> SparkConfig:
        return SparkConfig(
            master=self.master,
            driver_memory=self.driver_memory,
            shuffle_partitions=self.shuffle_partitions,
            ui_enabled=self.ui_enabled,
            local_dir=self.local_dir,
            conf=tuple(sorted(self.conf.items())),
        )


class DedupSettings(Section):
    """Exact + MinHash-LSH dedup; ``against`` is an earlier dedup output that new documents must not repeat."""

    threshold: float = DEDUP_DEFAULTS.threshold
    num_perm: int = DEDUP_DEFAULTS.num_perm
    bands: int | None = None
    rows: int | None = None
    verify: bool = DEDUP_DEFAULTS.verify
    against: Path | None = None
    spark: SparkSettings = SparkSettings()

    def to_config(self) -> DedupConfig:
        return DedupConfig(
            threshold=self.threshold,
            num_perm=self.num_perm,
            bands=self.bands,
            rows=self.rows,
            verify=self.verify,
            spark=self.spark.to_config(),
        )


LANGUAGE_DEFAULTS, HEURISTIC_DEFAULTS, QUALITY_DEFAULTS = LanguageConfig(), HeuristicConfig(), QualityConfig()
TRAIN_DEFAULTS = QualityTrainConfig()


class HeuristicSettings(Section):
    """The Gopher rules' thresholds (defaults: the Gopher paper's); n-gram limits map n to a character share."""

    enabled: bool = HEURISTIC_DEFAULTS.enabled
    languages: list[str] = Field(default_factory=lambda: list(HEURISTIC_DEFAULTS.languages))
    min_words: int = HEURISTIC_DEFAULTS.min_words
    max_words: int = HEURISTIC_DEFAULTS.max_words
    min_mean_word_length: float = HEURISTIC_DEFAULTS.min_mean_word_length
    max_mean_word_length: float = HEURISTIC_DEFAULTS.max_mean_word_length
    max_symbol_ratio: float = HEURISTIC_DEFAULTS.max_symbol_ratio
    max_bullet_line_share: float = HEURISTIC_DEFAULTS.max_bullet_line_share
    max_ellipsis_line_share: float = HEURISTIC_DEFAULTS.max_ellipsis_line_share
    min_alphabetic_word_fraction: float = HEURISTIC_DEFAULTS.min_alphabetic_word_fraction
    stop_words: list[str] = Field(default_factory=lambda: list(HEURISTIC_DEFAULTS.stop_words))
    min_stop_words: int = HEURISTIC_DEFAULTS.min_stop_words
    max_duplicate_line_fraction: float = HEURISTIC_DEFAULTS.max_duplicate_line_fraction
    max_duplicate_line_char_fraction: float = HEURISTIC_DEFAULTS.max_duplicate_line_char_fraction
    max_duplicate_paragraph_fraction: float = HEURISTIC_DEFAULTS.max_duplicate_paragraph_fraction
    max_duplicate_paragraph_char_fraction: float = HEURISTIC_DEFAULTS.max_duplicate_paragraph_char_fraction
    top_ngram_max_fraction: dict[int, float] = Field(
        default_factory=lambda: dict(HEURISTIC_DEFAULTS.top_ngram_max_fraction)
    )
    duplicate_ngram_max_fraction: dict[int, float] = Field(
        default_factory=lambda: dict(HEURISTIC_DEFAULTS.duplicate_ngram_max_fraction)
    )

    def to_config(self) -> HeuristicConfig:
        settings = self.model_dump()
        settings["stop_words"], settings["languages"] = tuple(self.stop_words), tuple(self.languages)
        for name in ("top_ngram_max_fraction", "duplicate_ngram_max_fraction"):
            settings[name] = tuple(sorted(settings[name].items()))
        return HeuristicConfig(**settings)


class FilterSettings(Section):
    """Language ID, the heuristic rules and the quality selection; ``quality_model`` None with ``quality_train``
    set uses the model the flow trains."""

    languages: list[str] = Field(default_factory=lambda: list(LANGUAGE_DEFAULTS.languages))
    min_language_score: float = LANGUAGE_DEFAULTS.min_score
    lid_model: Path | None = None
    crosscheck: bool = LANGUAGE_DEFAULTS.crosscheck
    crosscheck_max_chars: int = LANGUAGE_DEFAULTS.crosscheck_max_chars
    crosscheck_below_score: float = LANGUAGE_DEFAULTS.crosscheck_below_score
    heuristics: HeuristicSettings = HeuristicSettings()
    quality_model: Path | None = None
    selection: str = QUALITY_DEFAULTS.selection
    quality_threshold: float = QUALITY_DEFAULTS.threshold
    pareto_alpha: float = QUALITY_DEFAULTS.pareto_alpha
    seed: int = QUALITY_DEFAULTS.seed
    workers: int | None = None

    def to_config(self, trained_model: Path | None = None) -> FilterConfig:
        model = self.quality_model or trained_model
        return FilterConfig(
            language=LanguageConfig(
                languages=tuple(self.languages),
                min_score=self.min_language_score,
                model_path=str(self.lid_model) if self.lid_model else None,
                crosscheck=self.crosscheck,
                crosscheck_max_chars=self.crosscheck_max_chars,
                crosscheck_below_score=self.crosscheck_below_score,
            ),
            heuristics=self.heuristics.to_config(),
            quality=QualityConfig(
                model_path=str(model) if model else None,
                selection=self.selection,
                threshold=self.quality_threshold,
                pareto_alpha=self.pareto_alpha,
                seed=self.seed,
            ),
        )


class QualityTrainSettings(Section):
    """Train the quality classifier before filtering; ``positives`` empty means the run's deduplicated documents."""

    positives: list[Path] = Field(default_factory=list)
    negatives: list[Path]
    positive_min_karma: int = TRAIN_DEFAULTS.positive_min_karma
    negative_max_karma: int = TRAIN_DEFAULTS.negative_max_karma
    min_chars: int = TRAIN_DEFAULTS.min_chars
    max_per_class: int | None = None
    valid_fraction: float = TRAIN_DEFAULTS.valid_fraction
    seed: int = TRAIN_DEFAULTS.seed
    epoch: int = TRAIN_DEFAULTS.epoch
    lr: float = TRAIN_DEFAULTS.lr
    word_ngrams: int = TRAIN_DEFAULTS.word_ngrams
    dim: int = TRAIN_DEFAULTS.dim
    quantize: bool = TRAIN_DEFAULTS.quantize

    def to_config(self) -> QualityTrainConfig:
        return QualityTrainConfig(**self.model_dump(exclude={"positives", "negatives"}))


class RunConfig(Section):
    """Everything one run of the ``webtext`` flow needs; the stage directories hang off ``data_root``."""

    data_root: Path = Path("build/run")
    sample: SampleSettings = SampleSettings()
    harvest: HarvestSettings = HarvestSettings()
    fetch: FetchSettings = FetchSettings()
    extract: ExtractSettings = ExtractSettings()
    dedup: DedupSettings = DedupSettings()
    filter: FilterSettings = FilterSettings()
    quality_train: QualityTrainSettings | None = None

    @property
    def urls_dir(self) -> Path:
        return self.data_root / "urls"

    @property
    def fetch_dir(self) -> Path:
        return self.data_root / "fetch"

    @property
    def extracted_dir(self) -> Path:
        return self.data_root / "docs" / "extracted"

    @property
    def deduped_dir(self) -> Path:
        return self.data_root / "docs" / "deduped"

    @property
    def filtered_dir(self) -> Path:
        return self.data_root / "docs" / "filtered"

    @property
    def quality_model_dir(self) -> Path:
        return self.data_root / "models" / "quality"


class ConfigError(ValueError):
    """A run config that cannot be used; the message names the file and the field."""


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
        config = RunConfig.model_validate(raw)
        config.harvest.to_config()
        config.fetch.to_config()
        config.extract.to_config()
        config.dedup.to_config()
        config.filter.to_config()
        if config.quality_train is not None:
            config.quality_train.to_config()
        if config.harvest.reddit_api is not None:
            config.harvest.reddit_api.to_config()
    except (ValidationError, ValueError) as error:
        raise ConfigError(f"{path}: {error}") from error
    return config
