"""Run every benchmark and (with ``--write``) record the figures in docs/benchmarks.md.

Each benchmark prints a markdown section; this script runs them one after the other (so
they do not compete for the two cores), prefixes each with the exact command and the
date, and writes the page. Usage::

    python bench/run_all.py                 # print only
    python bench/run_all.py --write         # also rewrite docs/benchmarks.md
    python bench/run_all.py --only nearest,network
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: name -> (title, arguments after `python`)
BENCHMARKS: dict[str, tuple[str, list[str]]] = {
    "nearest": ("Straight-line nearest and HTTP throughput",
                ["bench/bench_nearest.py"]),
    "load": ("Open-model load: nearest at a constant arrival rate",
             ["bench/bench_load.py"]),
    "network": ("Network engine", ["bench/bench_network.py"]),
    "door-to-door": ("Door-to-door distances against an osmnx oracle",
                     ["bench/bench_door_to_door.py", "--osm", "../shared/data/osm/central_100km2.osm",
                      "--osm", "../shared/data/osm/lujiazui.osm"]),
    "gaps": ("Coverage gaps", ["bench/bench_gaps.py"]),
    "pmedian": ("Site planning: OR-Library p-median", ["bench/bench_pmedian.py"]),
    "pmedian-generated": ("Site planning: 40 generated OR-Library-sized instances",
                          ["bench/bench_pmedian.py", "--generate", "--no-spopt"]),
    "shanghai-plan": ("Site planning: the Shanghai case", ["bench/bench_shanghai_plan.py"]),
    "vrptw": ("Check-up routing: Solomon C1 and R1", ["bench/bench_vrptw.py"]),
    "checkup-shanghai": ("Check-up routing: the Shanghai case",
                         ["bench/bench_checkup_shanghai.py"]),
    "import": ("Registry import: 5,000-row spreadsheets", ["bench/bench_import.py"]),
    "registry-import": ("Registry import end to end: read, check, geocode, match, commit",
                        ["bench/bench_registry_import.py"]),
}

HEADER = """# Benchmarks

Every figure on this page was printed by the command above it, run on the machine named
with it, with every benchmark run one after the other. Regenerate the page with
`python bench/run_all.py --write` (or one section with `--only NAME --write`, which keeps the
other sections). Peers run in the same process or the same run, so ratios are comparable
even where absolute times vary with the machine.
"""


def machine() -> str:
    """CPU model, cores and Python version."""
    model = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def demote_headings(markdown: str) -> str:
    """Push a benchmark's own headings two levels down, below the section's ``##`` title."""
    lines, in_code = [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if not in_code and line.startswith("#"):
            line = "##" + line
        lines.append(line)
    return "\n".join(lines)


def run(name: str) -> str:
    """Run one benchmark and return its markdown section."""
    title, args = BENCHMARKS[name]
    command = "python " + " ".join(args)
    print(f"== {name}: {command}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    completed = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr[-4000:])
        body = f"*Failed (exit {completed.returncode}); see the command's output.*\n"
    else:
        body = demote_headings(completed.stdout.strip()) + "\n"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f"<!-- section:{name} -->\n## {title}\n\n"
            f"Command: `{command}` — run {stamp}, {seconds:.0f} s, on {machine()}.\n\n"
            f"{body}<!-- end:{name} -->\n")


def merge(page: str, sections: dict[str, str]) -> str:
    """Replace (or append) the named sections of an existing page."""
    out = page if page.strip() else HEADER
    for name, text in sections.items():
        start, end = f"<!-- section:{name} -->", f"<!-- end:{name} -->\n"
        if start in out and end in out:
            before = out[: out.index(start)]
            after = out[out.index(end) + len(end):]
            out = before + text + after
        else:
            out = out.rstrip("\n") + "\n\n" + text
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated subset of {', '.join(BENCHMARKS)}")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {', '.join(BENCHMARKS)}")
    sections = {name: run(name) for name in names}
    for text in sections.values():
        print(text)
    if args.write:
        path = REPO / "docs" / "benchmarks.md"
        page = path.read_text(encoding="utf-8") if path.exists() else ""
        path.write_text(merge(page, sections), encoding="utf-8")
        print(f"wrote {path.relative_to(REPO)}", file=sys.stderr)


if __name__ == "__main__":
    main()
