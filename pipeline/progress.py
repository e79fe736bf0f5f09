"""Progress reporting that stage code can call without knowing who (if anyone) displays it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

# A task opens a progress context with a label, an optional total and a unit ("B" for bytes
# read, else items); inside it, it reports its absolute position through the yielded callable.
Advance = Callable[[int], None]
ProgressFactory = Callable[..., AbstractContextManager[Advance]]


@contextmanager
def no_progress(label: str, total: int | None, unit: str = "B") -> Iterator[Advance]:
    """Progress that goes nowhere: the default for library calls and the Prefect flow."""
    yield lambda position: None


@contextmanager
def terminal_progress(label: str, total: int | None, unit: str = "B") -> Iterator[Advance]:
    """A progress bar on stderr, for the CLI."""
    from tqdm import tqdm  # imported here: worker processes import this module and need no tqdm

    with tqdm(
        total=total, desc=label, unit=unit, unit_scale=unit == "B", file=sys.stderr, mininterval=0.5, leave=False
    ) as bar:

        def advance(position: int) -> None:
            bar.update(position - bar.n)

        yield advance
