"""One model interface for zero-shot evaluation: log-likelihoods of continuations and of whole texts, batched.

The numbers are lm-evaluation-harness's (its ``HFLM``): a request's trailing context spaces move to the
continuation, the continuation's tokens are what ``encode(context + continuation)`` adds after
``encode(context)``, an empty context is the end-of-text token, inputs are left-truncated to the model's
context, log-probabilities come from a float32 log-softmax over the vocabulary; a whole text is scored
in lm-eval's disjoint rolling windows (each token predicted once, the first one after end-of-text) or,
with ``stride``, in overlapping windows that give each scored token more context. So a figure here and
one from lm-eval on the same model agree, and the same code scores our checkpoints and any Hugging
Face causal LM. Requests are sorted longest first and right-padded into batches (a causal model's
outputs before the padding do not see it); results come back in request order.

The adapter sees a model only as its forward call, token ids to logits, and needs torch alone;
``evaluation/model_loading.py`` builds one for each kind of model.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

TokenPair = tuple[list[int], list[int]]  # (context tokens, continuation tokens)
Forward = Callable[[torch.Tensor], torch.Tensor]  # token ids (B, T) -> logits (B, T, at least the vocabulary)


def get_rolling_token_windows(
    token_list: list[int], prefix_token: int, max_seq_len: int, context_len: int
) -> Iterator[TokenPair]:
    """lm-eval's ``utils.get_rolling_token_windows``: (input, predicted) windows that predict every token once."""
    if not 1 <= context_len <= max_seq_len:
        raise ValueError(f"context_len must be in [1, {max_seq_len}], got {context_len}")
    if not token_list:
        return
    pred_len = max_seq_len - context_len + 1  # +1: the input is shifted one token from the predictions
    first_seq_len = min(max_seq_len, len(token_list))
    yield [prefix_token, *token_list[: first_seq_len - 1]], token_list[:first_seq_len]
    predicted = first_seq_len
    while predicted < len(token_list):
        window_pred_len = min(len(token_list) - predicted, pred_len)
        window_end = predicted + window_pred_len
        yield (
            token_list[window_end - max_seq_len - 1 : window_end - 1],
            token_list[window_end - window_pred_len : window_end],
        )
        predicted += window_pred_len


def make_disjoint_window(pair: TokenPair) -> TokenPair:
    """lm-eval's ``utils.make_disjoint_window``: the context without the tokens the continuation repeats."""
    context, continuation = pair
    return context[: len(context) - (len(continuation) - 1)], continuation


def rolling_windows(tokens: list[int], prefix_token: int, max_length: int, stride: int | None) -> list[TokenPair]:
    """(context, continuation) pairs scoring each of ``tokens`` exactly once.

    ``stride`` None: lm-eval's disjoint windows. Otherwise the first window scores up to ``max_length``
    tokens after ``prefix_token``, and each later one the next ``stride`` tokens, conditioned on as many
    earlier tokens as fill the window (``max_length - stride`` of them before the first scored token's input);
    ``stride == max_length`` gives lm-eval's windows.
    """
    if stride is None:
        return [make_disjoint_window(pair) for pair in get_rolling_token_windows(tokens, prefix_token, max_length, 1)]
    if not 1 <= stride <= max_length:
        raise ValueError(f"stride must be in [1, {max_length}] (the model's context), got {stride}")
    if not tokens:
        return []
    first = min(max_length, len(tokens))
    windows = [([prefix_token], tokens[:first])]  # the input: the prefix, then all but the last token
    predicted = first
    while predicted < len(tokens):
        end = min(predicted + stride, len(tokens))
        context_len = max_length - (end - predicted) + 1  # the input is context + continuation[:-1]
        windows.append((tokens[predicted - context_len : predicted], tokens[predicted:end]))
        predicted = end
    return windows


class ModelAdapter:
    """A causal LM and its tokenizer, scored as lm-eval's ``HFLM`` scores them (see the module docstring)."""

    def __init__(
        self,
        forward: Forward,
        tokenizer: Any,
        *,
        name: str,
        n_params: int,
        max_length: int,
        eot_id: int,
        vocab_size: int,
        metadata: dict[str, Any] | None = None,
        device: str = "cpu",
        batch_size: int = 8,
        model: torch.nn.Module | None = None,
    ) -> None:
        """``forward`` runs the model (already on ``device``, in eval mode) on token ids; ``model``, when given, is
        the module it runs, kept for inspection."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.forward, self.model, self.tokenizer = forward, model, tokenizer
        self.name, self.n_params, self.max_length = name, n_params, max_length
        self.eot_id, self.vocab_size, self.batch_size = eot_id, vocab_size, batch_size
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.device = torch.device(device)

    def __repr__(self) -> str:
        return f"ModelAdapter({self.name!r}, {self.n_params:,} parameters, context {self.max_length}, {self.device})"

    def encode(self, text: str) -> list[int]:
        """The tokenizer's ids for ``text``, no special tokens added (as lm-eval encodes for a causal LM)."""
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def logits(self, tokens: torch.Tensor) -> torch.Tensor:
        """The model's logits for ``tokens`` (B, T) over the tokenizer's vocabulary (bf16 autocast on CUDA)."""
        autocast = (
            torch.autocast("cuda", dtype=torch.bfloat16) if self.device.type == "cuda" else contextlib.nullcontext()
        )
        with torch.inference_mode(), autocast:
            return self.forward(tokens.to(self.device))[..., : self.vocab_size]

    def encode_pair(self, context: str, continuation: str) -> TokenPair:
        """lm-eval's ``_encode_pair``: the context's trailing spaces go to the continuation, whose tokens are
        what the whole adds after the context (so a merge across the boundary is the continuation's)."""
        if context == "":
            return [self.eot_id], self.encode(continuation)
        n_spaces = len(context) - len(context.rstrip())
        if n_spaces > 0:
            context, continuation = context[:-n_spaces], context[-n_spaces:] + continuation
        whole = self.encode(context + continuation)
        context_enc = self.encode(context)
        return context_enc or [self.eot_id], whole[len(context_enc) :]  # an all-space context: end-of-text

    def loglikelihood(self, requests: Sequence[tuple[str, str]]) -> list[tuple[float, bool]]:
        """For each (context, continuation): the continuation's summed log-probability, and whether greedy
        decoding would produce exactly its tokens."""
        pairs = []
        for index, (context, continuation) in enumerate(requests):
            pair = self.encode_pair(context, continuation)
            shown = f"request {index} (context ...{context[-40:]!r}, continuation {continuation!r})"
            if not pair[1]:
                raise ValueError(f"{shown}: the continuation encodes to no tokens")
            if len(pair[1]) > self.max_length:
                raise ValueError(
                    f"{shown}: {len(pair[1])} continuation tokens, more than the context of {self.max_length}"
                )
            pairs.append(pair)
        return self.score(pairs)

    def loglikelihood_rolling(self, texts: Sequence[str], stride: int | None = None) -> list[tuple[float, int]]:
        """For each text: its summed log-probability, every token scored once (the first after end-of-text),
        and the number of tokens scored. See ``rolling_windows`` for ``stride``."""
        pairs: list[TokenPair] = []
        owners: list[int] = []
        for index, text in enumerate(texts):
            windows = rolling_windows(self.encode(text), self.eot_id, self.max_length, stride)
            pairs.extend(windows)
            owners.extend([index] * len(windows))
        totals, counts = [0.0] * len(texts), [0] * len(texts)
        for owner, (_, continuation), (logprob, _) in zip(owners, pairs, self.score(pairs, greedy=False)):
            totals[owner] += logprob
            counts[owner] += len(continuation)
        return list(zip(totals, counts))

    def score(self, pairs: Sequence[TokenPair], greedy: bool = True) -> list[tuple[float, bool]]:
        """lm-eval's ``_loglikelihood_tokens`` on token pairs: (summed log-probability, is greedy) each;
        ``greedy`` False skips the argmax (is greedy is then False), for rolling windows that ignore it."""
        inputs = []
        for context, continuation in pairs:
            if not context or not continuation or len(continuation) > self.max_length:
                raise ValueError(
                    f"a request needs context tokens and 1..{self.max_length} continuation tokens, got "
                    f"{len(context)} and {len(continuation)}"
                )
            inputs.append((context + continuation)[-(self.max_length + 1) :][:-1])  # left-truncated
        order = sorted(range(len(pairs)), key=lambda index: -len(inputs[index]))  # longest first: little padding
        results: list[tuple[float, bool]] = [(0.0, False)] * len(pairs)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            chunk_inputs, chunk_continuations = [inputs[i] for i in chunk], [pairs[i][1] for i in chunk]
            scored = self._score_batch(chunk_inputs, chunk_continuations, greedy)
            for index, result in zip(chunk, scored):
                results[index] = result
        return results

    @torch.inference_mode()
    def _score_batch(
        self, inputs: list[list[int]], continuations: list[list[int]], greedy: bool
    ) -> list[tuple[float, bool]]:
        """One forward pass over right-padded ``inputs``; each continuation is scored on its input's last positions."""
        width = max(len(tokens) for tokens in inputs)
        batch = torch.tensor([tokens + [self.eot_id] * (width - len(tokens)) for tokens in inputs], dtype=torch.long)
        rows, positions, targets = [], [], []
        for row, (tokens, continuation) in enumerate(zip(inputs, continuations)):
            rows.extend([row] * len(continuation))
            positions.extend(range(len(tokens) - len(continuation), len(tokens)))
            targets.extend(continuation)
        logits = self.logits(batch)
        device = logits.device
        row_index, position_index, target_index = (
            torch.tensor(values, device=device) for values in (rows, positions, targets)
        )
        # float32 log-softmax over the vocabulary, as lm-eval; argmax only when is_greedy is asked for
        if 2 * len(targets) >= logits.shape[0] * logits.shape[1]:  # most positions scored (rolling): no row copies
            full = torch.log_softmax(logits.float(), dim=-1)
            logprobs = full[row_index, position_index, target_index]
            best = full.argmax(dim=-1)[row_index, position_index] if greedy else None
        else:  # a few positions per row (a word after a long context): only those rows are normalised
            selected = torch.log_softmax(logits[row_index, position_index].float(), dim=-1)  # (tokens, vocab)
            logprobs = selected.gather(1, target_index[:, None]).squeeze(1)
            best = selected.argmax(dim=-1) if greedy else None
        misses = (best != target_index).long() if best is not None else torch.ones_like(target_index)
        sums = torch.zeros(len(inputs), dtype=torch.float64, device=device).index_add_(0, row_index, logprobs.double())
        wrong = torch.zeros(len(inputs), dtype=torch.long, device=device).index_add_(0, row_index, misses)
        return [(float(total), not miss) for total, miss in zip(sums.tolist(), wrong.tolist())]
