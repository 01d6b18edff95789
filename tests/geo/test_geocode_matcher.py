"""The offline matcher on the shipped gazetteer: real OSM names, metro stations, roads, areas."""

from __future__ import annotations

import time

import pytest

from geo.crs import from_wgs84, haversine_m
from geo.geocode.gazetteer import Gazetteer, head_score
from geo.geocode.matcher import GeocodeQuery, OfflineGeocoder, host_name
from geo.geocode.placement import Precision
from layers.registry.gazetteer_io import load_gazetteer
from layers.registry.shipped import DEFAULT_DATA_DIR


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer(DEFAULT_DATA_DIR)


@pytest.fixture(scope="module")
def geocoder(gazetteer: Gazetteer) -> OfflineGeocoder:
    return OfflineGeocoder(gazetteer)


def _entry(gazetteer: Gazetteer, name: str, kind: str | None = None) -> int:
    found = [i for i, n in enumerate(gazetteer.names) if n == name and (kind is None or gazetteer.kinds[i] == kind)]
    assert found, f"{name} is not in the shipped gazetteer"
    return found[0]


@pytest.mark.parametrize(
    ("query", "name", "kind"),
    [
        (GeocodeQuery(name="瑞金医院", district="黄浦区"), "上海交通大学医学院附属瑞金医院", "hospital"),
        (GeocodeQuery(name="上海市徐汇区田林街道社区卫生服务中心", district="徐汇区"),
         "田林街道社区卫生服务中心", "community_health"),
        (GeocodeQuery(name="徐家汇地铁站"), "徐家汇", "metro_station"),
        (GeocodeQuery(name="世纪公园", district="浦东"), "世纪公园", "park"),
        (GeocodeQuery(name="远中产业园三期", district="徐汇区"), "远中产业园三期", "commercial_area"),
        (GeocodeQuery(name="复地四季广场职工健身驿站", district="杨浦区"), "复地四季广场", "commercial_area"),
        (GeocodeQuery(name="某某职工服务站", district="静安区", park_name="静安公园"), "静安公园", "park"),
    ],
)
def test_named_places_are_placed_at_their_osm_point(
    geocoder: OfflineGeocoder, gazetteer: Gazetteer, query: GeocodeQuery, name: str, kind: str
) -> None:
    placement = geocoder.place(query)
    index = _entry(gazetteer, name, kind)
    assert placement.precision is Precision.BUILDING
    assert placement.source == f"gazetteer:{gazetteer.ids[index]}"
    assert placement.lon == pytest.approx(gazetteer.lon[index])
    assert placement.candidates[0].distance_m == pytest.approx(0.0, abs=1.0)
    assert not placement.outside_named_district


def test_neighbouring_subdistrict_centres_are_not_confused(geocoder: OfflineGeocoder) -> None:
    # 田林 and 枫林 differ by one character; the generic tail must not carry the match
    placement = geocoder.place(GeocodeQuery(name="徐汇区枫林街道社区卫生服务中心", district="徐汇区"))
    assert placement.matched_name == "枫林街道社区卫生服务中心"
    assert head_score("田林街道社区卫生服务中心", "枫林街道社区卫生服务中心") < 86
    assert head_score("斜土街道社区卫生服务中心", "社区卫生服务中心") < 86


def test_address_point_with_house_number_is_exact(geocoder: OfflineGeocoder, gazetteer: Gazetteer) -> None:
    placement = geocoder.place(GeocodeQuery(name="某公司", address="上海市浦东新区世纪大道100号"))
    index = _entry(gazetteer, "上海环球金融中心")
    assert placement.precision is Precision.EXACT
    assert placement.source == f"gazetteer:{gazetteer.ids[index]}"
    assert placement.district == "浦东新区"


def test_road_midpoint_within_district_when_no_name_matches(geocoder: OfflineGeocoder, gazetteer: Gazetteer) -> None:
    placement = geocoder.place(GeocodeQuery(name="不存在的单位", address="徐汇区零陵北路2号"))
    assert placement.precision is Precision.ROAD
    assert placement.source == "gazetteer:road"
    assert placement.matched_name == "零陵北路"
    assert placement.district == "徐汇区"
    road = next(
        gazetteer.roads[i] for i in gazetteer.find_roads("零陵北路") if gazetteer.roads[i].district == "徐汇区"
    )
    assert float(haversine_m(placement.lon, placement.lat, road.lon, road.lat)) < road.length_m


def test_cross_street_gives_the_crossing(geocoder: OfflineGeocoder, gazetteer: Gazetteer) -> None:
    plain = geocoder.place(GeocodeQuery(address="黄浦区西藏中路100号"))
    crossed = geocoder.place(GeocodeQuery(address="黄浦区西藏中路100号（近福州路）"))
    assert crossed.precision is Precision.ROAD
    assert "road crossing" in crossed.notes
    assert crossed.uncertainty_m is not None
    assert plain.uncertainty_m is not None
    assert crossed.uncertainty_m < plain.uncertainty_m
    # the crossing is on both roads
    station = _entry(gazetteer, "人民广场", "metro_station")
    assert float(haversine_m(crossed.lon, crossed.lat, gazetteer.lon[station], gazetteer.lat[station])) < 800


def test_subdistrict_fallback_is_flagged(geocoder: OfflineGeocoder) -> None:
    placement = geocoder.place(GeocodeQuery(name="某单位", address="闵行区七宝镇某某路1号"))
    assert placement.precision is Precision.SUBDISTRICT
    assert placement.needs_review
    assert "coarse_precision" in placement.reasons


def test_district_only(geocoder: OfflineGeocoder) -> None:
    placement = geocoder.place(GeocodeQuery(name="无名单位", district="崇明区"))
    assert placement.precision is Precision.DISTRICT
    assert placement.district == "崇明区"
    assert placement.needs_review


def test_nothing_known_is_unknown(geocoder: OfflineGeocoder) -> None:
    placement = geocoder.place(GeocodeQuery(name="某某"))
    assert placement.precision is Precision.UNKNOWN
    assert not placement.located
    assert placement.needs_review


def test_other_province_is_not_placed(geocoder: OfflineGeocoder) -> None:
    placement = geocoder.place(GeocodeQuery(name="某店", address="江苏省昆山市前进路1号"))
    assert placement.precision is Precision.UNKNOWN
    assert "address_outside_shanghai" in placement.reasons


def test_chain_names_far_apart_are_ambiguous(geocoder: OfflineGeocoder) -> None:
    placement = geocoder.place(GeocodeQuery(name="招商银行", district="浦东新区"))
    assert placement.precision is not Precision.BUILDING
    assert "ambiguous_name" in placement.reasons
    assert len(placement.candidates) >= 2


@pytest.mark.parametrize("crs", ["wgs84", "gcj02", "bd09"])
def test_sheet_coordinates_are_converted(geocoder: OfflineGeocoder, crs: str) -> None:
    lon, lat = 121.4737, 31.2304
    x, y = from_wgs84(lon, lat, crs)
    placement = geocoder.place(GeocodeQuery(name="某站", district="黄浦区", lon=x, lat=y, crs=crs))
    assert placement.precision is Precision.EXACT
    assert float(haversine_m(lon, lat, placement.lon, placement.lat)) < 0.5
    assert placement.district == "黄浦区"


def test_swapped_sheet_coordinates_are_fixed_and_flagged(geocoder: OfflineGeocoder) -> None:
    placement = geocoder.place(GeocodeQuery(name="某站", lon=31.2304, lat=121.4737))
    assert placement.lon == pytest.approx(121.4737)
    assert "sheet_coordinates_swapped" in placement.reasons


def test_sheet_far_from_named_place_is_flagged(geocoder: OfflineGeocoder) -> None:
    # 瑞金医院 given with a point in Pudong: probably a wrong column or CRS
    placement = geocoder.place(GeocodeQuery(name="瑞金医院", district="黄浦区", lon=121.55, lat=31.23))
    assert placement.precision is Precision.EXACT
    assert "sheet_far_from_named_place" in placement.reasons


def test_outside_named_district_is_flagged(geocoder: OfflineGeocoder) -> None:
    placement = geocoder.place(GeocodeQuery(name="某站", district="松江区", lon=121.4737, lat=31.2304))
    assert placement.district == "黄浦区"
    assert placement.outside_named_district
    assert "outside_named_district" in placement.reasons


def test_host_name() -> None:
    assert host_name("恒隆广场职工健身驿站") == "恒隆广场"
    assert host_name("户外职工爱心接力站") is None
    assert host_name("瑞金医院") is None


def test_placing_is_fast(geocoder: OfflineGeocoder) -> None:
    queries = [
        GeocodeQuery(name="上海市徐汇区田林街道社区卫生服务中心", address="上海市徐汇区柳州路500号", district="徐汇区"),
        GeocodeQuery(name="某公司", address="普陀区长征镇金沙江路1759号（近真北路）"),
        GeocodeQuery(name="瑞金医院", district="黄浦区"),
    ] * 100
    for query in queries[:3]:
        geocoder.place(query)
    started = time.perf_counter()
    for query in queries:
        geocoder.place(query)
    per_row_ms = (time.perf_counter() - started) / len(queries) * 1000
    assert per_row_ms < 5.0  # the benchmark measures the real figure; this guards regressions
