"""Extract: the main text of every fetched page (trafilatura or resiliparse), with dropped pages kept as rejects."""
