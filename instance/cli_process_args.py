"""The process-count options of ``coopub serve`` and ``coopub worker``."""

from __future__ import annotations

import argparse


def process_count(text: str) -> int:
    """An argparse type: a number of processes, at least 1."""
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of processes") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"{count} processes: at least 1")
    return count


def process_options(parser: argparse.ArgumentParser, *, web: bool) -> None:
    if web:
        parser.add_argument(
            "--web-processes",
            type=process_count,
            metavar="N",
            help="web processes (default: [server] web_processes, else one per core)",
        )
    parser.add_argument(
        "--processes",
        type=process_count,
        metavar="N",
        help="worker processes (default: [worker] processes, else one per core)",
    )
