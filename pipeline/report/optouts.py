"""The site opt-outs a run honoured, by kind and domain, and the ones its config told it to ignore.

A corpus builder is judged by what it refuses to take: the report counts every page a site kept out of
the corpus by kind and domain (an AI-training crawler's robots.txt group, read from the pages index; a
TDMRep reservation or robots ``noai``, from the rows extract kept for them), and warns when a run was set
not to honour one of them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from pipeline.extract.html_text import ROBOTS_NOAI, TDM_RESERVED
from pipeline.fetch.robots import ROBOTS_AI_OPTOUT
from pipeline.fetch.stage import PAGES_DIR
from pipeline.rejects import stage_rejects_dir
from pipeline.shards import complete_shards, read_table
from pipeline.stage import StageSummary
from pipeline.urls import domain_of

EXTRACT_OPTOUTS = (TDM_RESERVED, ROBOTS_NOAI)  # extract's reject reasons that are a site's opt-out
EXTRACT_SWITCHES = {"honour_tdm_reservation": "TDMRep reservations", "honour_noai": "robots noai tags"}


def optout_table(fetch_dir: Path | None, extract_dir: Path | None) -> list[dict[str, Any]]:
    """One row per (kind, domain): the pages the run left out because their site opted out, most first."""
    counts: Counter[tuple[str, str]] = Counter()
    pages = fetch_dir / PAGES_DIR if fetch_dir is not None else None
    for shard in complete_shards(pages) if pages is not None and pages.is_dir() else []:
        table = read_table(shard, columns=["url", "outcome"])
        refused = table.filter(pc.equal(table["outcome"], ROBOTS_AI_OPTOUT))["url"].to_pylist()
        counts.update((ROBOTS_AI_OPTOUT, domain_of(url)) for url in refused)
    rejects = stage_rejects_dir(extract_dir, "extract") if extract_dir is not None else None
    for kind in EXTRACT_OPTOUTS if rejects is not None else ():
        for shard in complete_shards(rejects / kind) if (rejects / kind).is_dir() else []:
            counts.update((kind, domain_of(url)) for url in read_table(shard, columns=["url"])["url"].to_pylist())
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [{"kind": kind, "domain": domain, "pages": pages} for (kind, domain), pages in ordered]


def ignored_optouts(fetch: StageSummary | None, extract: StageSummary | None) -> list[str]:
    """The opt-outs the run's config did not honour (from the settings the stages' summaries recorded)."""
    fetched = fetch.config if fetch is not None else {}
    ignored = []
    if fetched.get("respect_robots") is False:
        ignored.append("robots.txt")
    elif fetched.get("respect_ai_optouts") is False or fetched.get("ai_optout_agents") == []:
        ignored.append("AI-training crawlers' robots.txt groups")
    if fetched.get("read_tdmrep_file") is False:
        ignored.append("TDMRep site files (tdmrep.json)")
    extracted = extract.config if extract is not None else {}
    return ignored + [name for switch, name in EXTRACT_SWITCHES.items() if extracted.get(switch) is False]
