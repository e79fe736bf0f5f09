"""Turn what a run is given (dump paths, an optional API config) into submission sources."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from pipeline.harvest.dumps import DumpSource
from pipeline.harvest.reddit_api import RedditApiConfig, RedditApiSource, RedditCredentials, snapshot, snapshots
from pipeline.lock import folder_lock

API_SNAPSHOT_DIR = "_api"


def collect_sources(
    dumps: Sequence[Path],
    out_dir: Path,
    reddit_api: RedditApiConfig | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[DumpSource]:
    """The dumps, plus every archived API increment; fetches tonight's first when ``reddit_api`` is set.

    Increments are archived under ``out_dir/_api`` and kept, so each night adds one
    snapshot and later runs re-aggregate all of them without calling the API again.
    """
    sources = [DumpSource(path) for path in dumps]
    snapshot_dir = out_dir / API_SNAPSHOT_DIR
    if reddit_api is not None:
        credentials = RedditCredentials.from_env() if environ is None else RedditCredentials.from_env(environ)
        with folder_lock(out_dir, "harvest"):  # tonight's snapshot is the folder's output too: one run writes it
            snapshot(RedditApiSource(reddit_api, credentials), snapshot_dir)
    return sources + (snapshots(snapshot_dir) if snapshot_dir.is_dir() else [])
