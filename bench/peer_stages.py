"""datatrove's stages as the peer benches name them: ``peer_datatrove_pipeline.py`` runs them inside datatrove's
virtualenv, ``peer_datatrove.py`` and ``peer_minhash.py`` ask for them from the project's. Plain data, importable
from either environment."""

DATATROVE_STAGES = (
    "extract_filter",
    "minhash_signatures",
    "minhash_buckets",
    "minhash_cluster",
    "minhash_filter",
    "tokenize",
)
MINHASH_STAGES = DATATROVE_STAGES[1:5]  # datatrove's 4-stage MinHash
