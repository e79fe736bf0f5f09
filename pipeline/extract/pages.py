"""What a worker process does for one page: read its response back from the WARC archive and extract it.

Each task carries the archive path and offset, so a worker needs neither the pages shard
nor pyarrow: it imports only warcio and the extractor, and starts quickly when a hung
worker has to be replaced.
"""

from __future__ import annotations

import dataclasses
import zlib
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from pipeline.extract.config import ExtractConfig
from pipeline.extract.html_text import ExtractedPage, extract_page
from pipeline.extract.supervisor import TaskInputError


class WarcReadError(TaskInputError):
    """The archive has no readable response record where the pages index says: a corrupt fetch output."""


@dataclasses.dataclass(frozen=True, slots=True)
class PageTask:
    """One fetched page to extract; ``position`` is its row in the pages shard."""

    position: int
    warc_path: str
    warc_offset: int
    content_type: str | None
    charset: str | None
    url: str  # the final URL, the base for resolving the page's links and metadata


def read_body(path: Path, offset: int) -> bytes:
    """The payload of the ``response`` record at ``offset``, transfer and content encodings undone."""
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            record = next(iter(ArchiveIterator(handle)), None)
            if record is None or record.rec_type != "response":
                found = "nothing" if record is None else f"a {record.rec_type} record"
                raise WarcReadError(f"{path}: expected a response record at offset {offset}, found {found}")
            return record.content_stream().read()
    except (OSError, ArchiveLoadFailed, zlib.error, EOFError) as error:
        raise WarcReadError(f"{path}: cannot read the response record at offset {offset}: {error}") from error


def extract_task(task: PageTask, cfg: ExtractConfig) -> ExtractedPage | str:
    """The worker's handler: one page's main text, or the reason it has none."""
    body = read_body(Path(task.warc_path), task.warc_offset)
    return extract_page(body, task.content_type, task.charset, task.url, cfg)
