"""datatrove's side of ``bench/peer_datatrove.py``: one stage of its pipeline per call, offline.

Runs only inside the bench's own virtualenv (``build/bench/peer/datatrove-venv``, datatrove 0.10.1 with
the project's trafilatura and fastText); the project never imports it. The bench times each call as one
process tree, so every stage here is one ``LocalPipelineExecutor`` run with ``--tasks`` tasks on
``--workers`` workers, reading what the stage before wrote under ``--work``:

- ``extract_filter``: WarcReader → Trafilatura(favour_precision) → LanguageFilter(en, lid.176.ftz) →
  GopherRepetitionFilter → GopherQualityFilter → JsonlWriter (``filtered/``); drops go to ``excluded/``;
- ``minhash_signatures``, ``minhash_buckets``, ``minhash_cluster``, ``minhash_filter``: datatrove's
  4-stage MinHash with its default MinhashConfig (5-grams, 14 buckets × 8 hashes); survivors to ``deduped/``;
- ``tokenize``: DocumentTokenizer with a local GPT-2 ``tokenizer.json``, ``<|endoftext|>`` after each document.

Offline knobs: the language model is a local file (``--lid-model``) instead of datatrove's download of
``lid.176.bin``; the tokenizer is a local ``tokenizer.json``. WARC records without
``WARC-Identified-Payload-Type`` get it from their HTTP Content-Type, so datatrove's reader needs no
libmagic guess; records that carry the header are read exactly as datatrove reads them.

Prints one JSON line: the stage's documents in and out, from datatrove's own stats.

    datatrove-venv/bin/python bench/peer_datatrove_pipeline.py STAGE --warc-dir D --work W \\
        --lid-model lid.176.ftz --tokenizer tokenizer.json [--tasks 2] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupFilter,
    MinhashDedupSignature,
)
from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.filters import GopherQualityFilter, GopherRepetitionFilter, LanguageFilter
from datatrove.pipeline.readers import JsonlReader, WarcReader
from datatrove.pipeline.readers.warc import process_record
from datatrove.pipeline.tokens import DocumentTokenizer
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.lid import FT176LID
from peer_stages import DATATROVE_STAGES as STAGES

PAYLOAD_TYPE = "WARC-Identified-Payload-Type"
# Trafilatura's per-page limit: webtext's extract allows 10 s a page (page_timeout_s); datatrove's default
# of 1 s drops long documentation pages on a loaded 2-core machine, which would measure the load, not the tools.
EXTRACT_TIMEOUT_S = 10.0


class HttpTypedWarcReader(WarcReader):
    """datatrove's WarcReader, with the payload type taken from the HTTP Content-Type when the record lacks it."""

    def read_file(self, filepath: str):
        from warcio.archiveiterator import ArchiveIterator

        with self.data_folder.open(filepath, "rb", compression=self.compression) as stream:
            for index, record in enumerate(ArchiveIterator(stream)):
                with self.track_time():
                    if record.rec_type == "response" and record.rec_headers.get_header(PAYLOAD_TYPE) is None:
                        self.stat_update("payload_type_from_http")
                        content_type = record.http_headers.get_header("Content-Type") if record.http_headers else None
                        if content_type:
                            record.rec_headers.add_header(PAYLOAD_TYPE, content_type.split(";")[0].strip().lower())
                    extracted = process_record(record)
                    document = self.get_document_from_dict(extracted, filepath, index) if extracted else None
                if document:
                    yield document


class LocalFT176LID(FT176LID):
    """fastText's lid.176 read from a local file: datatrove's FT176LID downloads ``lid.176.bin``."""

    def __init__(self, languages: list[str], model_path: str) -> None:
        super().__init__(languages)
        self.model_path = model_path

    @property
    def model(self):
        if self._model is None:
            from fasttext.FastText import _FastText

            self._model = _FastText(self.model_path)
        return self._model


def _language_filter(model_path: str, excluded: Path) -> LanguageFilter:
    language_filter = LanguageFilter(languages=["en"], exclusion_writer=JsonlWriter(str(excluded / "language")))
    language_filter.model = LocalFT176LID(["en"], model_path)
    return language_filter


def stage_pipeline(stage: str, args: argparse.Namespace) -> tuple[list, int]:
    """The steps of ``stage`` and its task count (datatrove's MinHash buckets run one task per bucket)."""
    work, config = args.work, MinhashConfig()
    if stage == "extract_filter":
        excluded = work / "excluded"
        steps = [
            HttpTypedWarcReader(str(args.warc_dir), glob_pattern="*.warc.gz"),
            Trafilatura(favour_precision=True, timeout=EXTRACT_TIMEOUT_S),
            _language_filter(str(args.lid_model), excluded),
            GopherRepetitionFilter(exclusion_writer=JsonlWriter(str(excluded / "gopher_repetition"))),
            GopherQualityFilter(exclusion_writer=JsonlWriter(str(excluded / "gopher_quality"))),
            JsonlWriter(str(work / "filtered")),
        ]
        return steps, args.tasks
    if stage == "minhash_signatures":
        return [
            JsonlReader(str(work / "filtered")),
            MinhashDedupSignature(str(work / "signatures"), config),
        ], args.tasks
    if stage == "minhash_buckets":
        return [MinhashDedupBuckets(str(work / "signatures"), str(work / "buckets"), config=config)], config.num_buckets
    if stage == "minhash_cluster":
        return [MinhashDedupCluster(str(work / "buckets"), str(work / "remove_ids"), config=config)], 1
    if stage == "minhash_filter":
        steps = [
            JsonlReader(str(work / "filtered")),
            MinhashDedupFilter(
                str(work / "remove_ids"), exclusion_writer=JsonlWriter(str(work / "excluded" / "minhash"))
            ),
            JsonlWriter(str(work / "deduped")),
        ]
        return steps, args.tasks
    if stage == "tokenize":
        tokenizer = DocumentTokenizer(
            str(work / "tokens"), tokenizer_name_or_path=str(args.tokenizer), eos_token="<|endoftext|>"
        )
        return [JsonlReader(str(work / "deduped")), tokenizer], args.tasks
    raise ValueError(f"unknown stage {stage!r}: expected one of {', '.join(STAGES)}")


def documents_in_out(logging_dir: Path) -> dict[str, int]:
    """The first step's documents read and the last filtering step's documents forwarded, from stats.json."""
    steps = json.loads((logging_dir / "stats.json").read_text())
    counts = [step.get("stats", {}) for step in steps]

    def number(value: object) -> int:
        return int(value["total"] if isinstance(value, dict) else value or 0)

    documents_in = number(counts[0].get("documents", counts[0].get("total", 0))) if counts else 0
    forwarded = [number(stats["forwarded"]) for stats in counts if "forwarded" in stats]
    return {"documents_in": documents_in, "documents_out": forwarded[-1] if forwarded else documents_in}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("stage", choices=STAGES)
    parser.add_argument("--warc-dir", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--lid-model", type=Path, required=True)
    parser.add_argument("--tokenizer", type=Path, required=True)
    parser.add_argument("--tasks", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    for path in (args.warc_dir, args.lid_model, args.tokenizer):
        if not path.exists():
            parser.error(f"{path} does not exist")
    steps, tasks = stage_pipeline(args.stage, args)
    logging_dir = args.work / "logs" / args.stage
    LocalPipelineExecutor(steps, tasks=tasks, workers=min(args.workers, tasks), logging_dir=str(logging_dir)).run()
    print(json.dumps({"stage": args.stage, **documents_in_out(logging_dir)}))


if __name__ == "__main__":
    main()
