"""The bundled sample: Reddit dumps and a small web site, generated deterministically from original text."""
