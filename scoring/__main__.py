"""Command line: ``python -m scoring rank problem.json`` prints the result as JSON (DESIGN §10).

Exit status 0 on success; 1 when the problem is refused, with every error on standard error (and the result with
``errors`` and nothing ranked on standard output); 2 on usage errors
(bad arguments, unreadable file); 3 when the engine itself fails, said the same way, never as a traceback.
``-`` reads the problem from standard input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .pipeline import rank
from .problem import ProblemError, parse_problem

EXIT_REFUSED, EXIT_USAGE, EXIT_FAILED = 1, 2, 3


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scoring", description="Aggregate and rank score sheets.")
    commands = parser.add_subparsers(dest="command", required=True)
    rank_command = commands.add_parser("rank", help="rank the applications of a scoring problem (JSON)")
    rank_command.add_argument("problem", help="problem JSON file, or - for standard input")
    rank_command.add_argument("--indent", type=int, default=2, help="JSON indentation (default 2)")
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code else 0
    try:
        data = _read(arguments.problem)
    except (OSError, UnicodeDecodeError) as error:
        print(f"cannot read {arguments.problem}: {error}", file=sys.stderr)
        return EXIT_USAGE
    except json.JSONDecodeError as error:
        return _refuse([f"{arguments.problem}: not valid JSON: {error}"])
    except RecursionError:
        return _refuse([f"{arguments.problem}: not read: the JSON is nested too deeply"])
    except ValueError as error:                  # e.g. an integer beyond Python's 4300-digit limit
        return _refuse([f"{arguments.problem}: not valid JSON: {error}"])
    try:
        result = rank(parse_problem(data))
    except ProblemError as refused:
        return _refuse(refused.errors)
    except Exception as error:  # noqa: BLE001 — the command answers in words and JSON, never with a traceback
        _refuse([f"the engine failed on this problem ({type(error).__name__}: {error}); please report it"])
        return EXIT_FAILED
    if result.errors:
        return _refuse(list(result.errors))
    json.dump(result.to_dict(), sys.stdout, ensure_ascii=False, indent=arguments.indent)
    sys.stdout.write("\n")
    return 0


def _read(path: str):
    if path == "-":
        return json.load(sys.stdin)
    with open(path, encoding="utf-8-sig") as handle:
        return json.load(handle)


def _refuse(errors: list[str]) -> int:
    """Every error on standard error for people, and the §10 result with ``errors`` and nothing ranked on
    standard output for programs."""
    print(f"refused: {len(errors)} error(s)", file=sys.stderr)
    for error in errors:
        print(error, file=sys.stderr)
    json.dump({"ranking": [], "experts": [], "errors": errors}, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return EXIT_REFUSED


if __name__ == "__main__":
    sys.exit(main())
