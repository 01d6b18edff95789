"""One place that creates HiGHS solver instances, with nothing written to standard output.

HiGHS prints a two-line banner on the C level (file descriptor 1) the first time a process
constructs a solver, before any option can be set. Machine-readable output (``--json``,
CSV on stdout) must stay exactly the document, so every solver in the engine is created by
:func:`new_highs`: the first construction in a process happens once, under a lock, with
descriptor 1 pointed at descriptor 2 (the banner goes to stderr), and every instance gets
``output_flag`` off. A model that asks for a solver log gets it through HiGHS's logging
callback on stderr, never on stdout.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import Any

import highspy

_FIRST_LOCK = threading.Lock()
_first_done = False


def _construct_first() -> highspy.Highs:
    """Construct the process's first solver with fd 1 pointed at fd 2 for the banner."""
    global _first_done
    with _FIRST_LOCK:
        if _first_done:
            return highspy.Highs()
        with contextlib.suppress(AttributeError, ValueError):  # no stdout, or closed
            sys.stdout.flush()
        try:
            saved = os.dup(1)
        except OSError:  # no descriptor 1 at all: nothing can reach stdout
            solver = highspy.Highs()
        else:
            try:
                os.dup2(2, 1)
                solver = highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
        _first_done = True
        return solver


def _log_to_stderr(_type: Any, message: str, *_: Any) -> None:
    sys.stderr.write(message)


def new_highs(*, log: bool = False) -> highspy.Highs:
    """A new HiGHS instance that never writes to standard output.

    Parameters
    ----------
    log
        Send the solver's log to stderr (through the logging callback); off by default.

    Returns
    -------
    highspy.Highs
        A solver with ``output_flag`` off (or logging to stderr only).
    """
    solver = highspy.Highs() if _first_done else _construct_first()
    solver.setOptionValue("output_flag", False)
    if log:
        solver.setOptionValue("output_flag", True)
        solver.setOptionValue("log_to_console", False)
        solver.setCallback(_log_to_stderr, None)
        solver.startCallback(highspy.cb.HighsCallbackType.kCallbackLogging)
    return solver
