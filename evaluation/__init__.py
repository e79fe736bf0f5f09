"""Zero-shot evaluation as in the GPT-2 paper (LAMBADA, WikiText, PTB, enwik8/text8, CBT), logged to MLflow.

The stage arrives with its own issue; the package exists so the layout of DESIGN.md
holds from the first commit.
"""
