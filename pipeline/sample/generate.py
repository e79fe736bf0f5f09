"""Write the bundled sample: two Reddit dumps, the sample web and a manifest.

Layout::

    reddit/RS_2019-01.zst    long-window zstd frames, like the real monthly dumps
    reddit/RS_2019-02.bz2    the older dumps' compression
    web/<host>/<path>        page bodies
    web/site.json            every route: status, content type, headers, body file or redirect target;
                             each host's robots.txt and tdmrep.json
    crawl/random-crawl.jsonl a random crawl of junk pages: the quality classifier's negatives
    eval/sample_lambada.jsonl the sample's evaluation set (LAMBADA format), quoted by one sample page
    blocklists/sample.txt    the demo harvest's blocklist, every entry explained; planted links hit it
    manifest.json            window, hosts to resolve to 127.0.0.1, expected harvest result, file hashes

Everything derives from the original texts in ``corpus`` and a fixed seed, so the sample
is the same bytes on every machine and git carries only the code.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from pipeline.sample.blocklist import BLOCKLIST_FILE, blocklist_bytes
from pipeline.sample.crawl import random_crawl_jsonl
from pipeline.sample.dump import SampleDumps, build_dumps
from pipeline.sample.evalset import EVAL_SET_FILE, sample_lambada_jsonl
from pipeline.sample.reddit import ndjson_lines, write_dump
from pipeline.sample.web import ROBOTS, SEED, TDMREP_FILES, Route, build_routes
from pipeline.shards import atomic_write_bytes, atomic_write_json, file_sha256, read_json

GENERATOR_VERSION = 6
WINDOW = {"after": "2019-01-01", "before": "2019-03-01"}
DUMP_NAMES = ("RS_2019-01.zst", "RS_2019-02.bz2")
MANIFEST = "manifest.json"
RANDOM_CRAWL = "crawl/random-crawl.jsonl"


def _body_file(route: Route) -> str:
    path = route.path.strip("/") or "index"
    return f"{route.host}/{path}" if "." in path.rsplit("/", 1)[-1] else f"{route.host}/{path}.html"


def _site_description(routes: list[Route]) -> dict[str, Any]:
    hosts: dict[str, Any] = {}
    for route in routes:
        host = hosts.setdefault(
            route.host,
            {
                "robots_txt": ROBOTS.get(route.host),
                "tdmrep_json": TDMREP_FILES.get(route.host),
                "refuse": False,
                "routes": {},
            },
        )
        if route.status == 0:
            host["refuse"] = True
            continue
        answer: dict[str, Any] = {"status": route.status, "content_type": route.content_type, "role": route.role}
        if route.location:
            answer["location"] = route.location
        if route.headers:
            answer["headers"] = [list(header) for header in route.headers]
        if route.body is not None:
            answer["file"] = _body_file(route)
        host["routes"][route.path] = answer
    return {"hosts": hosts}


def _write_web(web_dir: Path, routes: list[Route]) -> None:
    for route in routes:
        if route.body is not None:
            atomic_write_bytes(web_dir / _body_file(route), route.body)
    atomic_write_json(web_dir / "site.json", _site_description(routes))


def _write_dumps(reddit_dir: Path, dumps: SampleDumps) -> list[Path]:
    months = (dumps.january, dumps.february)
    return [write_dump(reddit_dir / name, ndjson_lines(lines)) for name, lines in zip(DUMP_NAMES, months)]


# What a polite crawler must make of each kind of route (redirects end at an article).
FETCH_OUTCOME_BY_ROLE = {
    "refused": "connection_refused",
    "redirect_loop": "redirect_loop",
    "robots_disallowed": "robots_disallowed",
    "robots_ai_optout": "robots_ai_optout",
    "binary_as_html": "not_text",
    "not_html": "not_html",
}


def _expected_fetch(routes: list[Route], harvested: dict[str, int]) -> dict[str, str]:
    """The fetch outcome of every harvested URL; URLs with no route are answered 404."""
    by_url = {route.url: route for route in routes}
    outcomes = {}
    for url in harvested:
        route = by_url.get(url)
        if route is None or route.status >= 400:
            outcomes[url] = f"http_{route.status if route else 404}"
        else:
            outcomes[url] = FETCH_OUTCOME_BY_ROLE.get(route.role, "ok")
    return dict(sorted(outcomes.items()))


def _manifest(out_dir: Path, routes: list[Route], dumps: SampleDumps) -> dict[str, Any]:
    files = sorted(path for path in out_dir.rglob("*") if path.is_file() and path.name != MANIFEST)
    return {
        "generator_version": GENERATOR_VERSION,
        "seed": SEED,
        "window": WINDOW,
        "dumps": [f"reddit/{name}" for name in DUMP_NAMES],
        "blocklists": [BLOCKLIST_FILE],  # the expected outcomes are those of a harvest that reads them
        "resolve": {host: "127.0.0.1" for host in sorted({route.host for route in routes})},
        "expected": {
            "urls": dict(sorted(dumps.expected_karma.items())),
            "outcomes": dict(sorted(dumps.expected_outcomes.items())),
            "duplicate_submissions": dumps.duplicate_submissions,
            "fetch": _expected_fetch(routes, dumps.expected_karma),
        },
        "files": {str(path.relative_to(out_dir)): file_sha256(path) for path in files},
    }


def is_generated(out_dir: Path) -> bool:
    """True if ``out_dir`` holds this generator version's complete, unmodified sample."""
    manifest = read_json(out_dir / MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("generator_version") != GENERATOR_VERSION:
        return False
    return all(
        (out_dir / name).is_file() and file_sha256(out_dir / name) == digest
        for name, digest in manifest.get("files", {}).items()
    )


def generate_sample(out_dir: Path, force: bool = False) -> dict[str, Any]:
    """Write the sample under ``out_dir`` (skipped when already complete) and return its manifest."""
    if not force and is_generated(out_dir):
        return read_json(out_dir / MANIFEST)
    routes = build_routes()
    dumps = build_dumps(routes, random.Random(SEED + 1))
    _write_web(out_dir / "web", routes)
    _write_dumps(out_dir / "reddit", dumps)
    atomic_write_bytes(out_dir / RANDOM_CRAWL, random_crawl_jsonl(random.Random(SEED + 2)))
    atomic_write_bytes(out_dir / EVAL_SET_FILE, sample_lambada_jsonl())
    atomic_write_bytes(out_dir / BLOCKLIST_FILE, blocklist_bytes())
    manifest = _manifest(out_dir, routes, dumps)
    atomic_write_json(out_dir / MANIFEST, manifest)  # written last: its presence means complete
    return manifest
