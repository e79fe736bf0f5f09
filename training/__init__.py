"""Training of GPT-2-family models with Ray Train (the `train` stage of the DAG).

The stage arrives with its own issue; the package exists so the layout of DESIGN.md
holds from the first commit.
"""
