"""Configuration of the extract stage, validated when it is built."""

from __future__ import annotations

import dataclasses
import re
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pipeline.extract.html_text import PageRules
from pipeline.settings import setting, workers_setting
from pipeline.validation import check_range, check_workers

# The built-in extractors by backend name; see ``pipeline.extract.backends`` for the trade-off.
BACKENDS = {
    "trafilatura": "pipeline.extract.backends:trafilatura_extract",
    "resiliparse": "pipeline.extract.backends:resiliparse_extract",
}
# How the publication date is found: not at all, from the page's markup, or by htmldate's search (``backends``).
DATES = ("none", "meta", "full")
EXTRACTOR_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
# Libraries whose upgrade can change a document, so it redoes shards: the decoder's, the backend's, and the
# metadata's (resiliparse reads the markup for ``meta`` and ``none`` whatever the backend; htmldate dates ``full``).
DECODING_LIBRARIES = ("charset-normalizer",)
BACKEND_LIBRARIES = {"trafilatura": ("trafilatura",), "resiliparse": ("resiliparse",)}
METADATA_LIBRARIES = {"none": ("resiliparse",), "meta": ("resiliparse",), "full": ("htmldate",)}


def _library_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


@dataclasses.dataclass(frozen=True, slots=True)
class ExtractConfig:
    """How pages become documents, and how long one page may take.

    ``backend`` picks the main-text extractor: ``trafilatura`` (the default, precision-first, as
    FineWeb) or ``resiliparse`` (an order of magnitude faster, the same keep/drop decisions on the
    bundled sample, slightly different text). ``min_words`` drops pages whose main text is shorter
    (thin pages, galleries, "coming soon"). ``page_timeout_s`` bounds one page: a worker still busy
    after it is killed and replaced, and the page counts as ``timeout``. ``max_chars_per_page`` cuts
    giant HTML before it reaches the extractor, so one page cannot take minutes. ``extractor``, when
    set, is a ``module:function`` import path that replaces the backend's extractor (see
    ``backends.trafilatura_extract`` for the signature): tests inject extractors that hang or crash
    through it. ``dates`` picks how the publication date is found: ``meta`` (the default) from the
    page's markup (meta tags, JSON-LD, ``<time>``, URL) at a fraction of a millisecond, ``full`` with
    htmldate's search of the page as well (as trafilatura's ``with_metadata``: twice trafilatura's time
    per page), ``none`` not at all; the main text is the same whichever. ``workers`` changes speed only,
    never results, so it is not part of any fingerprint.
    """

    backend: str = setting(
        "trafilatura", choices=tuple(BACKENDS), help="main-text extractor: trafilatura (precise) or resiliparse (fast)"
    )
    min_words: int = setting(50, help="drop pages with fewer words of main text")
    page_timeout_s: float = setting(10.0, flag="page-timeout", help="seconds one page may take; then it is a timeout")
    max_chars_per_page: int = setting(1_000_000, help="HTML beyond this many characters is cut before extraction")
    extractor: str | None = setting(
        None, help="a 'package.module:function' import path that replaces the backend's extractor (for tests)"
    )
    honour_tdm_reservation: bool = setting(
        True,
        flag="tdm-reservation",
        help="honour the TDM Reservation Protocol (W3C TDMRep): a page its site's tdmrep.json, its TDM-Reservation "
        "header or its meta tag reserves (the later overriding the earlier) becomes no document (tdm_reserved)",
    )
    honour_noai: bool = setting(
        True,
        flag="noai",
        help="honour <meta name=robots content=noai> (or noimageai): the page becomes no document (robots_noai)",
    )
    dates: str = setting(
        "meta",
        choices=DATES,
        help="publication dates: none, meta (the page's meta tags, JSON-LD, <time>, URL) or full (htmldate's "
        "search of the page too: twice trafilatura's time per page)",
    )
    workers: int | None = workers_setting()

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.dates not in DATES:
            raise ValueError(f"dates must be one of {', '.join(DATES)}, got {self.dates!r}")
        check_range("min_words", self.min_words, 0, 10**9, integer=True)
        check_range("page_timeout_s", self.page_timeout_s, 0.001, 3600)
        check_range("max_chars_per_page", self.max_chars_per_page, 1000, 10**10, integer=True)
        check_workers(self.workers)
        path = self.extractor
        if path is not None and not (isinstance(path, str) and EXTRACTOR_PATH.match(path)):
            raise ValueError(f"extractor must be an import path 'package.module:function', got {self.extractor!r}")

    def page_rules(self) -> PageRules:
        """What a worker needs for one page: a plain object, so workers never import this module (nor pydantic)."""
        extractor = self.extractor or BACKENDS[self.backend]
        return PageRules(
            self.min_words,
            self.max_chars_per_page,
            extractor,
            self.honour_tdm_reservation,
            self.honour_noai,
            self.dates,
        )

    def ignored_optouts(self) -> list[str]:
        """The site opt-outs this config does not honour (the flow warns of them, the report says so)."""
        rules = {"tdm_reservation": self.honour_tdm_reservation, "noai": self.honour_noai}
        return [name for name, honoured in rules.items() if not honoured]

    def identity(self) -> dict[str, Any]:
        """Everything that can change a shard's bytes: the settings (not ``workers``) and the libraries' versions.

        The backend and ``dates`` are settings, so switching either redoes every shard; only the libraries
        the chosen backend and ``dates`` run count, so upgrading another one redoes nothing.
        """
        settings = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        del settings["workers"]
        used = (*DECODING_LIBRARIES, *BACKEND_LIBRARIES[self.backend], *METADATA_LIBRARIES[self.dates])
        libraries = dict.fromkeys(used)  # in order, once each
        return {**settings, **{library: _library_version(library) for library in libraries}}
