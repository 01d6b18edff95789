"""CQL2 filters compiled to SQL: the same answers on SQLite and PostGIS, checked against
the records computed by hand (the ``open_same`` fixture runs every case on both)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from shapely.geometry import Point, Polygon, box

from layers.registry.schema import FacilityStatus, LocationPrecision
from layers.store import FacilityQuery
from layers.store.cql import CQLFilter, FilterError, compile_filter, parse_filter
from tests.layers.test_store import make_facility, open_same, postgis_database  # noqa: F401

# a 5 x 4 grid of points around People's Square, with varied attributes, and one unlocated
_GRID = [
    make_facility(
        "relay_station", f"g{i:02d}", lon=121.40 + 0.02 * (i % 5), lat=31.20 + 0.02 * (i // 5),
        name=("爱心接力站" if i % 3 == 0 else "Rest_Point 100%") + f" {i}",
        district=("黄浦区", "静安区", "徐汇区")[i % 3],
        status=(FacilityStatus.ACTIVE, FacilityStatus.NEW, FacilityStatus.CLOSED)[i % 3],
        capacity=i, area_m2=None if i % 4 == 0 else 10.5 * i, demo=i % 2 == 0,
        updated_at=datetime(2024, 1, 1 + i, 12, 0, tzinfo=UTC),
        last_verified=date(2024, 6, 1 + i) if i % 5 else None,
    )
    for i in range(20)
] + [
    make_facility("relay_station", "nowhere", lon=None, lat=None, district=None,
                  location_precision=LocationPrecision.UNKNOWN, capacity=3),
    make_facility("toilet", "other-layer", capacity=3),
]  # fmt: skip
_BY_ID = {f.id: f for f in _GRID if f.layer == "relay_station"}
_SQUARE = box(121.43, 31.21, 121.47, 31.25)
_TRIANGLE = Polygon([(121.43, 31.21), (121.47, 31.21), (121.47, 31.25)])


def _expected(predicate) -> list[str]:
    return sorted(i for i, f in _BY_ID.items() if predicate(f))


def _inside(f, geometry) -> bool:
    return f.located and geometry.intersects(Point(f.lon, f.lat))


CASES = [
    ("district = '黄浦区'", lambda f: f.district == "黄浦区"),
    ("status IN ('active', 'new') AND capacity >= 10",
     lambda f: f.status in ("active", "new") and (f.capacity or 0) >= 10),
    ("NOT (district = '黄浦区')", lambda f: f.district is not None and f.district != "黄浦区"),
    ("district IS NULL", lambda f: f.district is None),
    ("area_m2 IS NULL", lambda f: f.area_m2 is None),
    ("area_m2 BETWEEN 20 AND 60", lambda f: f.area_m2 is not None and 20 <= f.area_m2 <= 60),
    ("capacity < 3 OR capacity > 17", lambda f: f.capacity is not None and not 3 <= f.capacity <= 17),
    ("demo = true", lambda f: f.demo),
    ("name LIKE '爱心%'", lambda f: f.name.startswith("爱心")),
    # _ is one character, \% a literal percent sign; LIKE is case-sensitive
    ("name LIKE 'Rest\\_Point 100\\% 1_'", lambda f: f.name.startswith("Rest_Point 100% 1") and len(f.name) == 18),
    ("name LIKE 'rest%'", lambda f: False),
    ("updated_at > TIMESTAMP('2024-01-15T00:00:00Z')",
     lambda f: f.updated_at > datetime(2024, 1, 15, tzinfo=UTC)),
    ("last_verified <= DATE('2024-06-05')",
     lambda f: f.last_verified is not None and f.last_verified <= date(2024, 6, 5)),
    ("S_INTERSECTS(geometry, BBOX(121.43, 31.21, 121.47, 31.25))", lambda f: _inside(f, _SQUARE)),
    ("S_INTERSECTS(geometry, POLYGON((121.43 31.21, 121.47 31.21, 121.47 31.25, 121.43 31.21)))",
     lambda f: _inside(f, _TRIANGLE)),
    ("S_DISJOINT(geometry, BBOX(121.43, 31.21, 121.47, 31.25))",
     lambda f: f.located and not _inside(f, _SQUARE)),
    ("S_WITHIN(geometry, BBOX(121.43, 31.21, 121.47, 31.25)) AND district = '静安区'",
     lambda f: _SQUARE.contains(Point(f.lon, f.lat)) if f.located and f.district == "静安区" else False),
    ("S_INTERSECTS(geometry, POINT(121.44 31.22))", lambda f: (f.lon, f.lat) == (121.44, 31.22)),
    ('{"op": "and", "args": [{"op": "=", "args": [{"property": "district"}, "黄浦区"]},'
     ' {"op": "s_intersects", "args": [{"property": "geometry"},'
     ' {"bbox": [121.43, 31.21, 121.47, 31.25]}]}]}',
     lambda f: f.district == "黄浦区" and _inside(f, _SQUARE)),
]  # fmt: skip


@pytest.fixture
def grid_store(open_same):  # noqa: F811
    store = open_same()
    store.upsert_many(_GRID)
    return store


def test_filters_give_the_same_answer_as_python_on_each_backend(grid_store) -> None:
    for text, predicate in CASES:
        lang = "cql2-json" if text.startswith("{") else "cql2-text"
        page = grid_store.query(FacilityQuery(layer="relay_station", limit=100,
                                              filters=(parse_filter(text, lang),)))  # fmt: skip
        got = [f.id for f in page.items]
        assert got == _expected(predicate), text
        assert page.total == len(got), text


def test_a_filter_combines_with_bbox_paging_and_a_crs_transform(grid_store) -> None:
    from pyproj import Transformer

    to_utm = Transformer.from_crs("OGC:CRS84", "EPSG:32651", always_xy=True)
    back = Transformer.from_crs("EPSG:32651", "OGC:CRS84", always_xy=True)
    x1, y1 = to_utm.transform(121.43, 31.21)
    x2, y2 = to_utm.transform(121.47, 31.25)
    import shapely

    cql = parse_filter(f"S_INTERSECTS(geometry, BBOX({x1}, {y1}, {x2}, {y2}))")
    convert = CQLFilter(cql.node, lambda g: shapely.transform(
        g, lambda xy: __import__("numpy").column_stack(back.transform(xy[:, 0], xy[:, 1]))))  # fmt: skip
    page = grid_store.query(FacilityQuery(layer="relay_station", limit=2, offset=1,
                                          filters=(convert,)))  # fmt: skip
    expected = _expected(lambda f: _inside(f, _SQUARE))
    assert page.total == len(expected) > 3
    assert [f.id for f in page.items] == expected[1:3]


@pytest.mark.parametrize(("text", "message"), [
    ("district = ", "cannot be parsed"),
    ("colour = 'red'", "unknown property 'colour'"),
    ("capacity = 'ten'", "of type integer"),
    ("name = 3", "of type string"),
    ("updated_at > '2024-01-01'", "TIMESTAMP"),
    ("capacity + 1 = 3", "arithmetic"),
    ("S_CROSSES(geometry, POINT(121 31))", "S_CROSSES"),
    ("S_INTERSECTS(geometry, POLYGON((121 31, 122 32, 122 31, 121 32, 121 31)))", "not valid"),
    ("S_INTERSECTS(geometry, POINT(31 121))", "outside longitude"),
    ("S_INTERSECTS(district, POINT(121 31))", "needs the geometry"),
    ("geometry = 3", "S_INTERSECTS"),
])  # fmt: skip
def test_bad_filters_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(FilterError, match=message) as caught:
        compile_filter(parse_filter(text), "sqlite", "f.")
    assert caught.value.status_code == 400


def test_bad_json_filters_are_refused() -> None:
    for text, message in (("{not json", "not valid JSON"), ("[1]", "JSON object"),
                          ('{"op": "nope", "args": []}', "cannot be parsed")):  # fmt: skip
        with pytest.raises(FilterError, match=message):
            compile_filter(parse_filter(text, "cql2-json"), "postgres")
    with pytest.raises(FilterError, match="filter-lang"):
        parse_filter("a = 1", "ecql")


def test_literals_are_bound_parameters_never_sql_text() -> None:
    text = '{"op": "=", "args": [{"property": "name"}, "x\' OR 1=1 --"]}'
    sql, params = compile_filter(parse_filter(text, "cql2-json"), "postgres")
    assert "OR 1=1" not in sql
    assert params == ["x' OR 1=1 --"]
