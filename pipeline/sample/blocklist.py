"""The sample's blocklist: a domain and two URL patterns, and the submissions planted to hit (and just miss) them.

The demo's harvest reads it (``flows/configs/sample.yaml``: ``harvest.blocklists``). The planted links score
below ``min_karma``, so a harvest of the sample without the list keeps the same URLs: only the outcome
counts tell the two apart.
"""

from __future__ import annotations

BLOCKLIST_FILE = "blocklists/sample.txt"
# How harvest counts the list's hits: blocklisted:<the file's stem> (docs/harvest.md, Blocklists).
BLOCKLISTED = "blocklisted:sample"

BLOCKLIST_TEXT = """\
# The sample's blocklist, read by flows/configs/sample.yaml (harvest.blocklists); its hits are counted as
# blocklisted:sample. One entry a line; '#' starts a comment; blank lines are skipped.

# A domain blocks itself and every subdomain, never a longer name that merely ends the same way:
# this one blocks track.ads.webtext.test too, but not badads.webtext.test.
ads.webtext.test                    # an ad network's click-through links

# A URL pattern (an entry with a '/') blocks the URLs that start with it, on http and https unless it
# names a scheme; '*' matches any run of characters and a final '$' means the URL ends there.
news.webtext.test/sponsored/        # the news site's paid posts
blog.webtext.test/posts/*/print$    # printer-friendly copies of blog posts (not their later pages)
"""

# (url, score, month): links the list drops, each the case its comment names.
LISTED_LINKS = (
    ("http://ads.webtext.test/click?campaign=7", 2, 0),  # the domain itself
    ("https://track.ads.webtext.test/r/42", 1, 1),  # a subdomain
    ("http://news.webtext.test/sponsored/best-mattress-2019", 2, 1),  # under a URL prefix
    ("https://blog.webtext.test/posts/string-timestamp/print", 1, 0),  # a '*' pattern ending in '$'
)
# Links it must keep (they stay below min_karma): a longer host with the same ending, a URL past a '$'.
NEAR_MISSES = (
    ("http://badads.webtext.test/", 1, 0),
    ("https://blog.webtext.test/posts/string-timestamp/print/2", 1, 1),
)


def blocklist_bytes() -> bytes:
    return BLOCKLIST_TEXT.encode("utf-8")
