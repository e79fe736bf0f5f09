"""Which links harvest keeps: Reddit's own hosts, media and file hosts, and media and binary path endings.

The rules themselves (normalising a URL, matching a host against a rule list) are ``pipeline/urls.py``'s.
"""

from __future__ import annotations

REDDIT_DOMAINS: frozenset[str] = frozenset(
    {"reddit.com", "redd.it", "redditmedia.com", "reddituploads.com", "redditstatic.com"}
)

# Hosts that serve images, video, audio or files: nothing an HTML text extractor can use.
DEFAULT_BLOCKED_DOMAINS: tuple[str, ...] = (
    "imgur.com",
    "gfycat.com",
    "redgifs.com",
    "giphy.com",
    "tenor.com",
    "gyazo.com",
    "youtube.com",
    "youtu.be",
    "vimeo.com",
    "dailymotion.com",
    "liveleak.com",
    "streamable.com",
    "twitch.tv",
    "tiktok.com",
    "instagram.com",
    "pinterest.com",
    "flickr.com",
    "twimg.com",
    "soundcloud.com",
    "spotify.com",
    "bandcamp.com",
    "vid.me",
    "dropbox.com",
    "mega.nz",
    "mediafire.com",
    "photobucket.com",
    "tinypic.com",
    "postimg.cc",
    "ibb.co",
)

# Path endings of media and binary files, blocked whatever the host.
BLOCKED_EXTENSIONS: frozenset[str] = frozenset(
    {
        "jpg",
        "jpeg",
        "png",
        "gif",
        "gifv",
        "webp",
        "bmp",
        "svg",
        "tif",
        "tiff",
        "mp4",
        "webm",
        "mkv",
        "mov",
        "avi",
        "mp3",
        "wav",
        "ogg",
        "flac",
        "m4a",
        "zip",
        "rar",
        "7z",
        "gz",
        "tar",
        "exe",
        "dmg",
        "apk",
        "iso",
        "torrent",
    }
)
