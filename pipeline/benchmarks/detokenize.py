"""Invertible de-tokenizers: the GPT-2 paper scores tokenized benchmarks (WikiText, PTB, CBT) after undoing their
tokenization artifacts, because a byte-level model should read text as it is written, not as a tokenizer left it.

Metrics still count words and bytes of the *original* text (see ``metrics.py``), so a de-tokenizer changes what
the model reads but never the normaliser. LAMBADA (OpenAI's release) is plain text and needs none.
"""

from __future__ import annotations

import re

# WikiText: the rules of lm-evaluation-harness's ``wikitext_detokenizer`` (itself Megatron-LM's), in its order, so
# our word/byte perplexities are comparable with lm-eval's. Each entry is (literal or regex, replacement).
_WIKITEXT_RULES: tuple[tuple[str | re.Pattern[str], str], ...] = (
    # contractions: "students ' union" -> "students' union"
    ("s '", "s'"),
    # lm-eval's second contraction rule matches a literal "/' 5/" (slashes included), so it never fires on
    # WikiText; kept for identical behaviour.
    (re.compile(r"/' [0-9]/"), "/'[0-9]/"),
    # number separators: "1 @,@ 000" -> "1,000", "3 @.@ 5" -> "3.5", "guest @-@ starring" -> "guest-starring"
    (" @-@ ", "-"),
    (" @,@ ", ","),
    (" @.@ ", "."),
    # punctuation followed by a space
    (" : ", ": "),
    (" ; ", "; "),
    (" . ", ". "),
    (" ! ", "! "),
    (" ? ", "? "),
    (" , ", ", "),
    # brackets and quotes hug their content
    (re.compile(r"\(\s*([^\)]*?)\s*\)"), r"(\1)"),
    (re.compile(r"\[\s*([^\]]*?)\s*\]"), r"[\1]"),
    (re.compile(r"{\s*([^}]*?)\s*}"), r"{\1}"),
    (re.compile(r"\"\s*([^\"]*?)\s*\""), r'"\1"'),
    (re.compile(r"'\s*([^']*?)\s*'"), r"'\1'"),
    # section headings "= = Career = =" -> "== Career =="
    ("= = = =", "===="),
    ("= = =", "==="),
    ("= =", "=="),
    # degrees, line edges, the number placeholder, possessives
    (" \N{DEGREE SIGN} ", "\N{DEGREE SIGN}"),
    (" \n", "\n"),
    ("\n ", "\n"),
    (" N ", " 1 "),
    (" 's", "'s"),
)


def wikitext_detokenize(text: str) -> str:
    """WikiText (raw or tokenized release) as lm-eval's ``wikitext_detokenizer`` returns it, rule for rule.

    ``<unk>`` (tokenized release only) stays as written: GPT-2 has no unknown token, so the model is charged
    for spelling ``<unk>`` out, as lm-eval does.
    """
    for rule, replacement in _WIKITEXT_RULES:
        text = rule.sub(replacement, text) if isinstance(rule, re.Pattern) else text.replace(rule, replacement)
    return text


# PTB (Mikolov's release): lower case, no punctuation but abbreviation dots, numbers replaced by "N", rare words
# by "<unk>", "/" escaped as "\/", one sentence per line padded with a space on each side. Each rule below can be
# undone (the release never writes a standalone "1", "$1" or "n't" attached to a word), so the text keeps all of
# the release's information while reading like English.
_STANDALONE_N = re.compile(r"(?<!\S)N(?!\S)")
_SIGN_BEFORE_NUMBER = re.compile(r"(?<!\S)([$#]) (?=\S)")
_CLITIC = re.compile(r" (n't|'(?:s|re|ve|m|ll|d)?)(?=\s|$)")
_SPACE_BEFORE_PUNCTUATION = re.compile(r" ([.,;:?!%])(?=\s|$)")


def ptb_detokenize(text: str) -> str:
    """PTB line by line: ``N`` -> ``1`` (as lm-eval/Megatron do for WikiText's ``N``), ``$ 1`` -> ``$1`` (``#`` is
    the release's pound sign), ``do n't`` -> ``don't``, ``company 's`` / ``investors '`` attached, ``\\/`` -> ``/``,
    no space before punctuation, the padding spaces of each line dropped.

    ``<unk>`` is kept as written (as for WikiText): replacing it would invent words, dropping it would score
    less text than the word count normalises by.
    """
    return "\n".join(_ptb_line(line) for line in text.split("\n"))


def _ptb_line(line: str) -> str:
    line = line.strip(" ").replace("\\/", "/")
    line = _STANDALONE_N.sub("1", line)
    line = _SIGN_BEFORE_NUMBER.sub(r"\1", line)
    line = _CLITIC.sub(r"\1", line)
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", line)


# CBT: Project Gutenberg books tokenized PTB-style: ``` `` ``` and ``''`` for double quotes, "-LRB-"/"-RRB-" for
# brackets, clitics and punctuation split off.
_OPENING_QUOTE = re.compile(r"``\s*")
_CLOSING_QUOTE = re.compile(r"\s*''")


def cbt_detokenize(text: str) -> str:
    """A CBT sentence as written: quotes, brackets, clitics and punctuation re-attached.

    Every candidate of a question goes through the same rules, so the choice the model is asked to make is
    unchanged; only the artifacts that no web text contains are gone.
    """
    text = text.replace("-LRB- ", "(").replace(" -RRB-", ")")
    text = _CLITIC.sub(r"\1", text)
    text = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", text)  # before the quotes: `` hi , '' -> `` hi, ''
    text = _OPENING_QUOTE.sub('"', text)
    return _CLOSING_QUOTE.sub('"', text).strip()
