"""What a worker process does for one page: read its response back from the WARC archive and extract it.

Each task carries the archive path and offset, so a worker needs neither the pages shard nor
pyarrow, nor the stage's config (it gets ``PageRules``): it imports only this module, the
archive reader and the extractor, and starts quickly when a hung worker has to be replaced.

A record that cannot be read back (a missing WARC file, a bad gzip member, a wrong length,
garbage at the offset, a file cut short) is that page's ``warc_error``: the rest of the shard,
and of the run, goes on.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
from collections.abc import Iterable

from pipeline.extract.archive import OpenArchive, WarcRecordError, read_response
from pipeline.extract.html_text import (
    WARC_ERROR,
    ExtractedPage,
    PageRules,
    extract_page,
    header_optout,
    preload_extractor,
    tdm_reservation,
)

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
    read_bytes: int | None = None  # up to the next indexed record of the file: sizes the read (see ``read_sizes``)
    tdm_file_reservation: int | None = None  # what the site's tdmrep.json says of the page (fetch's pages row)


def read_sizes(locations: Iterable[tuple[str, int]]) -> list[int | None]:
    """For each (WARC path, offset), the bytes up to the next larger offset in that file, None for the last.

    A record's gzip member ends where the next record starts, so one read of that many bytes gets
    a whole response member (and the next page's request record, which fetch writes before it).
    """
    locations = list(locations)
    starts: dict[str, list[int]] = {}
    for path, offset in locations:
        starts.setdefault(path, []).append(offset)
    for offsets in starts.values():
        offsets.sort()
    sizes: list[int | None] = []
    for path, offset in locations:
        offsets = starts[path]
        following = bisect.bisect_right(offsets, offset)
        sizes.append(offsets[following] - offset if following < len(offsets) else None)
    return sizes


def extract_task(task: PageTask, rules: PageRules, archive: OpenArchive | None = None) -> ExtractedPage | str:
    """One page's main text, or the reason it has none (``warc_error`` included; an opt-out its response headers
    declare: ``header_optout``; TDMRep's reservation is settled once the page's head is read)."""
    try:
        response = read_response(task.warc_path, task.warc_offset, archive, task.read_bytes)
    except WarcRecordError as error:
        logger.debug("unreadable WARC record for %s: %s", task.url, error)
        return WARC_ERROR
    if (optout := header_optout(response.robots_tag, rules)) is not None:
        return optout
    reservation = tdm_reservation(response.tdm_reservation, task.tdm_file_reservation)
    return extract_page(response.body, task.content_type, task.charset, task.url, rules, reservation)


class PageHandler:
    """The worker's handler: ``extract_task`` under the run's rules, the WARC file being read kept open.

    Pickled as its rules alone: each worker opens files of its own.
    """

    def __init__(self, rules: PageRules) -> None:
        self.rules = rules
        self._archive = OpenArchive()

    def prepare(self) -> None:
        """Run by a worker as it starts (see ``worker.serve``): the extractor's libraries, imported before page one."""
        preload_extractor(self.rules.extractor)

    def __call__(self, task: PageTask) -> ExtractedPage | str:
        return extract_task(task, self.rules, self._archive)

    def __reduce__(self) -> tuple:
        return PageHandler, (self.rules,)
