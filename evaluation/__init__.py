"""Zero-shot evaluation as in the GPT-2 paper (LAMBADA, WikiText, PTB, enwik8/text8, CBT), logged to MLflow.

The ``evaluate`` stage of the DAG: the tasks as data in a registry (lm-evaluation-harness's design), strict readers
of the benchmarks' release files, one model adapter with ``loglikelihood`` and ``loglikelihood_rolling``, the
metrics, and the GPT-2 paper's model-size table over the models of one experiment.
"""
