"""Submission records and dump files in the real Pushshift / Arctic Shift format.

The sample dump and the harvest benchmark both use these, so both exercise the same
shape of data the monthly dumps have: ~45 fields per record, most of them irrelevant to
the harvest, written as zstd with a long window (``zstd --long=31``), bz2 or xz.
"""

from __future__ import annotations

import bz2
import io
import json
import lzma
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import zstandard

from pipeline.shards import commit

ZSTD_LONG_WINDOW_LOG = 31
ZSTD_FRAME_BYTES = 1 << 22  # the monthly dumps hold many frames; so do ours


def pushshift_submission(
    *,
    id: str,
    url: str | None,
    score: Any,
    created_utc: Any,
    subreddit: str,
    title: str = "",
    is_self: bool = False,
    over_18: bool = False,
    domain: str = "",
    author: str = "sample_user",
    rng: random.Random | None = None,
) -> dict[str, Any]:
    """One submission as the Pushshift ingest stored it (field set of the 2019 dumps)."""
    rng = rng or random.Random(id)
    permalink = f"/r/{subreddit}/comments/{id}/{title.lower().replace(' ', '_')[:40]}/"
    return {
        "all_awardings": [],
        "allow_live_comments": False,
        "archived": False,
        "author": author,
        "author_flair_css_class": None,
        "author_flair_text": None,
        "author_fullname": f"t2_{rng.randrange(36**6):x}",
        "author_patreon_flair": False,
        "can_gild": True,
        "can_mod_post": False,
        "contest_mode": False,
        "created_utc": created_utc,
        "domain": domain or (f"self.{subreddit}" if is_self else ""),
        "full_link": f"https://www.reddit.com{permalink}",
        "gilded": 0,
        "id": id,
        "is_crosspostable": True,
        "is_meta": False,
        "is_original_content": False,
        "is_reddit_media_domain": False,
        "is_robot_indexable": True,
        "is_self": is_self,
        "is_video": False,
        "link_flair_background_color": "",
        "link_flair_css_class": None,
        "link_flair_richtext": [],
        "link_flair_text": None,
        "link_flair_text_color": "dark",
        "link_flair_type": "text",
        "locked": False,
        "media_only": False,
        "no_follow": rng.random() < 0.5,
        "num_comments": rng.randrange(0, 500),
        "num_crossposts": 0,
        "over_18": over_18,
        "parent_whitelist_status": "all_ads",
        "permalink": permalink,
        "pinned": False,
        "pwls": 6,
        "retrieved_on": (created_utc if isinstance(created_utc, int) else 1546300800) + 3600,
        "score": score,
        "selftext": "" if not is_self else "A question for everyone here, details inside.",
        "send_replies": True,
        "spoiler": False,
        "stickied": False,
        "subreddit": subreddit,
        "subreddit_id": f"t5_{rng.randrange(36**5):x}",
        "subreddit_subscribers": rng.randrange(10**3, 10**7),
        "subreddit_type": "public",
        "thumbnail": "default",
        "title": title,
        "total_awards_received": 0,
        "url": url,
        "whitelist_status": "all_ads",
        "wls": 6,
        "upvote_ratio": round(rng.uniform(0.5, 1.0), 2),
        "author_flair_richtext": [],
        "author_flair_type": "text",
        "gildings": {},
        "treatment_tags": [],
        "awarders": [],
        "top_awarded_type": None,
        "media_embed": {},
        "secure_media_embed": {},
        "media": None,
        "secure_media": None,
        "is_created_from_ads_ui": False,
        "post_hint": "self" if is_self else "link",
        **({} if is_self else _link_preview(rng)),
    }


def _link_preview(rng: random.Random) -> dict[str, Any]:
    """The thumbnail and preview images Reddit attaches to link posts (most of a record's bytes)."""
    image = "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789_-") for _ in range(43))
    base = f"https://external-preview.redd.it/{image}.jpg"
    widths = (108, 216, 320, 640, 960, 1080)
    resolutions = [
        {
            "url": f"{base}?width={width}&amp;crop=smart&amp;auto=webp&amp;s={rng.getrandbits(160):040x}",
            "width": width,
            "height": width * 9 // 16,
        }
        for width in widths
    ]
    return {
        "thumbnail": f"https://b.thumbs.redditmedia.com/{image}.jpg",
        "thumbnail_height": 78,
        "thumbnail_width": 140,
        "preview": {
            "enabled": False,
            "images": [
                {
                    "id": image[:20],
                    "resolutions": resolutions,
                    "variants": {},
                    "source": {
                        "url": f"{base}?auto=webp&amp;s={rng.getrandbits(160):040x}",
                        "width": 1200,
                        "height": 675,
                    },
                }
            ],
        },
    }


def ndjson_lines(records: Iterable[dict[str, Any] | str | bytes]) -> Iterable[bytes]:
    """NDJSON lines; ``str`` and ``bytes`` items are written verbatim (how malformed lines are planted)."""
    for record in records:
        if isinstance(record, bytes):
            yield record + b"\n"
            continue
        text = record if isinstance(record, str) else json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        yield text.encode("utf-8") + b"\n"


def _zstd_long_window_compressor() -> zstandard.ZstdCompressor:
    params = zstandard.ZstdCompressionParameters.from_level(
        9, window_log=ZSTD_LONG_WINDOW_LOG, enable_ldm=True, write_checksum=True
    )
    return zstandard.ZstdCompressor(compression_params=params)


def _write_zstd_frames(raw: io.BufferedWriter, lines: Iterable[bytes]) -> None:
    """Independent frames that declare a 2 GiB window, like the monthly dumps.

    Frames are streamed (no content size in the header), so the header keeps the full
    window and a decoder with zstd's default 128 MiB limit refuses them, as it does
    the real dumps.
    """
    compressor = _zstd_long_window_compressor()
    frame, size = compressor.compressobj(), 0
    for line in lines:
        raw.write(frame.compress(line))
        size += len(line)
        if size >= ZSTD_FRAME_BYTES:
            raw.write(frame.flush())
            frame, size = compressor.compressobj(), 0
    raw.write(frame.flush())


def write_dump(path: Path, lines: Iterable[bytes]) -> Path:
    """Write NDJSON ``lines`` to ``path``, compressed by its suffix (.zst/.bz2/.xz/other: plain)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    suffix = path.suffix.lower()
    with open(temporary, "wb") as raw:
        if suffix in (".zst", ".zstd"):
            _write_zstd_frames(raw, lines)
        elif suffix in (".bz2", ".xz"):
            opener = bz2.BZ2File if suffix == ".bz2" else lzma.LZMAFile
            with opener(raw, "wb") as stream:
                stream.writelines(lines)
        else:
            raw.writelines(lines)
    commit(temporary, path)
    return path
