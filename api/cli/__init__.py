"""The ``servicemap`` command line."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from api.cli._process import seconds_since_process_start

#: Sub-command modules, each with ``register(subparsers)`` that sets ``func``.
_COMMAND_MODULES = (
    "serve", "layers_cmd", "data", "network", "plan", "route", "gaps", "users", "registry",
    "backup", "batch",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="servicemap",
        description="Shanghai trade-union worker facilities: service map, analyses, planning.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"api.cli.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"api.cli.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``servicemap`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # a command run from the shell counts the interpreter's start-up and the imports
    # against its time limit (``servicemap route --time-limit``); a call with ``argv``
    # (from Python) starts the clock now
    args.startup_s = seconds_since_process_start() if argv is None else 0.0
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # user-facing errors carry a message
        message = getattr(error, "message", None)
        if message is None:
            raise
        print(f"servicemap: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
