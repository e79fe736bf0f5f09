"""Training of GPT-2-family models with Ray Train (the `train` stage of the DAG).

The model and the training step (``model``, ``loop``) import only torch and numpy, so a GPU benchmark runs where only
PyTorch is; ``run`` launches them on Ray Train, resumes from checkpoints, tracks the run in MLflow and exports a
Hugging Face folder.
"""
