"""The de-tokenizers: WikiText's must behave exactly as lm-eval's ``wikitext_detokenizer`` (so word and byte
perplexities compare with lm-eval's); PTB's and CBT's are ours and must undo the release's artifacts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.benchmarks.detokenize import cbt_detokenize, ptb_detokenize, wikitext_detokenize
from pipeline.benchmarks.files import load_ptb, load_wikitext


@pytest.mark.parametrize(
    ("tokenized", "expected"),
    [
        # contractions and possessives
        ("the students ' union", "the students' union"),
        ("Teddy 's Story", "Teddy's Story"),
        # number separators
        ("a guest @-@ starring role", "a guest-starring role"),
        ("500 @,@ 000 copies", "500,000 copies"),
        ("3 @.@ 5 million", "3.5 million"),
        ("1 @,@ 234 @.@ 5", "1,234.5"),
        # punctuation followed by a space
        ("Tu Fu : the poet", "Tu Fu: the poet"),
        ("one ; two", "one; two"),
        ("the end . Then", "the end. Then"),
        ("stop ! Now", "stop! Now"),
        ("why ? Because", "why? Because"),
        ("film , television and theatre", "film, television and theatre"),
        # the punctuation rules need a space after: a final " ." stays (as in lm-eval)
        ("the end .", "the end ."),
        # brackets and quotes hug their content
        ("the ( RIAA ) said", "the (RIAA) said"),
        ("see [ 1 ] here", "see [1] here"),
        ("a { b } c", "a {b} c"),
        ('a role as " Craig " in', 'a role as "Craig" in'),
        ("the ' Big ' one", "the 'Big' one"),
        # headings
        (" = = Career = = ", " == Career == "),
        (" = = = 2000 – 2005 = = = ", " === 2000 – 2005 === "),
        (" = = = = Notes = = = = ", " ==== Notes ==== "),
        # degrees, line edges, numbers
        ("25 ° C", "25°C"),
        (" line one \n line two \n", " line one\nline two\n"),
        ("fell N points", "fell 1 points"),
        # unknown words stay as written
        ("Robert <unk> is an actor", "Robert <unk> is an actor"),
        # lm-eval's second contraction rule matches literal slashes: kept for identical behaviour
        ("/' 5/", "/'[0-9]/"),
        ("the 1990 ' 5 years", "the 1990 ' 5 years"),
    ],
)
def test_wikitext_detokenize_follows_lm_eval(tokenized: str, expected: str) -> None:
    assert wikitext_detokenize(tokenized) == expected


def test_wikitext_rules_apply_in_lm_eval_order() -> None:
    # "s '" goes first, so the possessive eats the quote that would otherwise open a quoted span
    assert wikitext_detokenize('the players \' " best " year') == 'the players\' "best" year'
    # " . " is replaced before the line edges, so " . \n" ends as ".\n"
    assert wikitext_detokenize(" It ended . \n Next") == " It ended.\nNext"


@pytest.fixture
def wikitext2_test(shared_data: Path) -> Path:
    path = shared_data / "eval" / "wikitext-2.test.txt"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


def test_wikitext_detokenize_on_real_lines(wikitext2_test: Path) -> None:
    """Known lines of the WikiText-2 test set, with lm-eval's output for them (checked against lm-eval's
    function on every article of the test and validation files when this module was written)."""
    articles = load_wikitext(wikitext2_test)
    first = articles[0].text
    assert first.startswith(
        " = Robert <unk> =\n\nRobert <unk> is an English film, television and theatre actor. He had a guest-starring"
        " role on the television series The Bill in 2000."
    )
    assert (
        'landed a role as "Craig" in the episode "Teddy\'s Story" of the television series The Long Firm; he' in first
    )
    assert "directed by Paris <unk>.\n\n== Career ==\n\n\n=== 2000 – 2005 ===\n\nIn 2000 <unk> had" in first
    kiss_you = articles[2]
    assert kiss_you.original.startswith(" = Kiss You ( One Direction song ) = \n")
    assert kiss_you.text.startswith(" = Kiss You (One Direction song) =\n")
    assert " ( RIAA ) for shipments of 500 @,@ 000 copies . One" in kiss_you.original
    assert "(RIAA) for shipments of 500,000 copies. One" in kiss_you.text
    assert not any(" @-@ " in article.text or " @,@ " in article.text for article in articles)


@pytest.mark.parametrize(
    ("tokenized", "expected"),
    [
        (" no it was n't black monday ", "no it wasn't black monday"),
        ("we ca n't and wo n't", "we can't and won't"),
        ("the company 's stock", "the company's stock"),
        (
            "they 're sure we 've seen i 'm sure he 'll say he 'd go",
            "they're sure we've seen i'm sure he'll say he'd go",
        ),
        ("mutual series ' michael price", "mutual series' michael price"),
        ("the dow fell N N on black monday", "the dow fell 1 1 on black monday"),
        ("$ N billion", "$1 billion"),
        ("raise # N billion", "raise #1 billion"),
        ("mgm\\/ua", "mgm/ua"),
        ("a N-year old N", "a N-year old 1"),  # only a standalone N is a number
        ("u.s. officials", "u.s. officials"),
        ("robert <unk> who runs", "robert <unk> who runs"),
        ("yes , he said . ok", "yes, he said. ok"),
        (" first line \n second line ", "first line\nsecond line"),
    ],
)
def test_ptb_detokenize(tokenized: str, expected: str) -> None:
    assert ptb_detokenize(tokenized) == expected


def test_ptb_detokenize_on_the_real_test_set(shared_data: Path) -> None:
    path = shared_data / "eval" / "ptb.test.txt"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    sentences = load_ptb(path)
    assert sentences[0].text == "no it wasn't black monday"
    assert sentences[1].text.startswith("but while the new york stock exchange didn't fall apart friday as the dow")
    text = "\n".join(sentence.text for sentence in sentences)
    assert " n't" not in text and "\\/" not in text and " 's" not in text
    assert not re.search(r"(?<!\S)N(?!\S)", text)
    assert text.count("<unk>") == "\n".join(sentence.original for sentence in sentences).count("<unk>")


@pytest.mark.parametrize(
    ("tokenized", "expected"),
    [
        ("`` Well , I ca n't , '' said the boy .", '"Well, I can\'t," said the boy.'),
        ("She laughed -LRB- softly -RRB- and went on .", "She laughed (softly) and went on."),
        ("`` Stop ! '' cried the king 's son ; `` stop ! ''", '"Stop!" cried the king\'s son; "stop!"'),
        ("the boys ' hats", "the boys' hats"),
        ("What is it ?", "What is it?"),
    ],
)
def test_cbt_detokenize(tokenized: str, expected: str) -> None:
    assert cbt_detokenize(tokenized) == expected
