"""Extract: the main text of every fetched page (trafilatura, precision-first), with dropped pages kept as rejects."""
