"""Language models with known probabilities, so the tests can check metric math against hand-computed values."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

LN256 = math.log(256)


class ByteModel:
    """Byte-level and uniform: every UTF-8 byte has probability 1/256, so a text of n bytes scores -n·ln 256 and
    bits per byte are exactly 8 (per byte the model reads). Records what it was asked."""

    max_length = 16

    def __init__(self, greedy: bool = True) -> None:
        self.greedy = greedy
        self.requests: list[tuple[str, str]] = []
        self.rolled: list[str] = []
        self.strides: list[int | None] = []

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def loglikelihood(self, requests: Sequence[tuple[str, str]]) -> list[tuple[float, bool]]:
        self.requests.extend(requests)
        return [(-len(self.encode(continuation)) * LN256, self.greedy) for _, continuation in requests]

    def loglikelihood_rolling(self, texts: Sequence[str], stride: int | None = None) -> list[tuple[float, int]]:
        self.rolled.extend(texts)
        self.strides.append(stride)
        return [(-len(self.encode(text)) * LN256, len(self.encode(text))) for text in texts]


class ScriptedModel(ByteModel):
    """``loglikelihood`` answers from a function of (context, continuation), e.g. a table lookup."""

    def __init__(self, answer: Callable[[str, str], tuple[float, bool]]) -> None:
        super().__init__()
        self.answer = answer

    def loglikelihood(self, requests: Sequence[tuple[str, str]]) -> list[tuple[float, bool]]:
        self.requests.extend(requests)
        return [self.answer(context, continuation) for context, continuation in requests]


class CountingModel(ByteModel):
    """Returns one result too few, as a broken adapter would."""

    def loglikelihood(self, requests: Sequence[tuple[str, str]]) -> list[tuple[float, bool]]:
        return super().loglikelihood(requests)[:-1]
