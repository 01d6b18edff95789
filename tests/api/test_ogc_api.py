"""OGC API - Features under /ogc, through the ASGI app (its own seeded SQLite registry)."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer

from api.main import create_app
from api.ogc.crs import CRS84, EPSG4326, UTM51N
from api.settings import Settings
from layers.accounts.roles import Actor, Role
from layers.registry.catalog import LAYERS
from layers.registry.workflow import RegistryWorkflow

BASE = "/ogc/collections"
BOX = (121.40, 31.20, 121.50, 31.25)
EAST = (121.47, 31.20, 121.50, 31.25)  # the east of Huangpu
EDITOR = Actor("huangpu_editor", Role.EDITOR, "黄浦区")


@pytest.fixture(scope="module")
def ogc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    state = tmp_path_factory.mktemp("ogc-state")
    settings = Settings(state_dir=Path(state), database_url=f"sqlite:///{state / 'r.db'}",
                        warm_up=False, job_concurrency=1)  # fmt: skip
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def _published(ogc: TestClient, layer: str) -> list[dict]:
    """Every published record of the layer, with and without a position (servicemap API)."""
    body = ogc.get(f"/api/v1/layers/{layer}/features", params={"limit": "10000"}).json()
    assert body["numberMatched"] == body["numberReturned"]
    return body["features"]


def _located_ids(ogc: TestClient, layer: str) -> list[str]:
    return [f["id"] for f in _published(ogc, layer) if f["geometry"] is not None]


def _all(ogc: TestClient, layer: str, **params: str) -> list[dict]:
    body = ogc.get(f"{BASE}/{layer}/items", params={"limit": "10000", **params}).json()
    assert body["numberMatched"] == body["numberReturned"]
    return body["features"]


def test_landing_page_links_lead_to_the_api_definition_conformance_and_data(ogc) -> None:
    body = ogc.get("/ogc").json()
    rels = {link["rel"]: link for link in body["links"]}
    assert {"self", "alternate", "service-desc", "service-doc", "conformance", "data"} <= set(rels)
    desc = ogc.get(rels["service-desc"]["href"])
    assert desc.status_code == 200
    assert desc.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    definition = desc.json()
    assert definition["openapi"].startswith("3.0")
    for layer in LAYERS:  # every collection's paths spelt out, with their parameters
        items_params = definition["paths"][f"/collections/{layer}/items"]["get"]["parameters"]
        assert {"#/components/parameters/filter", "#/components/parameters/bbox-crs"} <= {
            p["$ref"] for p in items_params}  # fmt: skip
        assert f"/collections/{layer}/items/{{featureId}}" in definition["paths"]
    bbox = definition["components"]["parameters"]["bbox"]
    assert (bbox["style"], bbox["explode"], bbox["schema"]["minItems"]) == ("form", False, 4)
    assert ogc.get(rels["service-doc"]["href"]).headers["content-type"].startswith("text/html")
    conformance = ogc.get(rels["conformance"]["href"]).json()["conformsTo"]
    for cls in ("ogcapi-features-1/1.0/conf/core", "ogcapi-features-1/1.0/conf/geojson",
                "ogcapi-features-2/1.0/conf/crs", "ogcapi-features-3/1.0/conf/filter",
                "cql2/1.0/conf/basic-cql2", "cql2/1.0/conf/cql2-json"):  # fmt: skip
        assert f"http://www.opengis.net/spec/{cls}" in conformance
    assert ogc.get(rels["data"]["href"]).status_code == 200


def test_every_layer_is_a_collection_with_storage_crs_and_crs_list(ogc) -> None:
    body = ogc.get(BASE).json()
    assert [c["id"] for c in body["collections"]] == list(LAYERS)
    for collection in body["collections"]:
        assert collection["storageCrs"] == CRS84
        assert collection["crs"] == [CRS84, EPSG4326, UTM51N]
        west, south, east, north = collection["extent"]["spatial"]["bbox"][0]
        assert 120.8 < west <= east < 122.3
        assert 30.6 < south <= north < 32.0
        assert {"items", "self", "alternate"} <= {link["rel"] for link in collection["links"]}
    one = ogc.get(f"{BASE}/training_site").json()
    assert one["id"] == "training_site"
    assert one["itemType"] == "feature"
    queryables = ogc.get(f"{BASE}/training_site/queryables")
    assert queryables.headers["content-type"].startswith("application/schema+json")
    props = queryables.json()["properties"]
    assert props["district"]["enum"][0] == "黄浦区"
    assert props["updated_at"]["format"] == "date-time"
    assert "contact" not in props  # staff-only fields are never queryable


def test_paging_follows_next_and_prev_links_through_every_feature(ogc) -> None:
    located = _located_ids(ogc, "training_site")
    assert len(located) > 20
    url = f"{BASE}/training_site/items?limit=10"
    seen, pages = [], 0
    while url:
        body = ogc.get(url).json()
        assert body["numberMatched"] == len(located)
        assert body["numberReturned"] == len(body["features"]) <= 10
        seen += [f["id"] for f in body["features"]]
        links = {link["rel"]: link["href"] for link in body["links"]}
        assert ("prev" in links) == (pages > 0)
        url, pages = links.get("next"), pages + 1
    assert pages == -(-len(located) // 10)
    assert seen == sorted(set(seen)) == located
    assert ogc.get(f"{BASE}/training_site/items?offset=30").json()["numberReturned"] == 0


def test_bbox_in_each_crs_selects_the_points_inside(ogc) -> None:
    everything = _all(ogc, "relay_station")
    west, south, east, north = BOX
    inside = sorted(f["id"] for f in everything if f["geometry"] and
                    west <= f["geometry"]["coordinates"][0] <= east and
                    south <= f["geometry"]["coordinates"][1] <= north)  # fmt: skip
    assert 10 < len(inside) < len(everything)
    crs84 = _all(ogc, "relay_station", bbox=",".join(map(str, BOX)))
    assert [f["id"] for f in crs84] == inside
    lat_first = _all(ogc, "relay_station", bbox=f"{south},{west},{north},{east}",
                     **{"bbox-crs": EPSG4326})  # fmt: skip
    assert [f["id"] for f in lat_first] == inside
    # a UTM box a little inside the degrees box: a subset, not empty
    utm = Transformer.from_crs("OGC:CRS84", "EPSG:32651", always_xy=True)
    x1, y1 = utm.transform(west + 0.01, south + 0.01)
    x2, y2 = utm.transform(east - 0.01, north - 0.01)
    projected = _all(ogc, "relay_station", bbox=f"{x1},{y1},{x2},{y2}",
                     **{"bbox-crs": "EPSG:32651"})  # fmt: skip
    assert 0 < len(projected) < len(inside)
    assert {f["id"] for f in projected} <= set(inside)


def test_crs_parameter_sets_the_coordinates_and_the_content_crs_header(ogc) -> None:
    plain = ogc.get(f"{BASE}/training_site/items/training_site:site-01")
    assert plain.headers["content-crs"] == f"<{CRS84}>"
    lon, lat = plain.json()["geometry"]["coordinates"]
    swapped = ogc.get(f"{BASE}/training_site/items/training_site:site-01", params={"crs": EPSG4326})
    assert swapped.headers["content-crs"] == f"<{EPSG4326}>"
    assert swapped.json()["geometry"]["coordinates"] == [lat, lon]
    utm = ogc.get(f"{BASE}/training_site/items", params={"crs": UTM51N, "limit": "1"})
    assert utm.headers["content-crs"] == f"<{UTM51N}>"
    x, y = Transformer.from_crs("OGC:CRS84", "EPSG:32651", always_xy=True).transform(lon, lat)
    assert utm.json()["features"][0]["geometry"]["coordinates"] == pytest.approx([x, y], abs=0.01)


def test_district_status_and_filter_parameters_narrow_the_items(ogc) -> None:
    everything = _all(ogc, "relay_station")
    huangpu = _all(ogc, "relay_station", district="黄浦区")
    assert [f["id"] for f in huangpu] == [f["id"] for f in everything
                                          if f["properties"]["district"] == "黄浦区"]  # fmt: skip
    assert 0 < len(huangpu) < len(everything)
    statuses = _all(ogc, "health_point", status="new,upgraded")
    assert statuses
    assert {f["properties"]["status"] for f in statuses} <= {"new", "upgraded"}
    text = _all(ogc, "relay_station", filter="district = '黄浦区' AND S_INTERSECTS(geometry, "
                f"BBOX({','.join(map(str, EAST))}))")  # fmt: skip
    as_json = _all(ogc, "relay_station", **{"filter-lang": "cql2-json", "filter": (
        '{{"op":"and","args":[{{"op":"=","args":[{{"property":"district"}},"黄浦区"]}},'
        '{{"op":"s_intersects","args":[{{"property":"geometry"}},{{"bbox":[{}]}}]}}]}}'.format(",".join(map(str, EAST))))})  # fmt: skip
    by_params = _all(ogc, "relay_station", district="黄浦区", bbox=",".join(map(str, EAST)))
    assert [f["id"] for f in text] == [f["id"] for f in as_json] == [f["id"] for f in by_params]
    assert 0 < len(text) < len(huangpu)


def test_datetime_matches_the_last_update(ogc) -> None:
    registry = ogc.app.state.registry
    record = registry.get("training_site:site-02")
    stamp = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)
    registry.upsert([record.model_copy(update={"updated_at": stamp})])
    for value in ("2031-03-04T05:06:07Z", "2031-03-04", "2031-01-01T00:00:00Z/..",
                  "2031-03-01/2031-03-31"):  # fmt: skip
        found = _all(ogc, "training_site", datetime=value)
        assert [f["id"] for f in found] == ["training_site:site-02"], value
    before = _all(ogc, "training_site", datetime="../2030-12-31T23:59:59Z")
    assert len(before) == len(_located_ids(ogc, "training_site")) - 1
    bad = ogc.get(f"{BASE}/training_site/items", params={"datetime": "2031-05-01/2031-01-01"})
    assert bad.status_code == 400
    assert "ends before" in bad.json()["message"]


@pytest.mark.parametrize(("params", "message"), [
    ({"bbox": "1,2,3"}, "4 or 6"),
    ({"bbox": "121,31,abc,32"}, "numbers"),
    ({"bbox": "122,31,121,32"}, "lower corner"),
    ({"bbox": "121,31,122,nan"}, "finite"),
    ({"bbox": "31,121,32,122", "bbox-crs": CRS84}, "outside longitude"),
    ({"bbox-crs": EPSG4326}, "needs a bbox"),
    ({"limit": "0"}, "between 1 and"),
    ({"limit": "10001"}, "between 1 and"),
    ({"limit": "ten"}, "integer"),
    ({"offset": "-1"}, "between 0"),
    ({"colour": "red"}, "unknown query parameter 'colour'"),
    ({"crs": "EPSG:3857"}, "not supported"),
    ({"f": "shapefile"}, "not offered"),
    ({"district": "火星区"}, "unknown district"),
    ({"status": "open"}, "unknown status"),
    ({"datetime": "yesterday"}, "RFC 3339"),
    ({"filter": "district = "}, "cannot be parsed"),
    ({"filter": "colour = 'red'"}, "unknown property"),
    ({"filter": "capacity > 'x'"}, "type integer"),
    ({"filter": "{", "filter-lang": "cql2-json"}, "not valid JSON"),
    ({"filter": "a = 1", "filter-lang": "ecql"}, "filter-lang"),
    ({"filter-crs": UTM51N}, "need a filter"),
])  # fmt: skip
def test_bad_items_parameters_are_400_with_a_message(ogc, params, message) -> None:
    response = ogc.get(f"{BASE}/relay_station/items", params=params)
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]


def test_unknown_collections_and_features_are_404(ogc) -> None:
    for url in (f"{BASE}/nope", f"{BASE}/nope/items", f"{BASE}/nope/queryables",
                f"{BASE}/training_site/items/training_site:nope",
                f"{BASE}/hospital/items/training_site:site-01"):  # another layer's feature
        assert ogc.get(url).status_code == 404, url
    assert ogc.get("/ogc/conformance", params={"x": "1"}).status_code == 400


def test_only_published_records_are_served(ogc) -> None:
    registry = ogc.app.state.registry
    flow = RegistryWorkflow(registry.store, district_at=registry.district_at)
    draft = flow.create(EDITOR, "training_site", {"name": "草稿站点 draft", "district": "黄浦区",
                                                  "lon": 121.47, "lat": 31.23})  # fmt: skip
    published = registry.get("training_site:site-03")
    edited = flow.update(EDITOR, published.id, {"name": "未审核的新名字"},
                         expected_version=registry.store.get_record(published.id).version)
    assert edited.facility.name == "未审核的新名字"  # the working copy changed ...
    ids = [f["id"] for f in _all(ogc, "training_site")]
    assert draft.facility.id not in ids
    assert published.id in ids
    assert ogc.get(f"{BASE}/training_site/items/{draft.facility.id}").status_code == 404
    shown = ogc.get(f"{BASE}/training_site/items/{published.id}").json()
    assert shown["properties"]["name"] == published.name
    by_name = _all(ogc, "training_site", filter="name LIKE '%draft%' OR name = '未审核的新名字'")
    assert by_name == []
    assert "contact" not in shown["properties"] or shown["properties"]["contact"] is None


def test_cors_header_on_get(ogc) -> None:
    for url in ("/ogc", f"{BASE}/training_site/items"):
        response = ogc.get(url, headers={"Origin": "https://example.org"})
        assert response.headers["access-control-allow-origin"] == "*"
        assert "Content-Crs" in response.headers["access-control-expose-headers"]


def test_formats_by_f_and_accept_with_alternate_links(ogc) -> None:
    items = ogc.get(f"{BASE}/training_site/items", params={"limit": "5"})
    assert items.headers["content-type"] == "application/geo+json"
    alternates = {link["type"] for link in items.json()["links"] if link["rel"] == "alternate"}
    assert {"text/html", "application/geopackage+sqlite3", "text/csv",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"} <= alternates
    page = ogc.get(f"{BASE}/training_site/items", headers={"Accept": "text/html,*/*;q=0.8"})
    assert page.headers["content-type"].startswith("text/html")
    assert "<table>" in page.text
    assert ogc.get("/ogc/collections", headers={"Accept": "text/html"}).text.count("<tr>") == 16
    csv = ogc.get(f"{BASE}/training_site/items", params={"f": "csv"})
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("id,lon,lat,")
    located = len(_located_ids(ogc, "training_site"))
    assert len(lines) == 1 + located
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(ogc.get(f"{BASE}/training_site/items?f=xlsx").content)).active
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["id", "lon", "lat"]
    assert sheet.max_row == 1 + located
    assert 121 < sheet.cell(2, 2).value < 122
    assert 30 < sheet.cell(2, 3).value < 32


def test_geopackage_reads_back_with_gdal(ogc) -> None:
    import pyogrio

    body = ogc.get(f"{BASE}/relay_station/items", params={"f": "gpkg", "limit": "50",
                                                          "crs": UTM51N}).content  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.gpkg"
        path.write_bytes(body)
        info = pyogrio.read_info(path)
        frame = pyogrio.read_dataframe(path)
    assert info["features"] == 50
    assert info["crs"] == "EPSG:32651"
    assert frame.geometry.x.between(300_000, 400_000).all()


def test_html_escapes_every_value(ogc) -> None:
    registry = ogc.app.state.registry
    record = registry.get("training_site:site-04")
    registry.upsert([record.model_copy(update={"name": "<script>alert(1)</script>&"})])
    page = ogc.get(f"{BASE}/training_site/items/{record.id}", params={"f": "html"}).text
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;" in page
    listing = ogc.get(f"{BASE}/training_site/items", params={"f": "html"}).text
    assert "<script>" not in listing


def test_records_without_a_position_are_not_features(ogc) -> None:
    published = _published(ogc, "service_centre")
    unlocated = [f["id"] for f in published if f["geometry"] is None]
    assert 0 < len(unlocated) < len(published)
    features = _all(ogc, "service_centre")
    assert [f["id"] for f in features] == _located_ids(ogc, "service_centre")
    assert all(f["geometry"]["type"] == "Point" for f in features)
    missing = ogc.get(f"{BASE}/service_centre/items/{unlocated[0]}")
    assert missing.status_code == 404
    assert "no known position" in missing.json()["message"]
    collection = ogc.get(f"{BASE}/service_centre").json()
    assert f"{len(unlocated)} published records have no known position" in (
        collection["description"])  # fmt: skip
    related = next(link for link in collection["links"] if link["rel"] == "related")
    assert related["href"].endswith("/api/v1/layers/service_centre/features")
    relay = ogc.get(f"{BASE}/relay_station").json()  # every relay station is located
    assert "no known position" not in relay["description"]
    assert "related" not in {link["rel"] for link in relay["links"]}


def test_items_answer_head_with_link_header_and_time_stamp(ogc) -> None:
    url = f"{BASE}/training_site/items"
    got = ogc.get(url, params={"limit": "5", "district": "黄浦区"})
    head = ogc.head(url, params={"limit": "5", "district": "黄浦区"})
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["link"] == got.headers["link"]
    header_links = [part.split(";") for part in got.headers["link"].split(", ")]
    body_links = got.json()["links"]
    assert [(p[0].strip("<>"), p[1].strip()) for p in header_links] == [
        (link["href"], f'rel="{link["rel"]}"') for link in body_links]  # fmt: skip
    rels = {link["rel"] for link in body_links}
    assert {"self", "alternate", "http://www.opengis.net/def/rel/ogc/1.0/queryables"} <= rels
    stamp = datetime.fromisoformat(got.json()["timeStamp"])
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60
    item = ogc.head(f"{BASE}/training_site/items/training_site:site-01")
    assert item.status_code == 200
    assert 'rel="collection"' in item.headers["link"]
