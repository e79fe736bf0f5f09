"""``webtext sample`` and ``webtext sample-web``: write the bundled sample, serve its web on loopback."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("sample", help="write the bundled sample (dumps + web site)")
    parser.add_argument("--out", type=Path, required=True, help="directory to write the sample into")
    parser.add_argument("--force", action="store_true", help="rewrite even if a complete sample is there")
    parser.set_defaults(handler=_sample)
    web = commands.add_parser("sample-web", help="serve the sample web on 127.0.0.1 until interrupted")
    web.add_argument("--dir", type=Path, default=Path("build/sample"), help="a directory written by `sample`")
    web.set_defaults(handler=_sample_web)


def _sample(args: argparse.Namespace) -> int:
    from pipeline.sample.generate import generate_sample

    manifest = generate_sample(args.out, force=args.force)
    print(
        f"sample: {len(manifest['files'])} files in {args.out} "
        f"({len(manifest['resolve'])} hosts, dumps: {', '.join(manifest['dumps'])})"
    )
    return 0


def _sample_web(args: argparse.Namespace) -> int:
    from pipeline.sample.server import serve_sample_web

    site = args.dir / "web" / "site.json"
    if not site.is_file():
        raise FileNotFoundError(f"no sample web at {site}; run `webtext sample --out {args.dir}` first")
    with serve_sample_web(args.dir / "web") as web:
        flags = " ".join(f"--resolve {host}={pin}" for host, pin in sorted(web.resolve.items()))
        print(f"sample web on 127.0.0.1:{web.port}; crawl it with:\n  webtext fetch URLS_DIR --out DIR {flags}")
        threading.Event().wait()  # until Ctrl-C
    return 0
