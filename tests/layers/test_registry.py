"""The registry service: seeding policy, index invalidation, filters, read-only layers."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from layers.errors import FacilityNotFoundError, ReadOnlyLayerError, UnknownLayerError
from layers.registry.hours import SHANGHAI, HoursRule, OpeningHours
from layers.registry.schema import Facility, FacilityStatus
from layers.registry.service import Registry
from layers.store import open_store

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry database seeded once from the shipped data (copied for each test)."""
    path = tmp_path_factory.mktemp("seeded") / "registry.db"
    with open_store(f"sqlite:///{path}") as store:
        Registry(store, REPO / "data").seed_from_shipped()
    return path


@pytest.fixture
def registry(seeded_db: Path, tmp_path: Path) -> Iterator[Registry]:
    copy = tmp_path / "registry.db"
    shutil.copyfile(seeded_db, copy)
    store = open_store(f"sqlite:///{copy}")
    service = Registry(store, REPO / "data")
    yield service
    store.close()


def _relay(ident: str, lon: float, lat: float, **fields: object) -> Facility:
    return Facility(id=f"relay_station:{ident}", layer="relay_station", name=f"站 {ident}",
                    lon=lon, lat=lat, source="test", **fields)


def test_seeding_is_skipped_when_up_to_date(registry: Registry) -> None:
    assert registry.seed_from_shipped() == {}
    assert registry.store.counts()["training_site"] == 25


def test_reseed_keeps_registry_edits_but_refreshes_context(registry: Registry) -> None:
    registry.upsert([_relay("edited", 121.47, 31.23)])
    registry.store.set_meta("data_version", "older")
    written = registry.seed_from_shipped()
    assert "relay_station" not in written  # registry layers are never overwritten
    assert "hospital" in written  # context layers follow the shipped data
    assert registry.store.get("relay_station:edited") is not None


def test_new_facility_is_visible_to_the_next_query(registry: Registry) -> None:
    lon, lat = 121.4001, 31.1001
    before = registry.nearest(lon, lat, "relay_station", k=1)[0]
    assert before.facility.id != "relay_station:fresh"
    registry.upsert([_relay("fresh", lon, lat)])
    after = registry.nearest(lon, lat, "relay_station", k=1)[0]
    assert after.facility.id == "relay_station:fresh"
    assert after.distance_m < 0.01
    registry.delete("relay_station:fresh")
    assert registry.nearest(lon, lat, "relay_station", k=1)[0].facility.id == before.facility.id


def test_closed_and_red_card_facilities_are_not_offered(registry: Registry) -> None:
    lon, lat = 121.4002, 31.1002
    registry.upsert([
        _relay("closed", lon, lat, status=FacilityStatus.CLOSED),
        _relay("red", lon, lat, status=FacilityStatus.RED_CARD),
    ])
    ids = [hit.facility.id for hit in registry.nearest(lon, lat, "relay_station", k=3)]
    assert "relay_station:closed" not in ids
    assert "relay_station:red" not in ids
    all_statuses = registry.nearest(lon, lat, "relay_station", k=2, statuses=list(FacilityStatus))
    assert {hit.facility.id for hit in all_statuses} == {"relay_station:closed", "relay_station:red"}


def test_open_at_uses_shanghai_time(registry: Registry) -> None:
    lon, lat = 121.4003, 31.1003
    lunch = OpeningHours(rules=[HoursRule(days=["Mo", "Tu", "We", "Th", "Fr"],
                                          opens="11:30", closes="13:30")])
    registry.upsert([_relay("lunch", lon, lat, hours=lunch)])
    monday_noon = datetime(2026, 11, 23, 12, 0, tzinfo=SHANGHAI)
    monday_evening = datetime(2026, 11, 23, 19, 0, tzinfo=SHANGHAI)
    assert registry.nearest(lon, lat, "relay_station", k=1, open_at=monday_noon)[0].facility.id == (
        "relay_station:lunch"
    )
    evening = registry.nearest(lon, lat, "relay_station", k=1, open_at=monday_evening)[0]
    assert evening.facility.id != "relay_station:lunch"


def test_context_layers_are_read_only(registry: Registry) -> None:
    hospital = Facility(id="hospital:x", layer="hospital", name="x", lon=121.4, lat=31.2,
                        source="test")
    with pytest.raises(ReadOnlyLayerError, match="read-only"):
        registry.upsert([_relay("ok", 121.4, 31.2), hospital])
    assert registry.store.get("relay_station:ok") is None  # nothing of the batch was written


def test_errors_for_unknown_layer_and_facility(registry: Registry) -> None:
    with pytest.raises(UnknownLayerError, match="valid layers"):
        registry.nearest(121.4, 31.2, "bus_stop")
    with pytest.raises(FacilityNotFoundError, match="nope"):
        registry.get("relay_station:nope")


@pytest.mark.parametrize(
    ("lon", "lat", "inside"),
    [(121.4705745, 31.2346189, True), (121.77, 31.15, True), (116.39, 39.9, False),
     (122.6, 31.0, False)],
)
def test_service_area(registry: Registry, lon: float, lat: float, inside: bool) -> None:
    assert registry.in_service_area(lon, lat) is inside
