"""Configuration of the extract stage, validated when it is built."""

from __future__ import annotations

import dataclasses
import re
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pipeline.settings import setting, workers_setting
from pipeline.validation import check_range, check_workers

DEFAULT_EXTRACTOR = "pipeline.extract.html_text:trafilatura_extract"
EXTRACTOR_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
VERSIONED_LIBRARIES = ("trafilatura", "charset-normalizer")  # an upgrade can change the text, so it redoes shards


def _library_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


@dataclasses.dataclass(frozen=True, slots=True)
class ExtractConfig:
    """How pages become documents, and how long one page may take.

    ``min_words`` drops pages whose main text is shorter (thin pages, galleries,
    "coming soon"). ``page_timeout_s`` bounds one page: a worker still busy after it
    is killed and replaced, and the page counts as ``timeout``. ``max_chars_per_page``
    cuts giant HTML before it reaches the extractor, so one page cannot take minutes.
    ``extractor`` is a ``module:function`` import path (see ``html_text.trafilatura_extract``
    for the signature): tests inject extractors that hang or crash through it.
    ``workers`` changes speed only, never results, so it is not part of any fingerprint.
    """

    min_words: int = setting(50, help="drop pages with fewer words of main text")
    page_timeout_s: float = setting(10.0, flag="page-timeout", help="seconds one page may take; then it is a timeout")
    max_chars_per_page: int = setting(1_000_000, help="HTML beyond this many characters is cut before extraction")
    extractor: str = setting(DEFAULT_EXTRACTOR, help="the extractor, as a 'package.module:function' import path")
    workers: int | None = workers_setting()

    def __post_init__(self) -> None:
        check_range("min_words", self.min_words, 0, 10**9, integer=True)
        check_range("page_timeout_s", self.page_timeout_s, 0.001, 3600)
        check_range("max_chars_per_page", self.max_chars_per_page, 1000, 10**10, integer=True)
        check_workers(self.workers)
        if not isinstance(self.extractor, str) or not EXTRACTOR_PATH.match(self.extractor):
            raise ValueError(f"extractor must be an import path 'package.module:function', got {self.extractor!r}")

    def identity(self) -> dict[str, Any]:
        """Everything that can change a shard's bytes: the settings (not ``workers``) and the libraries' versions."""
        settings = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        del settings["workers"]
        return {**settings, **{library: _library_version(library) for library in VERSIONED_LIBRARIES}}
