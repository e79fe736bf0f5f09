"""Skip trafilatura's discard XPaths on trees where a cheap look shows they cannot match.

trafilatura prunes boilerplate with XPath expressions such as ``.//*[re:test(@class, 'share|social|…') or
contains(@style, 'display:none') or …]``. lxml answers every ``re:test`` with a call into Python, for every
element of the tree, so on a 2,000-element page one such expression costs ~10 ms even when nothing matches,
which on most pages is most of the time: before this module, the discard expressions took about 45% of
trafilatura's time per page.

An expression whose filter is an ``or`` of tests on attribute values (``re:test``, ``contains``,
``starts-with``, ``=``, or the attribute's mere presence) can only select an element carrying one of those
attributes with a value that contains one of the tests' literal parts. So before the expression runs, one
C-level XPath gathers the values of the attributes it reads under the same context node, and two searches
look for its tokens: the literal parts every match must contain (lower case, plain substring search, on
ASCII values), then the tests' own patterns, anchored per value. No hit proves the expression's result is
empty, and it is not evaluated; a hit evaluates it as before. The answer is the same list of elements
either way, and so trafilatura's text is byte for byte what it was
(``tests/pipeline/extract/test_xpath_prefilter.py``).

The tests are read from each expression's own source: an expression this module cannot prove this of
(a union, an ``and``, a ``not()``, a path that leaves the context node) is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any, NamedTuple

from lxml import etree

# trafilatura's lists of pruning expressions; its content selectors (BODY_XPATH) are cheap and stay as they are.
DISCARD_LISTS = (
    "OVERALL_DISCARD_XPATH",
    "TEASER_DISCARD_XPATH",
    "PRECISION_DISCARD_XPATH",
    "DISCARD_IMAGE_ELEMENTS",
    "REMOVE_COMMENTS_XPATH",
    "REMOVE_COMMENTS_AND_LISTS_XPATH",
    "RAW_TREE_PRUNE_XPATH",
    "COMMENTS_DISCARD_XPATH",
)
_ATTRIBUTES = r"@[\w-]+(?:\s*\|\s*@[\w-]+)*"
_QUOTED = r"'([^']*)'"
_TRANSLATED = rf"translate\(\s*({_ATTRIBUTES})\s*,\s*'[^']*'\s*,\s*'[^']*'\s*\)"  # translate(@id, 'T', 't')
# The attribute tests an ``or`` may join, each: (kind, pattern with groups: attributes, operand, flags).
_TESTS = (
    ("pattern", re.compile(rf"re:test\(\s*({_ATTRIBUTES})\s*,\s*{_QUOTED}(?:\s*,\s*{_QUOTED})?\s*\)")),
    ("folded", re.compile(rf"contains\(\s*{_TRANSLATED}\s*,\s*{_QUOTED}\s*\)()")),
    ("literal", re.compile(rf"(?:contains|starts-with)\(\s*({_ATTRIBUTES})\s*,\s*{_QUOTED}\s*\)()")),
    ("literal", re.compile(rf"({_ATTRIBUTES})\s*=\s*{_QUOTED}()")),
    ("present", re.compile(r"(@[\w-]+)()()(?=\s*(?:\bor\b|$))")),
)
_ONLY_TESTS = re.compile(r"\s*T\s*(?:\bor\s*T\s*)*")
# What answers differently on one value than on the values joined by line breaks: string anchors, look-arounds,
# back references (``^`` and ``$`` anchor on each line, and ``.`` does not cross one). A look-ahead that refuses a
# word (``comment(?!ary)``) is safe: the line break that ends a value is no word either.
_NOT_PER_LINE = re.compile(r"\\[AZ0-9]|\(\?(?!![\w-]+\))[=!<(]")


class AttributeTests(NamedTuple):
    """What an ``or`` of attribute tests reads and looks for."""

    attributes: frozenset[str]  # whose values the tests read
    patterns: tuple[str, ...]  # one regular expression per test, as Python's ``re`` writes it
    present: frozenset[str]  # attributes whose mere presence passes a test


def attribute_tests(predicate: str) -> AttributeTests | None:
    """The tests of ``predicate`` if it is nothing but an ``or`` of attribute tests, else ``None``."""
    attributes: set[str] = set()
    patterns: list[str] = []
    present: set[str] = set()

    def replace(kind: str, match: re.Match[str]) -> str:
        names = {name.strip().removeprefix("@") for name in match.group(1).split("|")}
        if kind == "present":
            present.update(names)
            return " T "
        operand, flags = match.group(2), match.group(3) or ""
        pattern = operand if kind == "pattern" else re.escape(operand)
        if kind == "folded" or "i" in flags:
            pattern = f"(?i:{pattern})"
        attributes.update(names)
        patterns.append(pattern)
        return " T "

    rest = predicate
    for kind, test in _TESTS:
        rest = test.sub(lambda match, kind=kind: replace(kind, match), rest)
    if not _ONLY_TESTS.fullmatch(rest):
        return None
    return AttributeTests(frozenset(attributes), tuple(patterns), frozenset(present))


def required_substrings(pattern: str) -> frozenset[str] | None:
    """Lower-case strings one of which every match of ``pattern`` contains, or ``None`` if there are none.

    Read from the parsed pattern: a run of literal characters must occur, each branch of an alternation
    contributes its own, and an optional part contributes nothing. Non-ASCII literals give ``None``: lower
    case could change their length, and the search below runs on lower-cased text.
    """
    found = _sequence_substrings(list(sre_parse.parse(pattern)))
    if found is None or not all(text.isascii() for text in found):
        return None
    return frozenset(found)


def _sequence_substrings(items: list[tuple[Any, Any]]) -> set[str] | None:
    """For a sequence every match passes through each item of: the most selective of the items' answers."""
    choices: list[set[str] | None] = []
    run: list[str] = []
    for op, argument in items:
        if op is sre_constants.LITERAL:
            run.append(chr(argument).lower())
            continue
        if run:
            choices.append({"".join(run)})
            run = []
        if op is sre_constants.SUBPATTERN:
            choices.append(_sequence_substrings(list(argument[-1])))
        elif op is sre_constants.BRANCH:
            branches = [_sequence_substrings(list(branch)) for branch in argument[1]]
            choices.append(None if None in branches else set().union(*branches))  # type: ignore[arg-type]
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT) and argument[0] >= 1:
            choices.append(_sequence_substrings(list(argument[2])))
    if run:
        choices.append({"".join(run)})
    known = [choice for choice in choices if choice]
    return max(known, key=lambda choice: (min(map(len, choice)), -len(choice))) if known else None


def split_path(path: str) -> tuple[str, list[str]] | None:
    """``path``'s steps without their filters, and its ``[...]`` filters outside any other; ``None`` for a union
    (``a | b``) of paths."""
    depth, start, steps, predicates = 0, 0, [], []
    for index, character in enumerate(path):
        if character == "[":
            depth += 1
            start = index + 1 if depth == 1 else start
        elif character == "]":
            depth -= 1
            if depth == 0:
                predicates.append(path[start:index])
        elif depth == 0:
            if character == "|":
                return None
            steps.append(character)
    return "".join(steps), predicates


class PrefilteredXPath:
    """A compiled XPath that is only evaluated when the attribute values under the context node could match it."""

    def __init__(self, xpath: etree.XPath, tests: list[AttributeTests], substrings: frozenset[str]) -> None:
        self.xpath = xpath
        self.path = xpath.path
        attributes = sorted(set().union(*(test.attributes for test in tests)))
        present = sorted(set().union(*(test.present for test in tests)))
        self._values = etree.XPath("|".join(f".//@{name}" for name in attributes), smart_strings=False)
        self._present = etree.XPath(f"boolean({' or '.join(f'.//@{name}' for name in present)})") if present else None
        self._substrings = tuple(sorted(substrings, key=len, reverse=True))
        self._patterns = re.compile("|".join(pattern for test in tests for pattern in test.patterns), re.MULTILINE)

    def could_match(self, tree: Any) -> bool:
        """False only if no element under ``tree`` can pass the expression's attribute tests."""
        if self._present is not None and self._present(tree):
            return True
        values = "\n".join(self._values(tree))  # one value per line: ^ and $ anchor on each
        # The substring look is exact on ASCII only: a case-blind test's "share" matches "ſhare" (long s).
        if values.isascii():
            lowered = values.lower()
            if not any(substring in lowered for substring in self._substrings):
                return False
        return self._patterns.search(values) is not None

    def __call__(self, tree: Any, **variables: Any) -> Any:
        return self.xpath(tree, **variables) if self.could_match(tree) else []

    def __str__(self) -> str:
        return self.path


def prefiltered(xpath: etree.XPath) -> PrefilteredXPath | None:
    """``xpath`` behind a prefilter, or ``None`` if its result cannot be proved empty from attribute values."""
    path = xpath.path.strip()
    split = split_path(path)
    if not path.lstrip("(").startswith(".//") or split is None:
        return None
    steps, predicates = split
    if re.search(r"\.\.|::", steps):  # ``..`` or an axis among the steps could leave the context node
        return None
    tests = [found for predicate in predicates if (found := attribute_tests(predicate)) is not None]
    if not tests:
        return None
    substrings: set[str] = set()
    for pattern in (pattern for test in tests for pattern in test.patterns):
        required = required_substrings(pattern) if not _NOT_PER_LINE.search(pattern) else None
        if required is None:
            return None
        substrings |= required
    try:
        return PrefilteredXPath(xpath, tests, frozenset(substrings))
    except (re.error, etree.XPathError):
        return None


def _discard_lists() -> Iterator[list[Any]]:
    import trafilatura.xpaths

    for name in DISCARD_LISTS:
        expressions = getattr(trafilatura.xpaths, name, None)
        if isinstance(expressions, list):
            yield expressions


_installed: int | None = None  # how many expressions install() prefiltered; None: not installed


def install() -> int:
    """Put the prefilter in front of every discard expression it can prove empty (in place: trafilatura's
    modules share these lists); once per process, even when none qualifies. Returns how many are prefiltered."""
    global _installed
    if _installed is not None:
        return _installed
    count = 0
    for expressions in _discard_lists():
        for index, expression in enumerate(expressions):
            if isinstance(expression, PrefilteredXPath):
                count += 1
            elif isinstance(expression, etree.XPath) and (wrapped := prefiltered(expression)) is not None:
                expressions[index] = wrapped
                count += 1
    _installed = count
    return count


def uninstall() -> None:
    """Restore trafilatura's own expressions (tests compare the text with and without the prefilter)."""
    global _installed
    _installed = None
    for expressions in _discard_lists():
        for index, expression in enumerate(expressions):
            if isinstance(expression, PrefilteredXPath):
                expressions[index] = expression.xpath
