from __future__ import annotations

import pytest
from report_fixtures import MakeRun

from pipeline.report import distributions
from pipeline.report.folders import ReportFolders


@pytest.mark.parametrize(
    ("host", "registered"),
    [
        ("news.bbc.co.uk", "bbc.co.uk"),
        ("www.bbc.co.uk", "bbc.co.uk"),
        ("blog.example.com", "example.com"),
        ("example.org", "example.org"),
        ("abc.net.au", "abc.net.au"),
        ("a.b.webtext.test", "webtext.test"),
        ("10.0.0.7", "10.0.0.7"),
        ("[2001:db8::1]", "[2001:db8::1]"),
        ("localhost", "localhost"),
    ],
)
def test_registered_domain(host: str, registered: str) -> None:
    assert distributions.registered_domain(host) == registered


def test_domains_of_the_corpus_grouped_by_registered_domain(make_run: MakeRun) -> None:
    corpus = ReportFolders.under(make_run()).decontaminate
    rows = distributions.domain_table(corpus)
    assert rows[0] == {"domain": "bbc.co.uk", "documents": 6, "percent": 50.0, "hosts": 2}
    assert rows[1] == {"domain": "example.com", "documents": 3, "percent": 25.0, "hosts": 1}
    assert sum(row["documents"] for row in rows) == 12
    top_two = distributions.domain_table(corpus, top=2)
    assert top_two[-1] == {"domain": "(3 other domains)", "documents": 3, "percent": 25.0, "hosts": 3}


def test_languages_scored_by_the_filter_and_kept_in_the_corpus(make_run: MakeRun) -> None:
    folders = ReportFolders.under(make_run())
    rows = distributions.language_table(folders.summary("filter"), folders.decontaminate)
    by_language = {row["language"]: row for row in rows}
    assert [row["language"] for row in rows[:2]] == ["en", "de"]
    assert by_language["en"]["scored"] == 20 and by_language["en"]["in_corpus"] == 11
    assert by_language["(none)"]["in_corpus"] == 1  # a corpus document without a language (an older shard)
    assert sum(row["scored"] for row in rows) == 29  # every document the filter scored


def test_cluster_sizes_and_the_duplicates_they_account_for(make_run: MakeRun) -> None:
    dedup = ReportFolders.under(make_run()).summary("dedup")
    rows = distributions.cluster_size_table(dedup)
    assert rows == [
        {"size": 2, "clusters": 4, "documents_dropped": 4},
        {"size": 4, "clusters": 1, "documents_dropped": 3},
    ]
    assert sum(row["documents_dropped"] for row in rows) == sum(dedup.outcomes.values())
    assert distributions.largest_clusters(dedup)[0]["size"] == 4


def test_overlap_before_and_after_per_evaluation_set(make_run: MakeRun) -> None:
    summary = ReportFolders.under(make_run()).summary("decontaminate")
    assert distributions.overlap_table(summary) == [
        {
            "eval_set": "sample_lambada",
            "ngrams": 539,
            "found_before": 71,
            "percent_before": 13.17,
            "found_after": 0,
            "percent_after": 0.0,
        }
    ]
    assert distributions.reference_table(summary)[0]["chars_removed"] == 818


def test_nothing_to_count_gives_empty_tables(make_run: MakeRun) -> None:
    folders = ReportFolders.under(make_run(("harvest",)))
    assert distributions.domain_table(folders.decontaminate) == []
    assert distributions.language_table(None, folders.decontaminate) == []
    assert distributions.cluster_size_table(None) == []
    assert distributions.overlap_table(None) == []
