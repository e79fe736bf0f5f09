"""Harvest: outbound links of Reddit submissions, karma summed per normalised URL (GPT-2's WebText rule)."""
