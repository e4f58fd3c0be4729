"""Command line: `python -m pipeline parse PATH...`, `python -m pipeline build` and `python -m pipeline synth`.

`parse` is the pure core's stable interface: one JSON object per input, one per line, in input order.
Exit codes: 0 when it ran (whether or not inputs were rejected), 1 when a build's blocking check
failed, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pipeline import synth
from pipeline.core.batches import as_text
from pipeline.core.page import DEFAULT_MAX_BYTES, checked_byte_limit, parse_file


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)  # argparse exits with 2 on usage errors
    return args.command(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    parse = commands.add_parser("parse", help="parse pages and print one JSON record per input")
    parse.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    parse.add_argument("--max-bytes", type=_byte_limit, default=DEFAULT_MAX_BYTES, help="reject larger files (default %(default)s bytes, 5 MiB)")
    parse.set_defaults(command=_parse_command)

    build = commands.add_parser("build", help="ingest new or changed batches, rebuild the corpus in processed/")
    build.add_argument("--raw", type=Path, default=Path("raw"), help="folder of scrape batches")
    build.add_argument("--processed", type=Path, default=Path("processed"), help="output folder")
    build.add_argument("--force", action="store_true", help="re-ingest every batch and rebuild the corpus")
    build.add_argument("--verify", action="store_true", help="read every stored file whole first (page checksums); make the damaged ones again")
    build.set_defaults(command=_build_command)

    generate = commands.add_parser("synth", help="write a synthetic corpus of our own pages (benchmarks)")
    synth.add_arguments(generate)
    generate.set_defaults(command=synth.run)
    return parser


def _byte_limit(value: str) -> int:
    """--max-bytes: not a positive number of bytes is a usage error (argparse exits with 2)."""
    try:
        return checked_byte_limit(int(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number of bytes, not {value!r}") from None


def _parse_command(args: argparse.Namespace) -> int:
    out = open(sys.stdout.fileno(), "w", encoding="utf-8", closefd=False)  # UTF-8 whatever the locale
    for path in args.paths:
        record = parse_file(path, source=as_text(str(path)), max_bytes=args.max_bytes).to_dict()  # the output is UTF-8
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()
    return 0


def _build_command(args: argparse.Namespace) -> int:
    from pipeline.build import run_build  # Dagster loads only for builds

    # Its messages name folders and batches, which may not be ASCII: in a locale that cannot write them
    # (PYTHONIOENCODING=ascii, a Latin-1 terminal) they are escaped rather than the build stopped half-way.
    sys.stdout.reconfigure(errors="backslashreplace")
    return run_build(args.raw, args.processed, force=args.force, verify=args.verify)
