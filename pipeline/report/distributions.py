"""Distributions over the corpus: languages, registered domains, duplicate-cluster sizes, evaluation overlap.

Languages and cluster sizes come from the stages' summaries (the filter counts fastText's top
language of every document it scored; dedup records its cluster-size histogram). The corpus's
own languages and domains are counted from its shards, reading one column at a time, so a
large corpus costs one narrow scan and never its text.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from pathlib import Path
from typing import Any

from pipeline.shards import complete_shards, read_table
from pipeline.stage import StageSummary

TOP_DOMAINS = 20
MISSING = "(none)"
# Second-level labels under which a country code registers names (bbc.co.uk, abc.net.au): a small, stable
# stand-in for the public suffix list, enough to group hosts by who owns them.
SECOND_LEVEL = frozenset({"ac", "co", "com", "edu", "gov", "govt", "gv", "ltd", "mil", "ne", "net", "nic", "or"})
SECOND_LEVEL |= frozenset({"org", "plc", "sch"})


def registered_domain(host: str) -> str:
    """``news.bbc.co.uk`` → ``bbc.co.uk``, ``blog.example.com`` → ``example.com``; an IP address stays whole."""
    host = host.lower().strip(".").removeprefix("www.")
    try:
        ipaddress.ip_address(host.strip("[]"))
        return host
    except ValueError:
        pass
    labels = host.split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def column_counts(docs_dir: Path | None, column: str) -> Counter[str] | None:
    """How often each value of ``column`` occurs over the folder's complete shards (None: no shards there)."""
    if docs_dir is None or not docs_dir.is_dir():
        return None
    shards = complete_shards(docs_dir)
    if not shards:
        return None
    counts: Counter[str] = Counter()
    for shard in shards:
        values = read_table(shard, columns=[column]).column(column).to_pylist()
        counts.update(MISSING if value is None else value for value in values)
    return counts


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 2) if whole else 0.0


def language_table(filter_summary: StageSummary | None, corpus_dir: Path | None) -> list[dict[str, Any]]:
    """Per language: documents the filter scored, and documents in the corpus, most scored first."""
    languages = filter_summary.details.get("languages", {}) if filter_summary else {}
    scored = Counter({name: int(number) for name, number in languages.items()})
    kept = column_counts(corpus_dir, "language") or Counter()
    total_scored, total_kept = sum(scored.values()), sum(kept.values())
    languages = sorted(set(scored) | set(kept), key=lambda name: (-scored[name], -kept[name], name))
    return [
        {
            "language": name,
            "scored": scored[name],
            "scored_percent": _percent(scored[name], total_scored),
            "in_corpus": kept[name],
            "corpus_percent": _percent(kept[name], total_kept),
        }
        for name in languages
    ]


def domain_table(docs_dir: Path | None, top: int = TOP_DOMAINS) -> list[dict[str, Any]]:
    """The ``top`` registered domains of the documents in ``docs_dir`` (documents, percent, distinct hosts); the
    rest summed in one last row."""
    hosts = column_counts(docs_dir, "domain")
    if not hosts:
        return []
    domains: Counter[str] = Counter()
    host_count: Counter[str] = Counter()
    for host, number in hosts.items():
        domains[registered_domain(host)] += number
        host_count[registered_domain(host)] += 1
    total = sum(domains.values())
    ordered = sorted(domains.items(), key=lambda item: (-item[1], item[0]))
    rows = [
        {"domain": name, "documents": number, "percent": _percent(number, total), "hosts": host_count[name]}
        for name, number in ordered[:top]
    ]
    if rest := ordered[top:]:
        others = sum(number for _, number in rest)
        rows.append(
            {
                "domain": f"({len(rest):,} other domains)",
                "documents": others,
                "percent": _percent(others, total),
                "hosts": sum(host_count[name] for name, _ in rest),
            }
        )
    return rows


def cluster_statistics(dedup_summary: StageSummary | None) -> dict[str, Any]:
    """Dedup's cluster statistics (``details.clusters``: the latest decision's): empty when dedup did not run."""
    return dict((dedup_summary.details.get("clusters") if dedup_summary else None) or {})


def cluster_size_table(dedup_summary: StageSummary | None) -> list[dict[str, Any]]:
    """Per cluster size (documents in the cluster, the kept one included): how many clusters, how many dropped."""
    sizes = cluster_statistics(dedup_summary).get("cluster_sizes") or {}
    return [
        {"size": int(size), "clusters": int(number), "documents_dropped": (int(size) - 1) * int(number)}
        for size, number in sorted(sizes.items(), key=lambda item: int(item[0]))
    ]


def largest_clusters(dedup_summary: StageSummary | None) -> list[dict[str, Any]]:
    return [dict(row) for row in cluster_statistics(dedup_summary).get("largest_clusters") or []]


def overlap_table(decontaminate_summary: StageSummary | None) -> list[dict[str, Any]]:
    """GPT-2's 8-gram overlap per evaluation set, before and after decontamination (percent of its 8-grams)."""
    details = decontaminate_summary.details if decontaminate_summary else {}
    moments = {moment: details.get(f"overlap_{moment}") or {} for moment in ("before", "after")}
    rows: dict[str, dict[str, Any]] = {}
    for moment, report in moments.items():
        for item in report.get("eval_sets") or []:
            row = rows.setdefault(item["name"], {"eval_set": item["name"], "ngrams": item.get("ngrams")})
            row[f"found_{moment}"] = item.get("found")
            row[f"percent_{moment}"] = item.get("percent")
    return list(rows.values())


def reference_table(decontaminate_summary: StageSummary | None) -> list[dict[str, Any]]:
    """Per decontamination reference (an evaluation set, Wikipedia): n-grams, documents trimmed and dropped."""
    details = decontaminate_summary.details if decontaminate_summary else {}
    sizes, per_reference = details.get("references") or {}, details.get("per_reference") or {}
    return [
        {
            "reference": name,
            "ngrams": sizes.get(name),
            "trimmed": (per_reference.get(name) or {}).get("trimmed", 0),
            "dropped": (per_reference.get(name) or {}).get("dropped", 0),
            "chars_removed": (per_reference.get(name) or {}).get("chars_removed", 0),
        }
        for name in sorted(set(sizes) | set(per_reference))
    ]
