"""Dedup in this process, for inputs too small to repay a Spark session's start-up: the same signatures shards and
the same decision as ``pipeline.dedup.spark``, byte for byte (``pipeline.dedup.engine`` chooses)."""
