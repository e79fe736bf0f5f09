"""Fetch: polite, SSRF-safe async download of harvested URLs, archived as WARC with a pages index."""
