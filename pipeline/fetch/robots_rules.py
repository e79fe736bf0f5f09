"""robots.txt read and matched as RFC 9309 says: the grammar, group choice and path matching, nothing fetched.

Protego 0.7.0, which webtext used before, differs from the RFC where a crawl that keeps its word cannot
(``tests/pipeline/fetch/test_robots_rules.py`` pins each case, docs/fetch.md "Compliance" says why):

- it picks a group by searching the group's name inside the whole User-Agent header, so groups named
  ``webtext``, ``crawler`` or ``github`` bound webtext, while ``webtext-fetch/2.0`` did not (§2.2.1
  matches product tokens), and groups naming one token under two spellings were not combined;
- ``Allow: /dir/index.html`` also allowed ``/dir/``;
- a rule ending in ``$`` also matched a literal ``$`` there (``Disallow: /a$`` blocked ``/a$b``);
- it compared reserved characters equal to their escapes (``=``, ``:``, ``?``), which §2.2.2 keeps apart;
- ``Crawl-delay`` and unknown records ended a run of ``User-agent`` lines (§2.2.4: other records MUST NOT
  interfere with grouping).

These lie in how it groups and compares, not in anything a wrapper can correct, so reading and matching live
here; Protego's leniency is kept: misspelt ``Disallow`` records and ``key value`` lines without a colon are read.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Iterable
from urllib.parse import urlsplit

from pipeline.urls import glob_matches

STAR = "*"
ROBOTS_PATH = "/robots.txt"  # always allowed (§2.2.2)
USER_AGENT_KEYS = frozenset({"user-agent", "useragent", "user agent"})
ALLOW_KEYS = frozenset({"allow"})
DISALLOW_KEYS = frozenset({"disallow", "dissallow", "dissalow", "disalow", "diasllow", "disallaw"})
CRAWL_DELAY_KEYS = frozenset({"crawl-delay", "crawl delay"})
KNOWN_KEYS = USER_AGENT_KEYS | ALLOW_KEYS | DISALLOW_KEYS | CRAWL_DELAY_KEYS
PRODUCT_TOKEN = re.compile(r"[A-Za-z_-]+")  # §2.2.1: letters, "_" and "-"
LINE_BREAK = re.compile(r"\r\n|\r|\n")
UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
RESERVED = frozenset(":/?#[]@!$&'()*+,;=")
HEX_DIGITS = frozenset(string.hexdigits)
# Already in compared form: unreserved and reserved characters only, no escape to look at.
CANONICAL = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]*")


def product_token(value: str) -> str:
    """The product token a ``User-agent`` value or a crawler name starts with, lower-cased; ``*``; or ``""``.

    ``Googlebot/2.1`` names ``googlebot``, as in Google's reference parser; a value with no token names nothing.
    """
    value = value.strip()
    if value.startswith(STAR):
        return STAR if value == STAR or not value[1:2].strip() else ""
    match = PRODUCT_TOKEN.match(value)
    return match.group().lower() if match else ""


def canonical(text: str) -> str:
    """``text`` spelled as §2.2.2 compares it, so that equal octets compare equal and nothing else does.

    An escape of an unreserved character is decoded (``%7E`` is ``~``), every other escape is kept with
    upper-case digits (``%3c`` is ``%3C``; ``%2F`` is not ``/``); a character that is neither reserved nor
    unreserved is escaped as its UTF-8 octets (``ツ`` is ``%E3%83%84``), and so is a ``%`` that starts no escape.
    """
    if CANONICAL.fullmatch(text):
        return text
    out: list[str] = []
    index = 0
    while index < len(text):
        char, digits = text[index], text[index + 1 : index + 3]
        if char == "%" and len(digits) == 2 and set(digits) <= HEX_DIGITS:
            decoded = chr(int(digits, 16))
            out.append(decoded if decoded in UNRESERVED else f"%{digits.upper()}")
            index += 3
            continue
        if char in UNRESERVED or char in RESERVED:
            out.append(char)
        else:
            out.extend(f"%{octet:02X}" for octet in char.encode("utf-8", "surrogatepass"))
        index += 1
    return "".join(out)


def request_path(url: str) -> str:
    """What rules are matched against: the URL's path and query (``?`` kept when the query is empty), canonical."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query or url.partition("#")[0].endswith("?"):
        path = f"{path}?{parts.query}"
    return canonical(path)


class Rule:
    """One ``Allow`` or ``Disallow`` pattern: ``*`` matches any octets, a final ``$`` ends the path."""

    __slots__ = ("allow", "anchored", "head", "parts", "pattern", "priority")

    def __init__(self, pattern: str, allow: bool) -> None:
        self.anchored = pattern.endswith("$")
        body = canonical(pattern[:-1] if self.anchored else pattern)
        self.pattern = body + ("$" if self.anchored else "")
        self.allow = allow
        self.parts = tuple(re.sub(r"\*+", STAR, body).split(STAR)) if STAR in body else (body,)
        self.head = self.parts[0]  # what every path it matches starts with
        # §2.2.2: the rule with the most octets is the most specific; of two as long, Allow wins.
        self.priority = 2 * len(self.pattern) + allow

    def matches(self, path: str) -> bool:
        return glob_matches(self.parts, self.anchored, path)


class RuleGroup:
    """The rules of every group naming one product token, combined (§2.2.1), and its ``Crawl-delay``."""

    def __init__(self, rules: Iterable[Rule], crawl_delay: float = 0.0) -> None:
        unique = {(rule.pattern, rule.allow): rule for rule in rules}  # duplicates MAY be dropped (§2.2.2)
        self.rules = sorted(unique.values(), key=lambda rule: -rule.priority)
        self.crawl_delay = crawl_delay
        # A rule can match only paths that start with its head, and a path has few prefixes: rules are
        # looked up by the path's prefixes of each head length, so a check reads the rules it could match.
        self._by_head: dict[str, list[Rule]] = {}
        for rule in self.rules:
            self._by_head.setdefault(rule.head, []).append(rule)
        self._head_lengths = sorted({len(head) for head in self._by_head})

    def allows(self, path: str) -> bool:
        """Whether ``path`` (from :func:`request_path`) may be fetched; no matching rule allows it."""
        if path == ROBOTS_PATH:
            return True
        best: Rule | None = None
        for length in self._head_lengths:
            if length > len(path):
                break
            for rule in self._by_head.get(path[:length], ()):  # each list best first
                if best is not None and rule.priority <= best.priority:
                    break
                if rule.matches(path):
                    best = rule
                    break
        return best is None or best.allow


ALLOW_ALL = RuleGroup(())
DISALLOW_ALL = RuleGroup([Rule("/", allow=False)])


def _record(line: str) -> tuple[str, str] | None:
    """A line's lower-cased key and its value; ``None`` for a blank or comment line."""
    line = line.split("#", 1)[0].strip()
    if not line:
        return None
    key, colon, value = line.partition(":")
    if colon and key.strip().lower() in KNOWN_KEYS:
        return key.strip().lower(), value.strip()
    words = line.split()
    for count in (2, 1):  # "User-agent foo", "User agent foo": lenient, as Protego and Google are
        spoken = " ".join(words[:count]).lower()
        if spoken in KNOWN_KEYS and len(words) > count:
            return spoken, " ".join(words[count:])
    return (key.strip().lower(), value.strip()) if colon else None


def _crawl_delay(value: str) -> float | None:
    try:
        delay = float(value)
    except ValueError:
        return None
    return delay if math.isfinite(delay) and delay >= 0 else None


class RobotsTxt:
    """A parsed robots.txt: each product token's rules, combined (``*`` among them); a group is built when asked.

    Files name dozens of crawlers; only webtext's group and the AI-training crawlers' are ever matched.
    """

    def __init__(self, rules: dict[str, list[tuple[str, bool]]], delays: dict[str, float]) -> None:
        self._rules = rules  # token -> (pattern, allow) in file order
        self._delays = delays

    @classmethod
    def parse(cls, text: str) -> RobotsTxt:
        """The groups of ``text`` (§2.1): ``User-agent`` lines in a row, then the rules up to the next one."""
        rules: dict[str, list[tuple[str, bool]]] = {}
        delays: dict[str, float] = {}
        current: list[str] = []  # the tokens of the group being read
        in_rules = False
        for line in LINE_BREAK.split(text.removeprefix("\ufeff")):
            record = _record(line)
            if record is None:
                continue
            key, value = record
            if key in USER_AGENT_KEYS:
                if in_rules:
                    current, in_rules = [], False
                token = product_token(value)
                if token and token not in current:
                    current.append(token)
                    rules.setdefault(token, [])
            elif key in ALLOW_KEYS or key in DISALLOW_KEYS:
                in_rules = True
                if value.startswith(("/", STAR)):  # an empty or other value is no rule (§2.2.2 grammar)
                    for token in current:
                        rules[token].append((value, key in ALLOW_KEYS))
            elif key in CRAWL_DELAY_KEYS and (delay := _crawl_delay(value)) is not None:
                for token in current:  # several in one group: the longest, the politest
                    delays[token] = max(delays.get(token, 0.0), delay)
        return cls(rules, delays)

    def _group(self, token: str) -> RuleGroup | None:
        if token not in self._rules:
            return None
        rules = (Rule(pattern, allow) for pattern, allow in self._rules[token])
        return RuleGroup(rules, self._delays.get(token, 0.0))

    def named(self, token: str) -> RuleGroup | None:
        """The group naming ``token`` itself (never ``*``)."""
        token = product_token(token)
        return self._group(token) if token != STAR else None

    def group_for(self, token: str) -> RuleGroup:
        """The group a crawler called ``token`` obeys: its own, else ``*``, else none (everything allowed)."""
        return self.named(token) or self._group(STAR) or ALLOW_ALL
