"""A trained model as a Hugging Face folder: ``GPT2LMHeadModel`` and ``AutoTokenizer`` load it offline.

Our layers are ``nn.Linear`` (weight ``(out, in)``); Hugging Face's GPT-2 uses ``Conv1D`` (weight ``(in, out)``),
so those weights are transposed. The embedding's padded rows are dropped (the config's ``vocab_size`` is the
tokenizer's), the tied ``lm_head`` is stored once as ``transformers`` expects, and a model built without biases
gets zero biases (GPT-2's layers always have them; a zero bias is the same function). The tokenizer is the
tokens folder's own copy, so the export encodes exactly as training did. The folder is built beside
``out_dir`` and renamed into place: a crash never leaves a half-written export under the final name.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

from pipeline.shards import file_sha256
from pipeline.tokenize.encoders import BPE, BPE_FILE, EOT, GPT2, GPT2_FILES
from pipeline.tokenize.tokens_folder import TOKENIZER_DIR, TOKENIZER_IDENTITY
from training.model import GPT, GPTConfig
from training.run_folder import METADATA_FILE, WEIGHTS_FILE

EXPORT_FORMAT = "webtext-hf-export/1"
RESERVED_KEYS = ("format", "model_config", "tokenizer")  # webtext.json keys the export writes itself
CONV1D_SUFFIXES = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
FILE_MODE, DIR_MODE = 0o644, 0o755  # save_pretrained and mkdtemp make 0600 / 0700: others must read an export


class ExportError(ValueError):
    """The model and tokenizer cannot make a consistent Hugging Face export."""


@dataclasses.dataclass(frozen=True, slots=True)
class TokenizerSource:
    """The tokens folder's tokenizer: its kind (``gpt2`` or ``bpe``), folder and identity (when saved)."""

    kind: str
    directory: Path
    identity: dict[str, Any] | None


def export_hf(model: GPT, tokenizer_dir: Path, out_dir: Path, metadata: dict[str, Any]) -> Path:
    """Write ``model`` with the tokenizer in ``tokenizer_dir`` (a tokens folder's ``tokenizer/``, or the tokens
    folder itself) to ``out_dir`` as a Hugging Face GPT-2 folder, plus ``webtext.json`` holding ``metadata``.

    Replaces an earlier export at ``out_dir``; refuses to replace a folder that is not one. Returns ``out_dir``.
    """
    model = getattr(model, "_orig_mod", model)  # a torch.compile'd model wraps the GPT
    config: GPTConfig = model.config
    out_dir = Path(out_dir)
    if clashes := sorted(set(metadata) & set(RESERVED_KEYS)):
        raise ExportError(f"metadata keys {clashes} are written by the export itself; rename them")
    check_replaceable(out_dir)
    source = find_tokenizer(Path(tokenizer_dir))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        eot_id = write_tokenizer(source, staging, config)
        write_model(model, staging, eot_id)
        tokenizer = source.identity or {"kind": source.kind, "vocab_size": config.vocab_size, "eot_id": eot_id}
        payload = {
            **metadata,
            "format": EXPORT_FORMAT,
            "model_config": dataclasses.asdict(config),
            "tokenizer": tokenizer,
        }
        text = json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n"
        (staging / METADATA_FILE).write_text(text, encoding="utf-8")
        make_readable(staging)
        replace_dir(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def check_replaceable(out_dir: Path) -> None:
    """``out_dir`` is absent, empty or an earlier export: anything else is someone's folder, never deleted."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"{out_dir} exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / METADATA_FILE).is_file():
        raise ExportError(f"{out_dir} is a non-empty folder without {METADATA_FILE}: not replacing what is not ours")


def find_tokenizer(tokenizer_dir: Path) -> TokenizerSource:
    """The tokenizer kind in ``tokenizer_dir``, its files checked against ``identity.json``'s sha256 when saved."""
    if not (tokenizer_dir / TOKENIZER_IDENTITY).is_file() and (tokenizer_dir / TOKENIZER_DIR).is_dir():
        tokenizer_dir = tokenizer_dir / TOKENIZER_DIR  # given the tokens folder
    identity = None
    if (tokenizer_dir / TOKENIZER_IDENTITY).is_file():
        identity = json.loads((tokenizer_dir / TOKENIZER_IDENTITY).read_text(encoding="utf-8"))
        kind = identity["kind"]
        for name, sha256 in identity.get("files", {}).items():
            path = tokenizer_dir / name
            if not path.is_file() or file_sha256(path) != sha256:
                raise ExportError(f"{path} is missing or changed since the tokens were made with it")
    elif all((tokenizer_dir / name).is_file() for name in GPT2_FILES):
        kind = GPT2
    elif (tokenizer_dir / BPE_FILE).is_file():
        kind = BPE
    else:
        raise ExportError(
            f"{tokenizer_dir} has no tokenizer: expected {' + '.join(GPT2_FILES)} or {BPE_FILE} "
            "(a tokens folder's tokenizer/)"
        )
    if kind not in (GPT2, BPE):
        raise ExportError(f"{tokenizer_dir}: unknown tokenizer kind {kind!r}")
    return TokenizerSource(kind, tokenizer_dir, identity)


def write_tokenizer(source: TokenizerSource, out: Path, config: GPTConfig) -> int:
    """The tokenizer's files in ``out`` for ``AutoTokenizer``; returns the end-of-text id (checked against the
    model's vocabulary and the identity)."""
    from transformers import GPT2TokenizerFast, PreTrainedTokenizerFast

    specials = {"bos_token": EOT, "eos_token": EOT, "unk_token": EOT, "model_max_length": config.block_size}
    if source.kind == GPT2:
        # GPT-2's release files under the names transformers (4 and 5, fast and slow) reads; tokenizer.json too
        shutil.copyfile(source.directory / "encoder.json", out / "vocab.json")
        shutil.copyfile(source.directory / "vocab.bpe", out / "merges.txt")
        # vocab=/merges= paths: transformers 5 silently builds an empty tokenizer from vocab_file=/merges_file=
        tokenizer = GPT2TokenizerFast(vocab=str(out / "vocab.json"), merges=str(out / "merges.txt"), **specials)
        tokenizer.save_pretrained(out)
    else:
        tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(source.directory / BPE_FILE), **specials)
        tokenizer.save_pretrained(out)
        # transformers 5 names its own class (TokenizersBackend); this name loads the same tokenizer.json in 4 and 5
        tokenizer_config = json.loads((out / "tokenizer_config.json").read_text(encoding="utf-8"))
        tokenizer_config["tokenizer_class"] = "PreTrainedTokenizerFast"
        (out / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2) + "\n", encoding="utf-8")
    if len(tokenizer) != config.vocab_size:
        raise ExportError(f"the tokenizer has {len(tokenizer)} tokens, the model's vocab_size is {config.vocab_size}")
    eot_id = tokenizer.convert_tokens_to_ids(EOT)
    if source.identity is not None and source.identity.get("eot_id", eot_id) != eot_id:
        raise ExportError(f"identity.json says eot_id {source.identity['eot_id']}, the tokenizer has {eot_id}")
    return eot_id


def hf_state_dict(model: GPT) -> dict[str, torch.Tensor]:
    """``GPT2LMHeadModel``'s tensors on the CPU: Conv1D weights ``(in, out)``, the embedding trimmed to the
    tokenizer's vocabulary, zero biases where the model has none, ``lm_head`` left to the tie."""
    config = model.config
    tensors: dict[str, torch.Tensor] = {}
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight":
            continue  # tied to transformer.wte.weight; transformers re-ties it on load
        tensor = tensor.detach().to("cpu")
        if name == "transformer.wte.weight":
            tensor = tensor[: config.vocab_size].clone()  # padded rows are never produced; drop them
        elif name.endswith(CONV1D_SUFFIXES):
            tensor = tensor.t().contiguous()
        tensors[name] = tensor
    if not config.bias:
        dtype = model.transformer.wte.weight.dtype
        for name, module in model.named_modules():
            if isinstance(module, torch.nn.Linear | torch.nn.LayerNorm) and name != "lm_head":
                size = module.weight.shape[0]
                tensors.setdefault(f"{name}.bias", torch.zeros(size, dtype=dtype))
    return tensors


def write_model(model: GPT, out: Path, eot_id: int) -> None:
    """``config.json``, ``generation_config.json`` and ``model.safetensors`` for ``GPT2LMHeadModel``."""
    from safetensors.torch import save_file
    from transformers import GenerationConfig, GPT2Config

    config = model.config
    dtype = model.transformer.wte.weight.dtype
    hf_config = GPT2Config(
        vocab_size=config.vocab_size,
        n_positions=config.block_size,
        n_embd=config.n_embd,
        n_layer=config.n_layer,
        n_head=config.n_head,
        activation_function="gelu_new",  # GELU's tanh approximation, as training used
        resid_pdrop=config.dropout,
        embd_pdrop=config.dropout,
        attn_pdrop=config.dropout,
        layer_norm_epsilon=1e-5,  # torch.nn.LayerNorm's default, which the model uses
        bos_token_id=eot_id,
        eos_token_id=eot_id,
        tie_word_embeddings=True,
        architectures=["GPT2LMHeadModel"],
        dtype=str(dtype).removeprefix("torch."),
    )
    hf_config.save_pretrained(out)
    GenerationConfig.from_model_config(hf_config).save_pretrained(out)
    save_file(hf_state_dict(model), str(out / WEIGHTS_FILE), metadata={"format": "pt"})


def make_readable(directory: Path) -> None:
    """Files 0644 and folders 0755, and the files flushed to disk before the rename publishes them."""
    os.chmod(directory, DIR_MODE)
    for path in directory.rglob("*"):
        os.chmod(path, DIR_MODE if path.is_dir() else FILE_MODE)
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())


def replace_dir(staging: Path, out_dir: Path) -> None:
    """Rename ``staging`` to ``out_dir``; an earlier export there is moved aside first and removed after."""
    if not out_dir.exists():
        staging.rename(out_dir)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=out_dir.parent))
    old.rmdir()  # the name only: rename needs the target absent
    out_dir.rename(old)
    try:
        staging.rename(out_dir)
    except BaseException:
        with contextlib.suppress(OSError):
            old.rename(out_dir)  # put the earlier export back
        raise
    shutil.rmtree(old, ignore_errors=True)
