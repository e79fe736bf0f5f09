"""Extractors that misbehave on marked pages, injected through ``ExtractConfig.extractor`` in tests.

Workers import this module by name, so it must not be collected as a test module (no ``test_`` prefix).
"""

from __future__ import annotations

import os
import signal
import sys
import time

from pipeline.extract.backends import trafilatura_extract
from pipeline.extract.html_text import ExtractedPage

HANG, RAISE, CRASH = "hang-here", "raise-here", "crash-here"


def misbehave(html: str, url: str | None, dates: str) -> ExtractedPage | None:
    """Hangs, raises or dies by SIGKILL when the URL carries the marker; otherwise trafilatura."""
    marked = url or ""
    if HANG in marked:
        time.sleep(3600)
    if RAISE in marked:
        raise RuntimeError("the extractor tripped over this page")
    if CRASH in marked:
        os.kill(os.getpid(), signal.SIGKILL)  # what a segfault in lxml or the OOM killer looks like
    return trafilatura_extract(html, url, dates)


def nothing(html: str, url: str | None, dates: str) -> ExtractedPage | None:
    return None


def sleep_then_echo(task: tuple[str, float]) -> str:
    """A generic supervisor handler: sleeps ``task[1]`` seconds, returns ``task[0]``; dies by SIGKILL on ``dies``."""
    if task[0] == "dies":
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(task[1])
    return task[0]


def finished_at(task: object) -> float:
    """A supervisor handler that returns when (``time.monotonic()``) it ran."""
    return time.monotonic()


def loaded_modules(html: str, url: str | None, dates: str) -> ExtractedPage:
    """The worker's imported top-level modules, as the page's text: what a worker pays for at start-up."""
    return ExtractedPage(text=" ".join(sorted({name.split(".")[0] for name in sys.modules})))
