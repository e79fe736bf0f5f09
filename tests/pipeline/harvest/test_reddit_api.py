"""RedditApiSource against a fake Reddit API served by a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pyarrow.parquet as pq
import pytest

from pipeline.harvest import stage as harvest_stage
from pipeline.harvest.config import HarvestConfig
from pipeline.harvest.reddit_api import (
    DEFAULT_USER_AGENT,
    RedditApiConfig,
    RedditApiError,
    RedditApiSource,
    RedditCredentials,
)
from pipeline.harvest.sources import collect_sources, sources_of
from pipeline.harvest.stage import run_harvest
from pipeline.net import BlockedAddressError

CLIENT_ID, CLIENT_SECRET = "p-jcoLKBynTLew", "gko_LXELoV07ZBNUXrvWZfzE3aI"
USER_AGENT = "linux:webtext-test:0.1 (by /u/tester)"
ENVIRON = {"REDDIT_CLIENT_ID": CLIENT_ID, "REDDIT_CLIENT_SECRET": CLIENT_SECRET, "REDDIT_USER_AGENT": USER_AGENT}
CREDENTIALS = RedditCredentials(CLIENT_ID, CLIENT_SECRET, USER_AGENT)
NEWEST = 1_717_200_000.0
DOMAINS = ("arstechnica.com", "www.bbc.co.uk", "www.nature.com", "www.theguardian.com", "apnews.com")


@dataclasses.dataclass(frozen=True)
class Recorded:
    """One request as the fake server received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: str


@dataclasses.dataclass(frozen=True)
class Fault:
    """A scripted error response for one listing request."""

    status: int
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


class FakeReddit:
    """Reddit's token endpoint and ``/r/<sub>/new`` listing, with scriptable faults per listing request."""

    def __init__(self) -> None:
        self.submissions: dict[str, list[dict[str, Any]]] = {}  # newest first, per subreddit
        self.requests: list[Recorded] = []
        self.listing_script: deque[Fault | None] = deque()  # one entry consumed per listing request
        self.ratelimit = (598.0, 2, 540)  # remaining, used, reset
        self.tokens: set[str] = set()
        self.lock = threading.Lock()
        self.base = ""

    def script(self, *faults: Fault | None) -> None:
        self.listing_script.extend(faults)

    def token_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == "/api/v1/access_token"]

    def listing_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith("/r/")]

    def config(self, **overrides: Any) -> RedditApiConfig:
        settings: dict[str, Any] = {"api_base": self.base, "auth_url": f"{self.base}/api/v1/access_token"}
        return RedditApiConfig(**{**settings, "allow_private": True, **overrides})

    def handle(self, request: Recorded) -> tuple[int, dict[str, str], Any]:
        with self.lock:
            self.requests.append(request)
            if request.method == "POST" and request.path == "/api/v1/access_token":
                return self._token(request)
            match = re.fullmatch(r"/r/([A-Za-z0-9_+]+)/new", request.path)
            if request.method == "GET" and match:
                return self._listing(request, match.group(1))
            return 404, {}, {"message": "Not Found", "error": 404}

    def _token(self, request: Recorded) -> tuple[int, dict[str, str], Any]:
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return 401, {}, {"message": "Unauthorized", "error": 401}
        if dict(parse_qsl(request.body)).get("grant_type") != "client_credentials":
            return 400, {}, {"error": "unsupported_grant_type"}
        if not request.headers.get("user-agent") or request.headers["user-agent"].startswith("python-httpx"):
            return 429, {}, {"message": "Too Many Requests", "error": 429}
        token = f"eyJhbGciOiJSUzI1NiJ9.token-{len(self.token_requests())}"
        self.tokens.add(token)
        return 200, {}, {"access_token": token, "token_type": "bearer", "expires_in": 3600, "scope": "*"}

    def _listing(self, request: Recorded, subreddit: str) -> tuple[int, dict[str, str], Any]:
        remaining, used, reset = self.ratelimit
        limits = {
            "X-Ratelimit-Remaining": str(remaining),
            "X-Ratelimit-Used": str(used),
            "X-Ratelimit-Reset": str(reset),
        }
        fault = self.listing_script.popleft() if self.listing_script else None
        if fault is not None:
            if fault.status == 401:
                self.tokens.clear()  # the token expired server-side
            return fault.status, fault.headers, {"message": "scripted fault", "error": fault.status}
        token = request.headers.get("authorization", "").removeprefix("bearer ")
        if token not in self.tokens:
            return 401, limits, {"message": "Unauthorized", "error": 401}
        posts = self.submissions.get(subreddit, [])
        start = 0
        if after := request.query.get("after"):
            start = next(i for i, post in enumerate(posts) if post["name"] == after) + 1
        page = posts[start : start + min(int(request.query.get("limit", "25")), 100)]
        more = start + len(page) < len(posts)
        data = {
            "after": page[-1]["name"] if page and more else None,
            "before": None,
            "dist": len(page),
            "modhash": "",
            "geo_filter": "",
            "children": [{"kind": "t3", "data": post} for post in page],
        }
        return 200, limits, {"kind": "Listing", "data": data}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeReddit

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = Recorded(self.command, parts.path, dict(parse_qsl(parts.query)), headers, body)
        status, extra, payload = self.fake.handle(request)
        encoded = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json; charset=UTF-8", **extra}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(encoded)))
        self.end_headers()
        self.wfile.write(encoded)

    do_GET = do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def reddit() -> Iterator[FakeReddit]:
    """A fake Reddit API on an ephemeral loopback port, shut down after the test."""
    fake = FakeReddit()
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Handler,), {"fake": fake}))
    fake.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def post(sid: str, url: str, score: int, created: float, subreddit: str = "all", **extra: Any) -> dict[str, Any]:
    """A submission shaped like the Reddit API's ``t3`` data (a subset of its ~100 fields)."""
    domain = urlsplit(url).hostname or ""
    return {
        "id": sid,
        "name": f"t3_{sid}",
        "title": f"“Headline” {sid} — details inside",
        "url": url,
        "domain": domain.removeprefix("www."),
        "permalink": f"/r/{subreddit}/comments/{sid}/headline/",
        "score": score,
        "ups": score,
        "upvote_ratio": 0.93,
        "num_comments": score // 7,
        "created_utc": created,
        "subreddit": subreddit,
        "subreddit_name_prefixed": f"r/{subreddit}",
        "author": f"user_{sid}",
        "is_self": False,
        "over_18": False,
        "stickied": False,
        "selftext": "",
        **extra,
    }


def make_posts(count: int) -> list[dict[str, Any]]:
    """``count`` submissions newest first, one minute apart, with a self post, an imgur link and ``&amp;`` URLs."""
    posts = []
    for i in range(count):
        sid = f"1d{i:04x}"
        url = f"https://{DOMAINS[i % len(DOMAINS)]}/2024/06/story-{i}?id={i}&amp;page=2"
        posts.append(post(sid, url, 10 + i % 50, NEWEST - 60 * i, subreddit=("news", "science", "worldnews")[i % 3]))
    posts[3].update(is_self=True, url="https://www.reddit.com/r/news/comments/1d0003/headline/", selftext="Body")
    posts[7].update(url="https://i.imgur.com/a8Xk2Lm.jpg", domain="i.imgur.com")
    return posts


def fetch(reddit: FakeReddit, sleeps: list[float] | None = None, **overrides: Any) -> list[bytes]:
    """Every NDJSON line of one pass over the fake's ``all`` listing; sleeps go to ``sleeps``."""
    sleep = (sleeps if sleeps is not None else []).append
    return list(RedditApiSource(reddit.config(**overrides), CREDENTIALS, sleep=sleep).lines())


def test_paging_follows_after_to_the_end(reddit: FakeReddit) -> None:
    """Three pages chained by ``after``; each submission once, as JSON that round-trips; no pause with budget left."""
    posts = reddit.submissions["all"] = make_posts(250)
    sleeps: list[float] = []
    lines = fetch(reddit, sleeps)
    assert sleeps == []
    assert all(line.endswith(b"\n") and line.count(b"\n") == 1 for line in lines)
    assert [json.loads(line) for line in lines] == posts
    listings = reddit.listing_requests()
    assert [r.query.get("after") for r in listings] == [None, "t3_1d0063", "t3_1d00c7"]
    assert all(r.query["limit"] == "100" and r.query["raw_json"] == "1" for r in listings)
    assert json.loads(lines[0])["url"].endswith("?id=0&amp;page=2")


def test_paging_honours_max_pages(reddit: FakeReddit) -> None:
    """``max_pages`` caps the requests even when the listing has more."""
    posts = reddit.submissions["all"] = make_posts(250)
    lines = fetch(reddit, max_pages=2)
    assert [json.loads(line)["id"] for line in lines] == [p["id"] for p in posts[:200]]
    assert len(reddit.listing_requests()) == 2


def test_paging_stops_at_since(reddit: FakeReddit) -> None:
    """Submissions older than ``since`` are not yielded and no page past them is requested."""
    posts = reddit.submissions["all"] = make_posts(250)
    since = datetime.fromtimestamp(posts[129]["created_utc"], UTC)
    lines = fetch(reddit, since=since)
    assert [json.loads(line)["id"] for line in lines] == [p["id"] for p in posts[:130]]
    assert len(reddit.listing_requests()) == 2


def test_credentials_come_from_the_environment() -> None:
    """Missing variables are named; the user agent falls back to the default."""
    with pytest.raises(RedditApiError, match="REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET"):
        RedditCredentials.from_env({})
    with pytest.raises(RedditApiError, match="REDDIT_CLIENT_SECRET"):
        RedditCredentials.from_env({"REDDIT_CLIENT_ID": CLIENT_ID, "REDDIT_CLIENT_SECRET": ""})
    assert RedditCredentials.from_env(ENVIRON) == CREDENTIALS
    defaulted = RedditCredentials.from_env({"REDDIT_CLIENT_ID": "a", "REDDIT_CLIENT_SECRET": "b"})
    assert defaulted == RedditCredentials("a", "b", DEFAULT_USER_AGENT)


def test_token_uses_basic_auth_and_listings_carry_bearer(reddit: FakeReddit) -> None:
    """One client-credentials token request, then bearer-authorised listings, all with our user agent."""
    reddit.submissions["all"] = make_posts(150)
    assert len(fetch(reddit)) == 150
    (token,) = reddit.token_requests()
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert token.method == "POST" and token.headers["authorization"] == f"Basic {basic}"
    assert dict(parse_qsl(token.body)) == {"grant_type": "client_credentials"}
    assert all(r.headers["user-agent"] == USER_AGENT for r in reddit.requests)
    listings = reddit.listing_requests()
    assert len(listings) == 2
    assert all(r.headers["authorization"] == "bearer eyJhbGciOiJSUzI1NiJ9.token-1" for r in listings)


def test_wrong_credentials_fail_without_retry(reddit: FakeReddit) -> None:
    """A 401 from the token endpoint is a RedditApiError after one attempt, and no listing is requested."""
    source = RedditApiSource(reddit.config(), RedditCredentials(CLIENT_ID, "wrong", USER_AGENT), sleep=[].append)
    with pytest.raises(RedditApiError, match="401"):
        list(source.lines())
    assert len(reddit.token_requests()) == 1 and not reddit.listing_requests()


def test_429_waits_for_retry_after(reddit: FakeReddit) -> None:
    """A 429 is retried after ``Retry-After`` seconds and the run completes."""
    reddit.submissions["all"] = make_posts(120)
    reddit.script(None, Fault(429, {"Retry-After": "2", "X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": "2"}))
    sleeps: list[float] = []
    assert len(fetch(reddit, sleeps)) == 120
    assert sleeps == [2.0]
    assert len(reddit.listing_requests()) == 3


def test_server_errors_are_retried_with_backoff(reddit: FakeReddit) -> None:
    """500, 503, 502 in a row are retried with growing jittered backoff, then the listing succeeds."""
    posts = reddit.submissions["all"] = make_posts(40)
    reddit.script(Fault(500), Fault(503), Fault(502))
    sleeps: list[float] = []
    assert [json.loads(line) for line in fetch(reddit, sleeps)] == posts
    assert len(sleeps) == 3
    for attempt, slept in enumerate(sleeps):
        assert 0.5 * 2**attempt <= slept <= 2**attempt
    assert len(reddit.listing_requests()) == 4


def test_server_error_backoff_ignores_rate_limit_reset(reddit: FakeReddit) -> None:
    """A 5xx that carries Reddit's rate-limit headers still backs off briefly, not until the window resets."""
    reddit.submissions["all"] = make_posts(40)
    limits = {"X-Ratelimit-Remaining": "590.0", "X-Ratelimit-Used": "10", "X-Ratelimit-Reset": "420"}
    reddit.script(Fault(503, limits))
    sleeps: list[float] = []
    assert len(fetch(reddit, sleeps)) == 40
    assert len(sleeps) == 1 and 0.5 <= sleeps[0] <= 1.0


def test_server_errors_beyond_max_retries_fail(reddit: FakeReddit) -> None:
    """With max_retries=2, three 503s raise RedditApiError after exactly three attempts."""
    reddit.submissions["all"] = make_posts(40)
    reddit.script(*[Fault(503)] * 3, None)
    sleeps: list[float] = []
    with pytest.raises(RedditApiError, match="503 after 3 attempts"):
        fetch(reddit, sleeps, max_retries=2)
    assert len(reddit.listing_requests()) == 3 and len(sleeps) == 2


@pytest.mark.parametrize("status", [403, 404])
def test_forbidden_or_missing_fails_immediately(reddit: FakeReddit, status: int) -> None:
    """403 (private/banned) and 404 are not retried: one listing request, no sleep."""
    reddit.submissions["all"] = make_posts(40)
    reddit.script(Fault(status))
    sleeps: list[float] = []
    with pytest.raises(RedditApiError, match=f"HTTP {status}"):
        fetch(reddit, sleeps)
    assert len(reddit.listing_requests()) == 1 and sleeps == []


def test_expired_token_is_renewed_once(reddit: FakeReddit) -> None:
    """A 401 mid-run (token expired) triggers one re-authentication and the run continues where it was."""
    posts = reddit.submissions["all"] = make_posts(250)
    reddit.script(None, Fault(401))
    assert [json.loads(line)["id"] for line in fetch(reddit)] == [p["id"] for p in posts]
    assert len(reddit.token_requests()) == 2
    listings = reddit.listing_requests()
    assert [r.query.get("after") for r in listings] == [None, "t3_1d0063", "t3_1d0063", "t3_1d00c7"]
    assert listings[-1].headers["authorization"].endswith("token-2")


def test_repeated_401_is_an_error(reddit: FakeReddit) -> None:
    """A token that is refused again right after renewal is a RedditApiError, not an endless loop."""
    reddit.submissions["all"] = make_posts(40)
    reddit.script(Fault(401), Fault(401))
    with pytest.raises(RedditApiError, match="401 Unauthorized twice"):
        fetch(reddit)
    assert len(reddit.token_requests()) == 2


@pytest.mark.parametrize(("remaining", "reset", "expected"), [(0, 5, 5.0), (4, 8, 2.0), (0.0, 5.0, 5.0)])
def test_rate_limit_headers_pace_requests(reddit: FakeReddit, remaining: float, reset: float, expected: float) -> None:
    """A spent budget waits out the reset; a low one spreads the rest over it, before the next request."""
    reddit.submissions["all"] = make_posts(150)
    reddit.ratelimit = (remaining, 600 - int(remaining), reset)
    events: list[tuple[float, int]] = []
    source = RedditApiSource(
        reddit.config(), CREDENTIALS, sleep=lambda s: events.append((s, len(reddit.listing_requests())))
    )
    assert len(list(source.lines())) == 150
    assert events == [(expected, 1), (expected, 2)]


def test_loopback_api_is_blocked_without_allow_private(reddit: FakeReddit) -> None:
    """SSRF guard: a config pointing at a private address is refused before any request is made."""
    cfg = RedditApiConfig(api_base=reddit.base, auth_url=f"{reddit.base}/api/v1/access_token")
    with pytest.raises(BlockedAddressError, match="127.0.0.1"):
        RedditApiSource(cfg, CREDENTIALS, sleep=[].append)
    assert reddit.requests == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"page_size": 0}, "page_size"),
        ({"page_size": 101}, "page_size"),
        ({"subreddits": ()}, "subreddits"),
        ({"subreddits": ("news", "r/worldnews")}, "subreddits"),
        ({"subreddits": ("",)}, "subreddits"),
        ({"api_base": "ftp://x"}, "api_base"),
        ({"auth_url": "file:///etc/passwd"}, "auth_url"),
        ({"max_pages": 0}, "max_pages"),
        ({"since": "last tuesday"}, "since"),
    ],
)
def test_config_validation_names_the_field(overrides: dict[str, Any], field: str) -> None:
    """Bad settings fail when the config is built, with the offending field in the message."""
    with pytest.raises(ValueError, match=field):
        RedditApiConfig(**overrides)


def test_harvest_end_to_end_from_archived_snapshot(reddit: FakeReddit, tmp_path: Path) -> None:
    """API increment → archived snapshot → harvest; a rerun without the API reuses the snapshot."""
    fusion_url = "https://arstechnica.com/science/2024/03/fusion-record/?page=2"
    reddit.submissions["all"] = [
        post("1b8a01", f"{fusion_url}&amp;utm_source=reddit&amp;utm_medium=social", 120, NEWEST, "science"),
        post("1b8a02", "https://www.bbc.co.uk/news/world-68512345", 300, NEWEST - 60, "worldnews"),
        post(
            "1b8a03",
            "https://www.reddit.com/r/AskReddit/comments/1b8a03/what_is/",
            900,
            NEWEST - 120,
            "AskReddit",
            is_self=True,
        ),
        post("1b8a04", "https://imgur.com/gallery/Xk2Lm9q", 450, NEWEST - 180, "pics"),
        post("1b8a05", fusion_url, 45, NEWEST - 240, "technology"),
        post("1b8a06", "https://example.org/blog/post", 1, NEWEST - 300, "programming"),
        post("1b8a07", "https://www.nature.com/articles/s41586-024-07123-4", 88, NEWEST - 360, "science"),
    ]
    out_dir = tmp_path / "harvest"
    sources = collect_sources([], out_dir, reddit.config(page_size=4), environ=ENVIRON)
    assert len(reddit.listing_requests()) == 2
    (archived,) = sorted((out_dir / "_api").glob("*.ndjson.zst"))
    assert re.fullmatch(r"reddit-api-all-\d{8}T\d{6}Z\.ndjson\.zst", archived.name)
    assert [s.path for s in sources] == [archived]
    assert [json.loads(line)["id"] for line in sources[0].lines()] == [f"1b8a0{i}" for i in range(1, 8)]

    summary = run_harvest(sources, out_dir, HarvestConfig(n_buckets=2))
    assert summary.outcomes == {"blocked_domain": 1, "kept": 5, "self_post": 1}
    assert (summary.counts["lines"], summary.counts["urls_kept"], summary.counts["urls_below_karma"]) == (7, 3, 1)
    rows = {row["url"]: row for name in summary.details["shards"] for row in pq.read_table(out_dir / name).to_pylist()}
    assert sorted(rows) == [
        fusion_url,
        "https://www.bbc.co.uk/news/world-68512345",
        "https://www.nature.com/articles/s41586-024-07123-4",
    ]
    fusion = rows[fusion_url]
    assert (fusion["karma"], fusion["n_submissions"], fusion["domain"]) == (165, 2, "arstechnica.com")
    assert sorted(fusion["subreddits"]) == ["science", "technology"]
    assert rows["https://www.bbc.co.uk/news/world-68512345"]["domain"] == "bbc.co.uk"
    assert summary.counts["karma_kept"] == 165 + 300 + 88

    requests_before = len(reddit.requests)
    rerun_sources = collect_sources([], out_dir, None)
    assert [s.path for s in rerun_sources] == [archived]
    rerun = run_harvest(rerun_sources, out_dir, HarvestConfig(n_buckets=2))
    assert len(reddit.requests) == requests_before
    assert (rerun.counts["urls_kept"], rerun.units_skipped, rerun.outcomes) == (3, 2, summary.outcomes)


LOCKER = """
import sys
from pathlib import Path
from pipeline.lock import FolderLocked, folder_lock
try:
    with folder_lock(Path(sys.argv[1]), "harvest"):
        print("got the folder")
except FolderLocked as error:
    print(error)
"""


def test_no_other_run_writes_the_folder_between_the_snapshot_and_the_harvest(
    reddit: FakeReddit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reddit.submissions["all"] = [post("1b8a02", "https://www.bbc.co.uk/news/world-68512345", 300, NEWEST, "news")]
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    out_dir, seen = tmp_path / "harvest", []

    def another_run_once_the_pass_is_archived(*args: Any, **kwargs: Any) -> Any:
        assert list((out_dir / "_api").glob("*.ndjson.zst")), "the API pass is archived first"
        other = subprocess.run([sys.executable, "-c", LOCKER, str(out_dir)], capture_output=True, text=True, check=True)
        seen.append(other.stdout)
        return sources_of(*args, **kwargs)

    monkeypatch.setattr(harvest_stage, "sources_of", another_run_once_the_pass_is_archived)
    summary = harvest_stage.harvest([], out_dir, HarvestConfig(n_buckets=2), reddit.config())
    assert summary.counts["urls_kept"] == 1
    assert len(seen) == 1 and f"{out_dir} is in use by `harvest` (pid {os.getpid()}" in seen[0], seen


def test_failed_fetch_archives_no_snapshot(reddit: FakeReddit, tmp_path: Path) -> None:
    """A night whose paging fails half-way is not archived, so the next run never mistakes it for complete."""
    reddit.submissions["all"] = make_posts(150)
    reddit.script(None, Fault(403))
    with pytest.raises(RedditApiError, match="HTTP 403"):
        collect_sources([], tmp_path, reddit.config(), environ=ENVIRON)
    assert collect_sources([], tmp_path, None) == []


def test_the_next_night_pages_back_only_to_the_watermark(reddit: FakeReddit, tmp_path: Path) -> None:
    """Night 2 stops at the newest post night 1 archived, less the overlap: nothing older is asked for again."""
    out_dir = tmp_path / "harvest"
    reddit.submissions["all"] = make_posts(40)  # one minute apart, newest at NEWEST
    collect_sources([], out_dir, reddit.config(page_size=10, max_pages=50, overlap_hours=0.25), environ=ENVIRON)
    assert len(reddit.listing_requests()) == 4
    watermark = json.loads((out_dir / "_api" / "watermark.json").read_text())
    assert watermark["newest_created_utc"] == NEWEST

    fresh = [post(f"1e{i:04x}", f"https://apnews.com/article/new-{i}", 30, NEWEST + 600 - 60 * i) for i in range(5)]
    reddit.submissions["all"] = fresh + make_posts(40)
    before = len(reddit.listing_requests())
    time.sleep(1.1)  # snapshot names have one-second resolution
    sources = collect_sources(
        [], out_dir, reddit.config(page_size=10, max_pages=50, overlap_hours=0.25), environ=ENVIRON
    )
    assert len(reddit.listing_requests()) - before == 3  # 5 new + 16 within the overlap, then a post older than it
    tonight = [json.loads(line)["id"] for line in sources[-1].lines()]
    assert tonight[:5] == [f"1e{i:04x}" for i in range(5)] and len(tonight) == 5 + 16
    assert json.loads((out_dir / "_api" / "watermark.json").read_text())["newest_created_utc"] == NEWEST + 600
