"""Reader for Solomon / Gehring–Homberger VRPTW instances.

The standard text format (Solomon 1987; Gehring & Homberger 1999 use the same layout)::

    C101

    VEHICLE
    NUMBER     CAPACITY
      25         200

    CUSTOMER
    CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

        0      40         50          0          0       1236          0
        1      45         68         10        912        967         90
        ...

Customer 0 is the depot. Travel distance and travel time between two customers are both
the Euclidean distance between their coordinates (unrounded here; the best-known values
used in the benchmark are computed with double-precision Euclidean distances). The
``READY TIME``/``DUE DATE`` pair bounds the *start* of service; the depot's due date is the
latest return time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geo.routing.errors import InstanceFormatError
from geo.routing.vrptw import VehicleType, VrptwProblem

logger = logging.getLogger(__name__)

_N_COLUMNS = 7


@dataclass(frozen=True)
class SolomonInstance:
    """A parsed Solomon-format instance.

    Attributes
    ----------
    name
        Instance name (first non-empty line of the file).
    n_vehicles
        Fleet size given in the file (an upper bound; not forced).
    capacity
        Capacity of every vehicle, in demand units.
    xy
        ``(n + 1, 2)`` coordinates; row 0 is the depot.
    demand, ready_time, due_date, service_time
        ``(n + 1,)`` arrays; row 0 is the depot.
    """

    name: str
    n_vehicles: int
    capacity: int
    xy: np.ndarray
    demand: np.ndarray
    ready_time: np.ndarray
    due_date: np.ndarray
    service_time: np.ndarray

    @property
    def n_customers(self) -> int:
        """Number of customers (depot excluded)."""
        return len(self.demand) - 1

    def distance_matrix(self) -> np.ndarray:
        """Return the ``(n + 1, n + 1)`` Euclidean distance matrix (unrounded)."""
        diff = self.xy[:, None, :] - self.xy[None, :, :]
        return np.sqrt((diff**2).sum(axis=-1))

    def to_problem(self) -> VrptwProblem:
        """Return the instance as a :class:`~geo.routing.vrptw.VrptwProblem`.

        Travel time equals distance; the fleet is the file's vehicle number, all at the
        depot, available over ``[ready_time[0], due_date[0]]``.
        """
        dist = self.distance_matrix()
        vehicle = VehicleType(
            count=self.n_vehicles,
            capacity=(int(self.capacity),),
            depot=0,
            tw_early=float(self.ready_time[0]),
            tw_late=float(self.due_date[0]),
        )
        return VrptwProblem(
            distance=dist,
            duration=dist,
            client_location=np.arange(1, len(self.demand)),
            demand=self.demand[1:].astype(np.int64)[:, None],
            tw_early=self.ready_time[1:].astype(float),
            tw_late=self.due_date[1:].astype(float),
            service=self.service_time[1:].astype(float),
            vehicle_types=(vehicle,),
            name=self.name,
        )


def _numbers(line: str, path: Path, line_no: int) -> list[float]:
    try:
        return [float(tok) for tok in line.split()]
    except ValueError:
        msg = f"{path.name}:{line_no}: expected numbers, got {line.strip()!r}"
        raise InstanceFormatError(msg) from None


def read_solomon(path: str | Path) -> SolomonInstance:
    """Read a Solomon or Gehring–Homberger instance file.

    Parameters
    ----------
    path
        The instance text file.

    Returns
    -------
    SolomonInstance
        The parsed instance; customer 0 is the depot.

    Raises
    ------
    InstanceFormatError
        When the vehicle section or the customer table is missing or malformed.
    """
    path = Path(path)
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    stripped = [ln.strip() for ln in lines]
    non_empty = [i for i, ln in enumerate(stripped) if ln]
    if not non_empty:
        msg = f"{path.name}: empty file"
        raise InstanceFormatError(msg)
    name = stripped[non_empty[0]]

    n_vehicles = capacity = None
    table_start = None
    for i, ln in enumerate(stripped):
        upper = ln.upper()
        if upper.startswith("NUMBER") and "CAPACITY" in upper and n_vehicles is None:
            for j in range(i + 1, len(stripped)):
                if stripped[j]:
                    vals = _numbers(stripped[j], path, j + 1)
                    if len(vals) < 2:
                        msg = f"{path.name}:{j + 1}: expected vehicle number and capacity"
                        raise InstanceFormatError(msg)
                    n_vehicles, capacity = int(vals[0]), int(vals[1])
                    break
        if upper.startswith("CUST"):
            table_start = i + 1
    if n_vehicles is None or capacity is None:
        msg = f"{path.name}: no VEHICLE NUMBER/CAPACITY section"
        raise InstanceFormatError(msg)
    if table_start is None:
        msg = f"{path.name}: no CUSTOMER table (header starting with 'CUST NO.')"
        raise InstanceFormatError(msg)

    rows: list[list[float]] = []
    for j in range(table_start, len(stripped)):
        if not stripped[j]:
            continue
        vals = _numbers(stripped[j], path, j + 1)
        if len(vals) < _N_COLUMNS:
            msg = f"{path.name}:{j + 1}: expected {_N_COLUMNS} columns, got {len(vals)}"
            raise InstanceFormatError(msg)
        rows.append(vals[:_N_COLUMNS])
    if len(rows) < 2:
        msg = f"{path.name}: customer table has {len(rows)} rows, need the depot and ≥ 1 customer"
        raise InstanceFormatError(msg)

    table = np.asarray(rows, dtype=float)
    ids = table[:, 0].astype(int)
    if ids[0] != 0 or not np.array_equal(ids, np.arange(len(ids))):
        msg = f"{path.name}: customer numbers must run 0..{len(ids) - 1} with the depot first"
        raise InstanceFormatError(msg)
    logger.debug("read %s: %d customers, %d vehicles", name, len(ids) - 1, n_vehicles)
    return SolomonInstance(
        name=name,
        n_vehicles=n_vehicles,
        capacity=capacity,
        xy=table[:, 1:3].copy(),
        demand=table[:, 3].astype(np.int64),
        ready_time=table[:, 4].copy(),
        due_date=table[:, 5].copy(),
        service_time=table[:, 6].copy(),
    )
