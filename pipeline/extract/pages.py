"""What a worker process does for one page: read its response back from the WARC archive and extract it.

Each task carries the archive path and offset, so a worker needs neither the pages shard nor
pyarrow, nor the stage's config (it gets ``PageRules``): it imports only this module, the
archive reader and the extractor, and starts quickly when a hung worker has to be replaced.

A record that cannot be read back (a missing WARC file, a bad gzip member, a wrong length,
garbage at the offset, a file cut short) is that page's ``warc_error``: the rest of the shard,
and of the run, goes on.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from pipeline.extract.archive import OpenArchive, WarcRecordError, read_response_body
from pipeline.extract.html_text import WARC_ERROR, ExtractedPage, PageRules, extract_page

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class PageTask:
    """One fetched page to extract; ``position`` is its row in the pages shard."""

    position: int
    warc_path: str
    warc_offset: int
    content_type: str | None
    charset: str | None
    url: str  # the final URL, the base for resolving the page's links and metadata


def extract_task(task: PageTask, rules: PageRules, archive: OpenArchive | None = None) -> ExtractedPage | str:
    """One page's main text, or the reason it has none (``warc_error`` included)."""
    try:
        body = read_response_body(Path(task.warc_path), task.warc_offset, archive)
    except WarcRecordError as error:
        logger.debug("unreadable WARC record for %s: %s", task.url, error)
        return WARC_ERROR
    return extract_page(body, task.content_type, task.charset, task.url, rules)


class PageHandler:
    """The worker's handler: ``extract_task`` under the run's rules, the WARC file being read kept open.

    Pickled as its rules alone: each worker opens files of its own.
    """

    def __init__(self, rules: PageRules) -> None:
        self.rules = rules
        self._archive = OpenArchive()

    def __call__(self, task: PageTask) -> ExtractedPage | str:
        return extract_task(task, self.rules, self._archive)

    def __reduce__(self) -> tuple:
        return PageHandler, (self.rules,)
