"""Configuration of the decontaminate stage, validated when it is built."""

from __future__ import annotations

import dataclasses
from typing import Any

from pipeline.services.config import SparkConfig
from pipeline.settings import setting, workers_setting
from pipeline.validation import check_range, check_workers

# Sites that republish Wikipedia articles wholesale; their pages are Wikipedia documents too.
WIKIPEDIA_MIRRORS = (
    "wikiwand.com",
    "wikimili.com",
    "wiki2.org",
    "wikizero.com",
    "infogalactic.com",
    "en-academic.com",
    "dbpedia.org",
    "wikipedia.de",
)
JOINS = ("auto", "local", "spark")


@dataclasses.dataclass(frozen=True, slots=True)
class DecontaminateConfig:
    """Which documents are Wikipedia's, and how overlaps with evaluation sets and Wikipedia are cut out.

    The cutting rule is GPT-3's (see ``spans``): every ``n``-gram found in a reference is removed with
    ``margin_chars`` on each side; pieces shorter than ``min_piece_chars`` go too; a document in more
    than ``max_pieces`` pieces is dropped as ``contaminated``. An n-gram found in more than
    ``max_ngram_documents`` corpus documents is boilerplate, not contamination, and is ignored (for
    Wikipedia, ``wikipedia_max_ngram_documents``). ``mask_pii`` replaces the personal data left in the kept text
    (``pii``: email addresses, phone numbers, IP addresses) by placeholders, after the n-grams were matched.

    ``join`` decides where Wikipedia's n-grams are matched: in this process (``local``: the reference
    as one sorted array in memory) or by a Spark join (``spark``); ``auto`` joins in Spark when the
    dumps hold more than ``spark_min_reference_ngrams`` n-grams. Like ``workers`` and ``spark``, it
    changes speed only: both give the same bytes.
    """

    drop_wikipedia: bool = setting(True, help="drop documents whose URL or final URL is on Wikipedia or a mirror")
    wikipedia_mirrors: tuple[str, ...] = setting(
        WIKIPEDIA_MIRRORS, help="hosts (and subdomains) that republish Wikipedia, besides *.wikipedia.org"
    )
    n: int = setting(13, help="words per n-gram matched against the references (GPT-3: 13)")
    margin_chars: int = setting(200, help="characters cut on each side of a matched n-gram")
    min_piece_chars: int = setting(200, help="pieces of a cut document shorter than this are dropped too")
    max_pieces: int = setting(10, help="a document cut into more pieces than this is dropped whole")
    max_ngram_documents: int = setting(10, help="an eval n-gram in more corpus documents is boilerplate: ignored")
    wikipedia_max_ngram_documents: int = setting(
        100, help="the same for Wikipedia n-grams (more text, so more shared phrases)"
    )
    mask_pii: bool = setting(
        True, help="replace email addresses, phone numbers and IP addresses in the corpus by placeholders"
    )
    workers: int | None = workers_setting()
    join: str = setting(
        "auto",
        choices=JOINS,
        help="where Wikipedia n-grams are matched: local (in memory), spark (a join), auto (spark above "
        "spark_min_reference_ngrams); speed only",
    )
    spark_min_reference_ngrams: int = setting(
        50_000_000, help="auto joins in Spark when the Wikipedia dumps hold more n-grams than this (8 bytes each)"
    )
    spark: SparkConfig = setting(
        factory=SparkConfig, help="the Spark session of the Wikipedia n-gram join", flag="spark"
    )

    def __post_init__(self) -> None:
        check_range("n", self.n, 1, 100, integer=True)
        check_range("margin_chars", self.margin_chars, 0, 10**6, integer=True)
        check_range("min_piece_chars", self.min_piece_chars, 0, 10**6, integer=True)
        check_range("max_pieces", self.max_pieces, 1, 10**6, integer=True)
        check_range("max_ngram_documents", self.max_ngram_documents, 1, 10**12, integer=True)
        check_range("wikipedia_max_ngram_documents", self.wikipedia_max_ngram_documents, 1, 10**12, integer=True)
        mirrors = tuple(host.strip().lower().removeprefix("www.") for host in self.wikipedia_mirrors)
        if any(not host or "/" in host for host in mirrors):
            raise ValueError(f"wikipedia_mirrors must be bare host names, got {list(self.wikipedia_mirrors)}")
        object.__setattr__(self, "wikipedia_mirrors", mirrors)
        check_workers(self.workers)
        if self.join not in JOINS:
            raise ValueError(f"join must be one of {', '.join(JOINS)}, got {self.join!r}")
        check_range("spark_min_reference_ngrams", self.spark_min_reference_ngrams, 0, 10**15, integer=True)

    def cut_identity(self) -> dict[str, Any]:
        """What a document's result depends on besides its text and the references (not the speed settings)."""
        settings = dataclasses.asdict(self)
        for speed_only in ("workers", "join", "spark_min_reference_ngrams", "spark"):
            del settings[speed_only]
        return settings
