"""Turn what a run is given (dump paths, an optional API config) into submission sources."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline.harvest.dumps import DumpSource
from pipeline.harvest.reddit_api import RedditApiConfig, RedditApiSource, RedditCredentials, snapshot, snapshots
from pipeline.lock import folder_lock
from pipeline.shards import atomic_write_json, read_json

API_SNAPSHOT_DIR = "_api"
WATERMARK_FILE = "watermark.json"


def read_watermark(snapshot_dir: Path) -> datetime | None:
    """The newest submission time the archived API snapshots hold (``None`` before the first one)."""
    recorded = read_json(snapshot_dir / WATERMARK_FILE) or {}
    newest = recorded.get("newest_created_utc")
    return None if newest is None else datetime.fromtimestamp(float(newest), UTC)


def since_watermark(cfg: RedditApiConfig, watermark: datetime | None) -> RedditApiConfig:
    """Page back to the watermark less ``overlap_hours`` (posts keep gaining karma for a while), never further
    back than ``since`` allows; resubmitted posts are counted once by the harvest."""
    if watermark is None:
        return cfg
    start = watermark - timedelta(hours=cfg.overlap_hours)
    return dataclasses.replace(cfg, since=max(start, cfg.since) if cfg.since else start)


def collect_sources(
    dumps: Sequence[Path],
    out_dir: Path,
    reddit_api: RedditApiConfig | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[DumpSource]:
    """The dumps, plus every archived API increment; fetches tonight's first when ``reddit_api`` is set (under the
    folder's lock: ``pipeline.harvest.stage.harvest`` holds one lock over this and the harvest)."""
    if reddit_api is not None:
        with folder_lock(out_dir, "harvest"):  # tonight's snapshot is the folder's output too: one run writes it
            archive_api_pass(out_dir, reddit_api, environ)
    return sources_of(dumps, out_dir)


def archive_api_pass(out_dir: Path, reddit_api: RedditApiConfig, environ: Mapping[str, str] | None = None) -> None:
    """Page the API and archive the pass under ``out_dir/_api``; the caller holds the folder's lock.

    Increments are archived and kept, so each night adds one snapshot and later runs re-aggregate all of
    them without calling the API again. Each pass pages back only to the watermark (``_api/watermark.json``:
    the newest post archived so far) less ``overlap_hours``.
    """
    snapshot_dir = out_dir / API_SNAPSHOT_DIR
    credentials = RedditCredentials.from_env() if environ is None else RedditCredentials.from_env(environ)
    watermark = read_watermark(snapshot_dir)
    source = RedditApiSource(since_watermark(reddit_api, watermark), credentials)
    archived = snapshot(source, snapshot_dir)
    if source.newest_created_utc is not None and (
        watermark is None or source.newest_created_utc > watermark.timestamp()
    ):
        record = {"newest_created_utc": source.newest_created_utc, "snapshot": archived.path.name}
        atomic_write_json(snapshot_dir / WATERMARK_FILE, record)


def sources_of(dumps: Sequence[Path], out_dir: Path) -> list[DumpSource]:
    """The dumps, then every API pass archived in ``out_dir``."""
    return [DumpSource(path) for path in dumps] + archived_snapshots(out_dir)


def archived_snapshots(out_dir: Path) -> list[DumpSource]:
    """Every API increment archived under the harvest folder ``out_dir``, oldest first."""
    snapshot_dir = out_dir / API_SNAPSHOT_DIR
    return snapshots(snapshot_dir) if snapshot_dir.is_dir() else []
