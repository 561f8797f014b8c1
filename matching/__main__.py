"""Command line: ``python -m matching assign|conflicts|affinity problem.json`` (DESIGN §10).

Prints the result as JSON on standard output, one top-level key a line. Exit status: 0 done; 1 the problem was
refused (every error on standard error, one a line), or ``assign`` refused the round for its memory (its result,
status ``too_large``, still printed); 2 usage error; 141 the reader of the output closed it early
(``| head``: 128 + SIGPIPE, as a shell reports a command a pipe stopped). ``-`` reads the problem from standard input.
A result with ``timing`` (``assign``) covers every phase, the import of the solver pipeline included and, last,
``encode``, the turning of the result into JSON text, but the interpreter's start with this module's own imports,
and its own writing, whose seconds (the encoding with the handing of the text to the output) go to standard error
as one line, ``timing: write … s``.

``assign --memory-limit 8G`` (or the environment's ``PANEL_MATCHING_MEMORY``; the option wins) refuses a round
whose estimated peak memory passes the limit before its matrices are allocated (docs/scale.md, "Memory"). The
other commands take no limit: the estimate is of an assignment, so ``--memory-limit`` given to them is a usage
error, and the environment's limit is not read for them.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any, TextIO

from matching.affinity import compute_fit, fit_components
from matching.conflicts import RULE_KINDS, RULES, ConflictArrays, conflict_arrays, reasons_by_expert
from matching.memory import MEMORY_VARIABLE, MIB, TOO_LARGE, environment_limit, parse_size
from matching.problem import ProblemError, parse_problem
from matching.types import Problem

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_CLOSED = 0, 1, 2, 141


@dataclass(frozen=True)
class JSONList:
    """A list written piece by piece: ``pieces`` yields the JSON text of a few items at a time, ``", "``-joined
    (as ``json.dumps`` joins a list's items), so the whole list is never in memory."""

    pieces: Iterator[str]


def _conflicts(problem: Problem) -> dict[str, Any]:
    # the round-wide search runs here, before anything is written: a failure in it leaves the output empty
    return {"conflicts": JSONList(_conflict_pieces(problem, conflict_arrays(problem)))}


def _conflict_pieces(problem: Problem, found: ConflictArrays) -> Iterator[str]:
    """Each expert's conflicts as the JSON text ``json.dumps`` writes for their §10 dicts (expert, application,
    rule, kind, reason), from the conflict arrays ``found`` and the reasons written one expert at a time: no
    object per conflict outlives its expert. The refs, rules and kinds are escaped once, the reasons one by one."""
    experts = [encode_basestring(expert.ref) for expert in problem.experts]
    applications = [encode_basestring(application.ref) for application in problem.applications]
    rules = [f'"rule": {encode_basestring(rule)}, "kind": {encode_basestring(RULE_KINDS[rule])}' for rule in RULES]
    for first, last, reasons in reasons_by_expert(problem, found):
        expert = experts[int(found.experts[first])]
        yield ", ".join(
            f'{{"expert": {expert}, "application": {applications[j]}, {rules[r]}, "reason": {encode_basestring(why)}}}'
            for j, r, why in zip(found.applications[first:last].tolist(), found.rules[first:last].tolist(), reasons,
                                 strict=True))


def _affinity(problem: Problem) -> dict[str, Any]:
    matrix = compute_fit(problem)
    weights = problem.settings.weights
    return {
        "source": "given" if matrix.given else "computed",
        "weights": {"field": weights.field, "text": weights.text},
        "affinity": fit_components(matrix),
    }


def _assign(problem: Problem, memory_limit: int | None = None) -> dict[str, Any]:
    clock = time.perf_counter()     # the solver pipeline (scipy.optimize, HiGHS, OR-Tools) loads only when asked for
    from matching.assign import assign

    imports = time.perf_counter() - clock
    result = assign(problem, memory_limit=memory_limit).to_dict()
    result["timing"] = {"imports": imports, **result["timing"]}
    return result


COMMANDS = {"assign": _assign, "conflicts": _conflicts, "affinity": _affinity}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m matching", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=sorted(COMMANDS), help="what to compute")
    parser.add_argument("problem", help="problem JSON file (DESIGN §10), or - for standard input")
    parser.add_argument("--memory-limit", type=_memory_size, default=None, metavar="SIZE",
                        help=f"assign: refuse a round whose estimated peak memory passes SIZE (8G, 8000M, bytes); "
                             f"default: the environment's {MEMORY_VARIABLE}, else no limit")
    return parser


def _memory_size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def memory_limit(option: int | None, environ: Mapping[str, str]) -> int | None:
    """The limit ``assign`` runs under: the option's, else the environment's (an empty variable is no limit).
    Raises ValueError, naming the variable, for a value that is no size."""
    return option if option is not None else environment_limit(environ)


def _command(args: argparse.Namespace) -> Callable[[Problem], dict[str, Any]]:
    """The command to run on the parsed problem: ``assign`` under its memory limit (:func:`memory_limit`), the
    others as they are. Raises ValueError for a limit that is no size, or given to a command it would not bound
    (the estimate is of an assignment)."""
    if args.command != "assign":
        if args.memory_limit is not None:
            raise ValueError(f"--memory-limit: {args.command} has no memory limit (only assign has)")
        return COMMANDS[args.command]
    return functools.partial(_assign, memory_limit=memory_limit(args.memory_limit, os.environ))


def _read(path: str, stdin: TextIO) -> Any:
    if path == "-":
        return json.load(stdin)
    with open(path, encoding="utf-8-sig") as handle:
        return json.load(handle)


def main(argv: Sequence[str] | None = None, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
         stderr: TextIO = sys.stderr) -> int:
    """Run one command; returns the exit status."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:
        return EXIT_OK if exit_.code == 0 else EXIT_USAGE
    try:
        command = _command(args)
    except ValueError as error:
        print(error, file=stderr)
        return EXIT_USAGE
    clock = time.perf_counter()
    try:
        data = _read(args.problem, stdin)
    except OSError as error:
        print(f"{args.problem}: cannot read: {error.strerror or error}", file=stderr)
        return EXIT_USAGE
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        print(f"{args.problem}: not valid JSON: {error}", file=stderr)
        return EXIT_REFUSED
    read_seconds = time.perf_counter() - clock
    try:
        clock = time.perf_counter()
        problem = parse_problem(data)
        parse_seconds = time.perf_counter() - clock
        del data
        with frozen_heap():
            result = command(problem)
    except ProblemError as error:
        for line in error.errors:
            print(line, file=stderr)
        return EXIT_REFUSED
    texts: dict[str, str] = {}
    clock = time.perf_counter()
    if isinstance(result.get("timing"), dict):     # seconds per phase, the reading of the JSON included
        result["timing"] = {"read": read_seconds, "parse": parse_seconds, **result["timing"]}
        texts = encode_timed(result)
    write_json(result, stdout, texts)
    if isinstance(result.get("timing"), dict):
        print(f"timing: write {time.perf_counter() - clock:.1f} s", file=stderr)
    if result.get("status") == TOO_LARGE:
        memory = result["memory"]
        estimate, limit = -(-memory["estimate"] // MIB), memory["limit"] // MIB      # so the one is above the other
        print(f"refused: the round's {memory['pairs']:,} pairs need about {estimate:,} MiB at the peak, more than the "
              f"limit of {limit:,} MiB (--memory-limit, {MEMORY_VARIABLE})", file=stderr)
        return EXIT_REFUSED
    return EXIT_OK


@contextmanager
def frozen_heap() -> Iterator[None]:
    """The objects alive on entry (the parsed problem above all) left out of the garbage collector's passes until
    the exit: they live to the end of the command, and each full collection walked them all again (at 10,000 ×
    25,000 ``assign`` spent 2.0 CPU s in collections, 1.2 with the heap frozen after the parse).

    A heap its caller froze is left as it is: ``gc.unfreeze`` cannot tell the caller's frozen objects from the
    command's, and would hand them all back to the collector."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


WRITE_CHUNK = 1 << 24
"""Most characters handed to the output stream at once. One ``write`` of a string over 2 GiB is cut short at
2,147,479,552 bytes by Linux, and Python's text stream drops the rest without an error: the ``conflicts``
command's list at 10,000 × 25,000 (2.1 GiB) came out cut off, exit status 0."""


def encode_timed(result: dict[str, Any]) -> dict[str, str]:
    """The JSON text of every value of ``result`` but its ``timing``, and the seconds that took as ``timing``'s
    last entry, ``encode``: the writing's own work, so that the timing covers it (the timing cannot hold the
    seconds of its own writing, nor of handing the text to the output, which standard error reports)."""
    clock = time.perf_counter()
    texts = {key: json.dumps(value, ensure_ascii=False) for key, value in result.items() if key != "timing"}
    result["timing"]["encode"] = time.perf_counter() - clock
    return texts


def write_json(result: dict[str, Any], stdout: TextIO, texts: Mapping[str, str] | None = None) -> None:
    """The result with each top-level key on a line of its own, each value in one piece (a :class:`JSONList`
    written as its pieces come; a value whose JSON text ``texts`` holds, as that text), handed to ``stdout`` at
    most :data:`WRITE_CHUNK` characters at a time.

    ``json.dump`` with ``indent`` runs the pure-Python encoder: 10–17 s for a 20,000 × 50,000 result, against
    seconds for the C encoder, which only writes without indentation.
    """
    def write(text: str) -> None:
        for start in range(0, len(text), WRITE_CHUNK):
            stdout.write(text[start:start + WRITE_CHUNK])

    write("{\n")
    for k, (key, value) in enumerate(result.items()):
        write(("" if k == 0 else ",\n") + json.dumps(key, ensure_ascii=False) + ": ")
        if texts and key in texts:
            write(texts[key])
        elif isinstance(value, JSONList):
            write("[")
            for n, piece in enumerate(value.pieces):
                write(piece if n == 0 else ", " + piece)
            write("]")
        else:
            write(json.dumps(value, ensure_ascii=False))
    write("\n}\n")


def run_module() -> int:
    """:func:`main` for ``python -m matching``: a reader that stops early (``| head``) ends the run quietly, with
    :data:`EXIT_CLOSED`, instead of a traceback about a broken pipe."""
    try:
        status = main()
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the interpreter's flush at exit would fail
        return EXIT_CLOSED


if __name__ == "__main__":
    sys.exit(run_module())
