"""Personal data in a corpus document's text: email addresses, phone numbers and IP addresses, masked by placeholders.

As datatrove's PIIFormatter and Dolma's PII tagger do, with our own rules (docs/decontaminate.md, "Personal
data"). Every match becomes its kind's one placeholder, ``<EMAIL_ADDRESS>``, ``<PHONE_NUMBER>`` or
``<IP_ADDRESS>``, so the output depends on the text alone. Where a shape is shared with common text that is not
personal, the rules choose precision:

- email: ``local@domain.tld``, in ``mailto:`` links and URLs too, and the bracketed obfuscations
  (``name [at] example [dot] com``, ``name(at)example.org``); not the bare-word form (``name at example dot com``,
  too close to prose), nor ``git@host:path`` and ``logo@2x.png``.
- phone: ``+`` and a country code, 8–15 digits; North American ``(555) 123-4567``, ``555-123-4567``,
  ``1-800-555-0199``; national numbers starting with ``0`` (``020 7946 0958``), 10–12 digits with one
  separator throughout. Not a run of digits without separators (ids, timestamps).
- IP: IPv4 and IPv6 addresses that can point at someone's machine: not the private, loopback, link-local,
  documentation, multicast and reserved ranges, nor the well-known public DNS resolvers. A dotted quad right
  after a version or numbering word (``Python 3.11.4.2``, ``v10.0.0.1``, ``section 1.2.3.4``) is no address.

Speed: the stage masks every document it keeps, so the text is scanned once for runs of digits and for bracketed
"at"s (one regex that starts with a character class, which sre scans for fast), and the rules run only around
what that scan finds, around each "@" and after each pair of colons.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re

EMAIL, PHONE, IP = "email", "phone", "ip"
KINDS = (EMAIL, PHONE, IP)
PLACEHOLDERS = {EMAIL: "<EMAIL_ADDRESS>", PHONE: "<PHONE_NUMBER>", IP: "<IP_ADDRESS>"}
SUMMARY_COUNTS = {kind: f"pii_{kind}" for kind in KINDS}  # the stage summary's counts of what was masked, by kind

# One scan finds the candidates: a run of digits and separators (phone numbers, IPv4), or a bracketed "at".
_CANDIDATES = re.compile(
    r"[0-9\[({<](?:(?<=[0-9])[0-9]*(?:[ .)-]{1,2}\(?[0-9]+)+|(?<=[\[({<]) ?(?:at|AT|At|@) ?[\])}>])"
)
_SHORTEST_NUMBER = 7  # "1.2.3.4"

_LOCAL = r"[\w%+-]+(?:\.[\w%+-]+)*"
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_TLD = r"[^\W\d_]{2,63}"
_LOCAL_BEFORE = re.compile(rf"(?<![\w.%+-]){_LOCAL}\Z")  # searched with endpos at the "@"
_LONGEST_LOCAL = 64
# not git@host:path, nor an image's logo@2x.png
_NOT_A_TLD = r"(?:png|jpe?g|gif|svg|webp|avif|bmp|ico|css|js|json|pdf|html?|php|txt|xml)(?![\w-])"
_DOMAIN_AFTER = re.compile(rf"(?:{_LABEL}\.)+(?!{_NOT_A_TLD}){_TLD}(?![\w-]|\.[^\W_]|:[\w~/])", re.IGNORECASE)
_OBFUSCATED_DOMAIN = re.compile(rf" ?(?:{_LABEL}(?:\.| ?[\[({{<] ?(?:dot|DOT|Dot) ?[\])}}>] ?))+{_TLD}(?![\w-])")

_INTERNATIONAL = re.compile(r"\+(?<![\w+]\+)[0-9]{1,3}(?: ?\([0-9]{1,4}\))?[ .-]?[0-9]++(?:[ .-][0-9]++)*+(?!\w)")
_NORTH_AMERICAN = re.compile(
    r"(?<![\w.+-])(?:1[ .-]?)?(?:\([0-9]{3}\)[ .-]?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}(?!\w|[.-][0-9])"
)
_NATIONAL = re.compile(  # one separator throughout: "01-02-2023 10" is a date and an hour
    r"(?<![\w.+-])(?:0[0-9]{1,4}(?P<sep>[ .-])[0-9]{2,8}+(?:(?P=sep)[0-9]{2,4}+)*+"
    r"|\(0[0-9]{1,4}\) ?[0-9]{2,8}+(?:(?P<then>[ .-])[0-9]{2,4}+(?:(?P=then)[0-9]{2,4}+)*+)?)(?!\w|[.-][0-9])"
)
_PHONE_DIGITS = {_INTERNATIONAL: (8, 15), _NORTH_AMERICAN: (10, 11), _NATIONAL: (10, 12)}

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])"
_IPV4 = re.compile(rf"(?<![\w.])(?:{_OCTET}\.){{3}}{_OCTET}(?!\w|\.[0-9]|-[^\W\d_])")
_VERSION_BEFORE = re.compile(  # a dotted quad after these words is a version or a section number
    r"(?:\b(?:v|ver|version|versions|release|build|firmware|update|patch|rev|revision|kernel|python|java|node|chrome|"
    r"firefox|android|ios|windows|section|sections|sec|clause|chapter|ch|figure|fig|table|step|paragraph|para|item|"
    r"appendix|rule)\.?|§)\s*:?\s*\Z",
    re.IGNORECASE,
)
_COLONS = re.compile(r":[0-9A-Fa-f]{0,4}:")  # in every IPv6 address of two colons or more, from its first colon
_IPV6 = re.compile(
    r"(?<![\w:.%])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:[0-9]{1,3}\.){3}[0-9]{1,3}|[0-9A-Fa-f]{1,4})?(?:%\w+)?"
    r"(?![\w:]|\.[0-9])"
)
_HEX_BEFORE_COLON = 4
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")  # every other IPv6 address is local, special or unassigned
_NOT_PERSONAL = tuple(
    ipaddress.ip_network(network)
    for network in (
        *("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12"),
        *("192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24"),
        "224.0.0.0/3",  # multicast, reserved, broadcast
        *("8.8.8.8/32", "8.8.4.4/32", "1.1.1.1/32", "1.0.0.1/32", "9.9.9.9/32", "208.67.222.222/32"),
        "208.67.220.220/32",  # the public DNS resolvers: Google, Cloudflare, Quad9, OpenDNS
        *("2001:db8::/32", "2001:4860:4860::8888/128", "2001:4860:4860::8844/128", "2606:4700:4700::1111/128"),
        "2606:4700:4700::1001/128",
    )
)


@dataclasses.dataclass(frozen=True, slots=True)
class Span:
    """One piece of personal data: its kind and its characters, ``text[start:end]``."""

    kind: str
    start: int
    end: int


def _email(text: str, local_end: int, domain: re.Pattern[str], domain_start: int) -> Span | None:
    """The address whose local part ends at ``local_end`` and whose domain starts at ``domain_start``, if any."""
    found = domain.match(text, domain_start)
    if found is None:
        return None
    local = _LOCAL_BEFORE.search(text, max(0, local_end - _LONGEST_LOCAL), local_end)
    return None if local is None else Span(EMAIL, local.start(), found.end())


def _emails(text: str) -> list[Span]:
    spans = []
    at = text.find("@")
    while at >= 0:
        if span := _email(text, at, _DOMAIN_AFTER, at + 1):
            spans.append(span)
        at = text.find("@", at + 1)
    return spans


def _digits(match: re.Match[str]) -> int:
    return sum(char.isdigit() for char in match.group())


def _personal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address can point at someone's machine (a v4-mapped v6 address as its v4 address)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return _personal(address.ipv4_mapped)
        if address not in _GLOBAL_UNICAST:
            return False
    return not any(address in network for network in _NOT_PERSONAL)


def _in_run(text: str, start: int, end: int) -> list[Span]:
    """Phone numbers (but international ones) and IPv4 addresses in a run of digits (and the characters around)."""
    spans = []
    for pattern in (_NORTH_AMERICAN, _NATIONAL):
        fewest, most = _PHONE_DIGITS[pattern]
        spans += [Span(PHONE, *m.span()) for m in pattern.finditer(text, start, end) if fewest <= _digits(m) <= most]
    for match in _IPV4.finditer(text, start, end):
        if _VERSION_BEFORE.search(text, max(0, match.start() - 24), match.start()):
            continue
        if _personal(ipaddress.IPv4Address(bytes(int(octet) for octet in match.group().split(".")))):
            spans.append(Span(IP, *match.span()))
    return spans


def _candidates(text: str) -> list[Span]:
    """What the one scan finds: phone numbers and IPv4 addresses in runs of digits, obfuscated email addresses."""
    spans = []
    for match in _CANDIDATES.finditer(text):
        start, end = match.span()
        if text[start].isdigit():
            if end - start >= _SHORTEST_NUMBER:  # the run, its "(" and what follows it (for the rules' lookarounds)
                spans += _in_run(text, max(0, start - 1), min(len(text), end + 2))
        elif span := _email(text, start - (text[start - 1 : start] == " "), _OBFUSCATED_DOMAIN, end):
            spans.append(span)
    return spans


def _international(text: str) -> list[Span]:
    if "+" not in text:
        return []
    fewest, most = _PHONE_DIGITS[_INTERNATIONAL]
    return [Span(PHONE, *m.span()) for m in _INTERNATIONAL.finditer(text) if fewest <= _digits(m) <= most]


def _ipv6(text: str) -> list[Span]:
    spans = []
    colons = _COLONS.search(text)
    while colons is not None:
        first, resume = colons.start(), colons.start() + 1
        starts = range(max(0, first - _HEX_BEFORE_COLON), first + 1)
        match = next(filter(None, (_IPV6.match(text, start) for start in starts)), None)
        if match is not None:
            resume = match.end()
            try:
                address = ipaddress.IPv6Address(match.group().partition("%")[0])
            except ValueError:  # "12:30:45", "a:b:c"
                address = None
            if address is not None and _personal(address):
                spans.append(Span(IP, *match.span()))
        colons = _COLONS.search(text, resume)
    return spans


def find_pii(text: str) -> list[Span]:
    """The personal data in ``text``, in order, never overlapping: where two rules match the same characters the
    earlier, then the longer, match wins, then an email address over an IP address over a phone number."""
    found = _emails(text) + _ipv6(text) + _candidates(text) + _international(text)
    if len(found) < 2:
        return found
    order = {EMAIL: 0, IP: 1, PHONE: 2}
    spans: list[Span] = []
    for span in sorted(found, key=lambda span: (span.start, -span.end, order[span.kind])):
        if not spans or span.start >= spans[-1].end:
            spans.append(span)
    return spans


def mask_pii(text: str) -> tuple[str, dict[str, int]]:
    """``text`` with every piece of personal data replaced by its kind's placeholder, and the count per kind."""
    spans = find_pii(text)
    if not spans:
        return text, {}
    pieces, position, counts = [], 0, dict.fromkeys(KINDS, 0)
    for span in spans:
        pieces += [text[position : span.start], PLACEHOLDERS[span.kind]]
        position = span.end
        counts[span.kind] += 1
    pieces.append(text[position:])
    return "".join(pieces), {kind: count for kind, count in counts.items() if count}
