"""How long this process has been running (for commands whose time limit is wall-clock)."""

from __future__ import annotations

import os


def seconds_since_process_start() -> float:
    """Wall-clock seconds since this process started (0 where the OS does not tell).

    Read from ``/proc`` (Linux): the interpreter's start-up and the imports count against
    a command's time limit like everything after them.
    """
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime", encoding="ascii") as uptime:
            now = float(uptime.read().split()[0])
        return max(0.0, now - int(fields[19]) / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0
