"""Vehicle routing: the VRPTW core (PyVRP portfolio), Solomon instances, check-up planning.

Modules: :mod:`~geo.routing.vrptw` (problem over matrices, PyVRP mapping, ``solve_vrptw``),
:mod:`~geo.routing.portfolio` (cooperative multi-process search),
:mod:`~geo.routing.recombine` (set-partitioning over pooled routes),
:mod:`~geo.routing.solomon` (benchmark reader), :mod:`~geo.routing.checkup_model` and
:mod:`~geo.routing.checkup` (the mobile check-up problem and its solver),
:mod:`~geo.routing.checkup_io` (request parsing, JSON/CSV/HTML output),
:mod:`~geo.routing.feasibility` (independent checks), :mod:`~geo.routing.errors`.
"""
