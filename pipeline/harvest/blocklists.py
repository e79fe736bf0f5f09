"""Blocklist files: domains and URL patterns whose links a harvest drops, on top of the built-in rules.

A list is read when the harvest starts (the sample's is written by the run that uses it) and applied in
phase 2, per bucket, to the submissions the scans kept. The lists' content is part of every bucket's
fingerprint and not of any scan's, so an edited list is applied to sources scanned before without reading
them again, and an entry taken out brings its URLs back on the next run.

Matching runs once per distinct domain of a bucket (a set lookup per suffix of the host) and, only for
URLs whose host some URL pattern names, once per URL: one ``str.startswith`` over the host's prefixes per
list, and its ``*`` patterns matched piece by piece (no regex to compile, however long the list).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.urls import RejectedUrl, glob_matches, normalise_with_host

OUTCOME_PREFIX = "blocklisted:"
NOT_LISTED = -1  # a row's verdict when no list names it; otherwise the index of the first list that does
SCHEMES = ("http", "https")
_SPACE = re.compile(r"\s")


def outcome(name: str) -> str:
    """The outcome a list's hits are counted under: ``blocklisted:<file stem>``."""
    return OUTCOME_PREFIX + name


def list_name(path: Path) -> str:
    """A list's name is its file's stem (``lists/ads.txt`` → ``ads``)."""
    return Path(path).stem


def check_unique_names(paths: Sequence[Path]) -> None:
    """Two lists with one name would share one count: an error naming both files."""
    seen: dict[str, Path] = {}
    for path in paths:
        name = list_name(path)
        if name in seen:
            raise ValueError(
                f"blocklists {str(seen[name])!r} and {str(path)!r} share the name {name!r} (hits are counted "
                f"as {outcome(name)}); rename one"
            )
        seen[name] = Path(path)


@dataclasses.dataclass(frozen=True, slots=True)
class UrlPattern:
    """A URL pattern: an exact host (``www.`` aside) and a path-and-query prefix in which ``*`` matches anything."""

    scheme: str
    netloc: str  # host[:port] as harvest normalises it, without a leading www.
    path: str  # starts with "/"; may hold "*"
    anchored: bool  # the entry ended in "$": the URL must end where the pattern does

    def canonical(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.path}{'$' if self.anchored else ''}"

    @property
    def is_prefix(self) -> bool:
        return "*" not in self.path and not self.anchored


Glob = tuple[tuple[str, ...], bool]  # a pattern's path split at each "*", and whether it is anchored at the end


@dataclasses.dataclass(frozen=True, slots=True)
class Blocklist:
    """One file's entries, normalised as harvest normalises the URLs they are matched against."""

    name: str
    path: Path
    domains: frozenset[str]
    patterns: tuple[UrlPattern, ...]

    @property
    def sha256(self) -> str:
        """The hash of the normalised entries: comments, order and spelling aside, what the list blocks."""
        entries = sorted(self.domains) + sorted({pattern.canonical() for pattern in self.patterns})
        return hashlib.sha256("\n".join(entries).encode("utf-8")).hexdigest()

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path),
            "sha256": self.sha256,
            "domains": len(self.domains),
            "url_patterns": len({pattern.canonical() for pattern in self.patterns}),
        }


def _split_netloc(normalised: str) -> tuple[str, str, str]:
    """(scheme, netloc without a leading www., path and query) of a URL harvest normalised."""
    scheme, _, rest = normalised.partition("://")
    netloc, _, tail = rest.partition("/")
    return scheme, netloc.removeprefix("www."), "/" + tail


def _normalised(url: str, where: str, entry: str) -> tuple[str, str]:
    try:
        return normalise_with_host(url)
    except RejectedUrl as rejected:
        raise ValueError(
            f"{where}: {entry!r} is not a host name or URL harvest could keep ({rejected.reason})"
        ) from None


def parse_domain(entry: str, where: str) -> str:
    """A domain entry as the host harvest's URLs carry: lower case, punycode, no trailing dot, no ``www.``."""
    if "*" in entry:
        raise ValueError(f"{where}: {entry!r}: a domain entry takes no '*' (it blocks every subdomain already)")
    url, host = _normalised(f"http://{entry}/", where, entry)
    netloc = f"[{host}]" if ":" in host else host
    if url != f"http://{netloc}/":
        raise ValueError(f"{where}: {entry!r} is not a bare host name (a URL pattern needs a '/')")
    return host.removeprefix("www.")


def parse_pattern(entry: str, where: str) -> list[UrlPattern]:
    """A URL pattern: ``[scheme://]host[:port]/path``; without a scheme it stands for http and https both."""
    anchored = entry.endswith("$")
    text = entry.removesuffix("$")
    scheme, separator, rest = text.partition("://")
    if not separator:
        scheme, rest = "", text
    host_end = min((index for index in (rest.find("/"), rest.find("?")) if index >= 0), default=len(rest))
    if "*" in rest[:host_end]:
        raise ValueError(f"{where}: {entry!r}: '*' may not stand in a host (a domain entry blocks every subdomain)")
    if scheme.lower() not in ("", *SCHEMES):
        raise ValueError(f"{where}: {entry!r}: harvest keeps only http and https links")
    patterns = []
    for each in (scheme.lower(),) if scheme else SCHEMES:
        url, _ = _normalised(f"{each}://{rest}", where, entry)
        patterns.append(UrlPattern(*_split_netloc(url), anchored=anchored))
    return patterns


def entries(text: str) -> Iterator[tuple[int, str]]:
    """(line number, entry) of each line that holds one: ``#`` starts a comment anywhere, blank lines are skipped."""
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if entry:
            yield number, entry


def read_blocklist(path: Path) -> Blocklist:
    """Parse one list; a malformed entry is an error naming the file and the line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise FileNotFoundError(f"blocklist {str(path)!r} does not exist") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"blocklist {str(path)!r} is not UTF-8 text ({error.reason} at byte {error.start})") from None
    domains: set[str] = set()
    patterns: list[UrlPattern] = []
    for number, entry in entries(text):
        where = f"{path}:{number}"
        if _SPACE.search(entry):
            raise ValueError(f"{where}: {entry!r}: one entry a line, with no spaces in it")
        if "/" in entry:
            patterns += parse_pattern(entry, where)
        else:
            domains.add(parse_domain(entry, where))
    return Blocklist(list_name(path), path, frozenset(domains), tuple(patterns))


class Blocklists:
    """The lists of one harvest, in the order given: a URL several lists name counts for the first of them."""

    def __init__(self, lists: Sequence[Blocklist]) -> None:
        self.lists = tuple(lists)
        check_unique_names([blocklist.path for blocklist in self.lists])
        self._domains: dict[str, int] = {}
        by_host: dict[tuple[str, str], dict[int, list[UrlPattern]]] = {}
        for index, blocklist in enumerate(self.lists):
            for domain in blocklist.domains:
                self._domains.setdefault(domain, index)
            for pattern in blocklist.patterns:
                by_host.setdefault((pattern.scheme, pattern.netloc), {}).setdefault(index, []).append(pattern)
        # (scheme, netloc) -> per list, in order: (its index, its prefixes, its globs)
        self._patterns: dict[tuple[str, str], tuple[tuple[int, tuple[str, ...], tuple[Glob, ...]], ...]] = {
            key: tuple(
                (
                    index,
                    tuple(sorted({pattern.path for pattern in patterns if pattern.is_prefix})),
                    tuple(sorted({(tuple(p.path.split("*")), p.anchored) for p in patterns if not p.is_prefix})),
                )
                for index, patterns in sorted(per_list.items())
            )
            for key, per_list in by_host.items()
        }
        self._pattern_hosts = frozenset(_host_of(netloc) for _, netloc in by_host)

    def __bool__(self) -> bool:
        return bool(self.lists)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(blocklist.name for blocklist in self.lists)

    def identity(self) -> list[tuple[str, str]]:
        """What the lists change in a harvest's output: each one's name (its count) and entries, in order."""
        return [(blocklist.name, blocklist.sha256) for blocklist in self.lists]

    def domain_verdict(self, domain: str) -> int:
        """The first list naming ``domain`` or a parent domain of it, or ``NOT_LISTED``."""
        best = NOT_LISTED
        while True:
            index = self._domains.get(domain)
            if index is not None and (best == NOT_LISTED or index < best):
                best = index
            dot = domain.find(".")
            if dot < 0:
                return best
            domain = domain[dot + 1 :]

    def url_verdict(self, url: str) -> int:
        """The first list whose URL patterns match the normalised ``url``, or ``NOT_LISTED``."""
        scheme, netloc, path = _split_netloc(url)
        for index, prefixes, globs in self._patterns.get((scheme, netloc), ()):
            if path.startswith(prefixes) or any(glob_matches(*glob, path) for glob in globs):
                return index
        return NOT_LISTED

    def verdicts(self, urls: pa.ChunkedArray | pa.Array, domains: pa.ChunkedArray | pa.Array) -> np.ndarray:
        """Per row, the index of the first list that blocks it, or ``NOT_LISTED``: each distinct domain is looked
        up once, and each distinct URL once where a pattern names its host."""
        if not self.lists or len(domains) == 0:
            return np.full(len(domains), NOT_LISTED, dtype=np.int32)
        names, positions = _distinct(domains)
        verdict = np.array([self.domain_verdict(name) for name in names], dtype=np.int32)[positions]
        rows = np.flatnonzero(np.array([name in self._pattern_hosts for name in names], dtype=bool)[positions])
        if len(rows):
            links, where = _distinct(urls.take(pa.array(rows)))
            by_url = np.array([self.url_verdict(url) for url in links], dtype=np.int32)[where]
            by_domain = verdict[rows]
            either = np.where(by_domain == NOT_LISTED, by_url, np.minimum(by_url, by_domain))
            verdict[rows] = np.where(by_url == NOT_LISTED, by_domain, either)
        return verdict


def _distinct(values: pa.ChunkedArray | pa.Array) -> tuple[list[str], np.ndarray]:
    """The distinct values, and each row's position among them."""
    distinct = pc.unique(values)
    return distinct.to_pylist(), pc.index_in(values, value_set=distinct).to_numpy(zero_copy_only=False)


def _host_of(netloc: str) -> str:
    """The host of a netloc (``[::1]:8080`` → ``::1``), as the spill's ``domain`` column holds it."""
    if netloc.startswith("["):
        return netloc[1:].split("]", 1)[0]
    return netloc.rsplit(":", 1)[0] if ":" in netloc else netloc


def load_blocklists(paths: Sequence[Path]) -> Blocklists:
    """Every list, read and checked (names first, so two lists with one name fail before either is read)."""
    check_unique_names(paths)
    return Blocklists([read_blocklist(path) for path in paths])


def drop_blocklisted(
    spill: pa.Table, sources: Sequence[tuple[str, int]], blocklists: Blocklists
) -> tuple[pa.Table, dict[str, dict[str, int]]]:
    """``spill`` without its blocklisted rows, and how many each list dropped from each source.

    ``sources`` names the spill's consecutive runs of rows: (source name, rows), in order."""
    if not blocklists or spill.num_rows == 0:
        return spill, {}
    verdict = blocklists.verdicts(spill["url"], spill["domain"])
    counts: dict[str, dict[str, int]] = {}
    start = 0
    for source, rows in sources:
        hits = verdict[start : start + rows]
        per_list = np.bincount(hits[hits != NOT_LISTED], minlength=len(blocklists.lists))
        named = {blocklists.names[index]: int(count) for index, count in enumerate(per_list) if count}
        if named:
            counts[source] = named
        start += rows
    return spill.filter(pa.array(verdict == NOT_LISTED)), counts
