"""Cross-check against lm-evaluation-harness itself: on one exported model, ``run_evaluation``'s LAMBADA accuracy and
perplexity and WikiText-2 word / byte perplexity and bits per byte equal what lm-eval computes for the same model
and the same examples.

lm-eval runs offline (``simple_evaluate`` with its ``hf`` model on the export folder) on custom task definitions
over local files, written here into ``tmp_path``: LAMBADA as its ``lambada_openai`` task with ``dataset_path: json``;
WikiText-2 as its ``wikitext`` task (``loglikelihood_rolling``) with lm-eval's own ``preprocess_wikitext.py`` (its
detokenizer, its word and byte counts), over the articles as our loader splits the release (lm-eval reads them from
``EleutherAI/wikitext_document_level`` on the Hub, which cannot be reached offline).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

pytestmark = pytest.mark.e2e  # lm-eval's task loading and two evaluations: ~30 s

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"  # as conftest's shared_data
GPT2_DIR = SHARED_DATA / "gpt2"
EVAL_DIR = SHARED_DATA / "eval"
LAMBADA_FILE, WIKITEXT_FILE = "lambada_test.jsonl", "wikitext-2.test.txt"
LAMBADA_EXAMPLES, WIKITEXT_ARTICLES = 30, 3
PREPROCESS = "preprocess_wikitext.py"  # lm-eval's tasks/wikitext/ module the YAML's `!function`s name
REL = 1e-4  # float32 on the CPU, batched differently

LAMBADA_YAML = """\
task: webtext_lambada
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
  cache_dir: {cache}
output_type: loglikelihood
test_split: test
doc_to_text: "{{{{text.split(' ')[:-1]|join(' ')}}}}"
doc_to_target: "{{{{' '+text.split(' ')[-1]}}}}"
metric_list:
  - metric: perplexity
    aggregation: perplexity
    higher_is_better: false
  - metric: acc
    aggregation: mean
    higher_is_better: true
metadata:
  version: 1.0
"""

# lm-eval's tasks/wikitext/wikitext.yaml, reading a local JSON-lines file of {"page": article}
WIKITEXT_YAML = """\
task: webtext_wikitext
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
  cache_dir: {cache}
output_type: loglikelihood_rolling
test_split: test
doc_to_text: ""
doc_to_target: !function preprocess_wikitext.wikitext_detokenizer
process_results: !function preprocess_wikitext.process_results
metric_list:
  - metric: word_perplexity
  - metric: byte_perplexity
  - metric: bits_per_byte
metadata:
  version: 2.0
"""


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Nothing reaches the network, and every cache (Hugging Face, datasets) is under ``tmp_path``."""
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-datasets"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first LAMBADA passages and the first WikiText-2 articles as release-format files of their own, so both
    harnesses score all of each file."""
    from pipeline.benchmarks.files import is_wikitext_title, load_wikitext

    if not (GPT2_DIR.is_dir() and (EVAL_DIR / LAMBADA_FILE).is_file() and (EVAL_DIR / WIKITEXT_FILE).is_file()):
        pytest.skip(f"GPT-2's files or {LAMBADA_FILE} / {WIKITEXT_FILE} not found under {SHARED_DATA}")
    directory = tmp_path_factory.mktemp("eval-data")
    lines = (EVAL_DIR / LAMBADA_FILE).read_text(encoding="utf-8").split("\n")
    (directory / LAMBADA_FILE).write_text("\n".join(lines[:LAMBADA_EXAMPLES]) + "\n", encoding="utf-8")
    lines = (EVAL_DIR / WIKITEXT_FILE).read_text(encoding="utf-8").split("\n")
    titles = [number for number, line in enumerate(lines) if is_wikitext_title(line)]
    # up to the line before the next article's title, no newline after it: each article as in the whole file
    (directory / WIKITEXT_FILE).write_text("\n".join(lines[: titles[WIKITEXT_ARTICLES]]), encoding="utf-8")
    cut = load_wikitext(directory / WIKITEXT_FILE)
    assert cut == load_wikitext(EVAL_DIR / WIKITEXT_FILE, WIKITEXT_ARTICLES)
    return directory


def single_token_targets(data_dir: Path, tokenizer: Any) -> list[int]:
    """The token ids of the LAMBADA targets (`` word``) that are one GPT-2 token."""
    from pipeline.benchmarks.files import load_lambada

    encoded = [tokenizer.encode(example.target) for example in load_lambada(data_dir / LAMBADA_FILE)]
    return [ids[0] for ids in encoded if len(ids) == 1]


@pytest.fixture(scope="module")
def export(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small random GPT with GPT-2's tokenizer, exported. The single-token LAMBADA targets get 12 times larger
    embeddings, so the greedy choice is mostly one of them, which one depending on the passage: a few targets are
    greedy (an accuracy neither 0 nor 1)."""
    from transformers import GPT2TokenizerFast

    from pipeline.tokenize.config import TokenizeConfig
    from pipeline.tokenize.folder import new_tokenizer
    from training.export import export_hf
    from training.model import GPT, GPTConfig

    tokens = tmp_path_factory.mktemp("tokens-gpt2")
    new_tokenizer(tokens, "gpt2", TokenizeConfig(tokenizer="gpt2", gpt2_vocab_dir=GPT2_DIR), list, [])
    tokenizer = GPT2TokenizerFast(vocab=str(GPT2_DIR / "encoder.json"), merges=str(GPT2_DIR / "vocab.bpe"))
    torch.manual_seed(0)
    model = GPT(GPTConfig(n_layer=2, n_head=2, n_embd=64, block_size=128, vocab_size=50257))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
        for token in single_token_targets(data_dir, tokenizer):
            model.transformer.wte.weight[token] *= 12  # tied: a logit 12 times larger wherever it aligns
    metadata = {"model_size": "crosscheck"}
    return export_hf(model.eval(), tokens / "tokenizer", tmp_path_factory.mktemp("exports") / "gpt2-small", metadata)


def lm_eval_results(model_dir: Path, data_dir: Path, tmp_path: Path) -> dict[str, dict[str, Any]]:
    """lm-eval's ``hf`` model on ``model_dir`` (float32, CPU) over both local tasks: its results per task."""
    lm_eval = pytest.importorskip("lm_eval", reason="lm-evaluation-harness (a dev dependency) is not installed")
    from lm_eval.tasks import TaskManager

    from pipeline.benchmarks.files import load_wikitext

    tasks = tmp_path / "lm-eval-tasks"
    tasks.mkdir()
    cache = tmp_path / "hf-datasets"
    wikitext = tmp_path / "wikitext.jsonl"
    with wikitext.open("w", encoding="utf-8") as file:
        for article in load_wikitext(data_dir / WIKITEXT_FILE):
            file.write(json.dumps({"page": article.original}) + "\n")
    (tasks / "webtext_lambada.yaml").write_text(LAMBADA_YAML.format(data=data_dir / LAMBADA_FILE, cache=cache))
    (tasks / "webtext_wikitext.yaml").write_text(WIKITEXT_YAML.format(data=wikitext, cache=cache))
    # lm-eval's own detokenizer and word/byte counting, beside the YAML as its `!function` expects
    shutil.copyfile(Path(lm_eval.tasks.__file__).parent / "wikitext" / PREPROCESS, tasks / PREPROCESS)
    output = lm_eval.simple_evaluate(
        model="hf",
        model_args=f"pretrained={model_dir},dtype=float32",
        tasks=["webtext_lambada", "webtext_wikitext"],
        task_manager=TaskManager(include_path=str(tasks)),
        batch_size=8,
        device="cpu",
        log_samples=False,
        bootstrap_iters=0,
    )
    assert output is not None
    return output["results"]


def test_metrics_equal_lm_evaluation_harness(export: Path, data_dir: Path, tmp_path: Path) -> None:
    from evaluation.config import EvalConfig
    from evaluation.run import run_evaluation

    cfg = EvalConfig(
        tasks=("lambada", "wikitext2"), data_dir=data_dir, mlflow_tracking_uri=f"sqlite:///{tmp_path}/mlflow.db"
    )
    ours = run_evaluation(export, cfg, out_dir=tmp_path / "ours").details["metrics"]
    theirs = lm_eval_results(export, data_dir, tmp_path)
    lambada, wikitext = theirs["webtext_lambada"], theirs["webtext_wikitext"]

    assert (ours["lambada_examples"], lambada["sample_len"]) == (LAMBADA_EXAMPLES, LAMBADA_EXAMPLES)
    assert (ours["wikitext2_examples"], wikitext["sample_len"]) == (WIKITEXT_ARTICLES, WIKITEXT_ARTICLES)
    assert 0 < ours["lambada_acc"] < 1  # some targets greedy, some not: the accuracy check is not vacuous
    assert ours["wikitext2_tokens"] > 3 * 128 * WIKITEXT_ARTICLES  # several rolling windows (context 128) each
    assert ours["lambada_acc"] == lambada["acc,none"]
    pairs = {
        "lambada_ppl": lambada["perplexity,none"],
        "wikitext2_word_ppl": wikitext["word_perplexity,none"],
        "wikitext2_byte_ppl": wikitext["byte_perplexity,none"],
        "wikitext2_bpb": wikitext["bits_per_byte,none"],
    }
    for name, expected in pairs.items():
        assert math.isfinite(expected) and ours[name] == pytest.approx(expected, rel=REL), f"{name}: {ours} vs {theirs}"
