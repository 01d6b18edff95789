"""Registry imports end to end on both stores: report, all-or-nothing, placing, re-import,
merge with OSM records, district rules, dry-run commits, exports that round-trip."""

from __future__ import annotations

import csv
import io
import threading

import pytest
from prcoords import bd_wgs_bored

from geo.crs import haversine_m
from layers.accounts.roles import Actor, Role
from layers.errors import ForbiddenError
from layers.registry import shipped
from layers.registry.exports import export_bytes
from layers.registry.geocoding import Geocoder
from layers.registry.importing import ImportFileError
from layers.registry.imports import ImportOptions, ImportService, UploadNotFoundError
from layers.registry.schema import FacilityStatus, ReviewState
from layers.registry.service import Registry
from layers.registry.workflow import RegistryWorkflow, all_records
from layers.store.records import RecordQuery
from tests.layers.importing.forms import (
    XUHUI_CSV,
    health_point_form,
    rest_room_form,
    to_csv,
    to_xlsx,
)
from tests.layers.test_store import open_same, postgis_database  # noqa: F401

PUTUO_EDITOR = Actor("putuo_editor", Role.EDITOR, "普陀区")
XUHUI_EDITOR = Actor("xuhui_editor", Role.EDITOR, "徐汇区")
REVIEWER = Actor("city_reviewer", Role.REVIEWER)
PLANNER = Actor("planner", Role.PLANNER)


@pytest.fixture
def imports(open_same):  # noqa: F811
    store = open_same()
    registry = Registry(store, shipped.DEFAULT_DATA_DIR)
    for layer in ("community_health", "health_point", "rest_room"):
        store.seed_registry_layer(layer, list(shipped.iter_facilities(registry.data_dir, layer)))
    workflow = RegistryWorkflow(store, district_at=registry.district_at,
                                on_published=registry.invalidate_layers)
    return ImportService(workflow, Geocoder(shipped.DEFAULT_DATA_DIR))


def _count(service: ImportService, layer: str) -> int:
    return service.store.list_records(RecordQuery(layer=layer, limit=0)).total


def _audit_lines(service: ImportService) -> int:
    return len(service.store.history(limit=100_000))


def test_a_form_with_errors_reports_excel_rows_and_writes_nothing(imports) -> None:
    data = to_xlsx(health_point_form())
    before, lines = _count(imports, "health_point"), _audit_lines(imports)
    report = imports.run(PUTUO_EDITOR, data, "普陀区健康服务点申报表.xlsx",
                         ImportOptions("health_point", dry_run=False))
    assert not report.committed
    rows = {e["row"] for e in report.errors}
    assert rows == {6, 7}  # the bad mobile and the missing name, as Excel numbers them
    bad_phone = next(e for e in report.errors if e["row"] == 6)
    assert bad_phone["value"] == "1391234567"
    assert bad_phone["message_zh"]
    assert bad_phone["message_en"]
    assert _count(imports, "health_point") == before
    assert _audit_lines(imports) == lines


def test_commit_valid_skips_the_bad_rows_in_one_transaction(imports) -> None:
    data = to_xlsx(health_point_form())
    report = imports.run(PUTUO_EDITOR, data, "form.xlsx",
                         ImportOptions("health_point", dry_run=False, commit_valid=True))
    assert report.committed
    assert report.count("skipped") == 2
    assert report.count("created") == 3
    created = [imports.store.get_record(o.record_id) for o in report.outcomes
               if o.action == "created"]
    by_name = {r.facility.name: r.facility for r in created}
    first = by_name["中环置业园区健康服务点"]
    assert first.review is ReviewState.DRAFT
    assert first.status is FacilityStatus.NEW
    assert first.park_name == "中环置业园区"
    assert first.n_workers == 1200
    assert first.district == "普陀区"  # from the contact block
    assert "12:00-13:00" in first.service_text
    assert first.contact.name == "张医生"
    assert by_name["曹杨园区健康服务点"].status is FacilityStatus.UPGRADED
    history = imports.store.history(facility_id=first.id)
    assert history[0].action == "import_create"
    assert history[0].source_file == "form.xlsx"
    assert history[0].source_row == 5
    assert history[0].import_id == report.import_id
    assert imports.store.get_import(report.import_id).committed


def test_reimporting_the_same_file_changes_nothing(imports) -> None:
    data = to_xlsx(rest_room_form())
    first = imports.run(PUTUO_EDITOR, data, "rest.xlsx", ImportOptions("rest_room", dry_run=False))
    assert first.committed
    assert first.count("created") == 3
    lines, count = _audit_lines(imports), _count(imports, "rest_room")
    again = imports.run(PUTUO_EDITOR, data, "rest.xlsx", ImportOptions("rest_room", dry_run=False))
    assert again.count("unchanged") == 3
    assert again.count("created") == again.count("updated") == 0
    assert _count(imports, "rest_room") == count
    assert _audit_lines(imports) == lines  # no audit line for unchanged rows


def test_rows_without_coordinates_are_placed_and_flagged_honestly(imports) -> None:
    report = imports.run(PUTUO_EDITOR, to_xlsx(rest_room_form()), "rest.xlsx",
                         ImportOptions("rest_room", dry_run=False))
    for outcome in report.outcomes:
        if outcome.action != "created":
            continue
        record = imports.store.get_record(outcome.record_id).facility
        assert outcome.placement is not None
        assert record.location_source
        if record.located:
            assert imports.workflow.district_at(record.lon, record.lat) == "普陀区" or \
                "outside_district" in record.flags
        if str(record.location_precision) in ("subdistrict", "district", "unknown"):
            assert record.flags, "a coarse placement must be flagged for review"


def test_the_xuhui_list_merges_with_the_osm_centres(imports) -> None:
    before = _count(imports, "community_health")
    report = imports.run(REVIEWER, XUHUI_CSV.read_bytes(), XUHUI_CSV.name,
                         ImportOptions("community_health", crs="bd09", dry_run=False))
    assert report.committed
    assert report.count("updated") == 7
    assert report.count("created") == 6
    assert _count(imports, "community_health") == before + 6
    rows = list(csv.DictReader(io.StringIO(XUHUI_CSV.read_text(encoding="utf-8"))))
    for outcome, row in zip(report.outcomes, rows, strict=True):
        record = imports.store.get_record(outcome.record_id).facility
        lat, lon = bd_wgs_bored((float(row["纬度_bd09"]), float(row["经度_bd09"])))
        assert haversine_m(record.lon, record.lat, lon, lat) < 5.0
        assert record.phone == row["电话"]
    created = {imports.store.get_record(o.record_id).facility.name for o in report.outcomes
               if o.action == "created"}
    assert {n[3:5] for n in created} == {"斜土", "徐家汇", "湖南", "漕河泾", "长桥", "华泾"} or \
        len(created) == 6
    again = imports.run(REVIEWER, XUHUI_CSV.read_bytes(), XUHUI_CSV.name,
                        ImportOptions("community_health", crs="bd09", dry_run=False))
    assert again.count("unchanged") == 13


def test_editors_import_only_their_district(imports) -> None:
    with pytest.raises(ForbiddenError):
        imports.run(PLANNER, to_xlsx(rest_room_form()), "rest.xlsx",
                    ImportOptions("rest_room", dry_run=False))
    report = imports.run(XUHUI_EDITOR, to_xlsx(health_point_form()), "putuo.xlsx",
                         ImportOptions("health_point", dry_run=False, commit_valid=True))
    assert not report.committed or report.count("created") == 0
    assert {e["code"] for e in report.errors} >= {"forbidden_district"}


@pytest.mark.parametrize("junk", [b"", b"\x89PNG\r\n\x1a\n" + bytes(200), b"PK\x03\x04broken"])
def test_junk_is_refused_without_writing(imports, junk: bytes) -> None:
    before = _count(imports, "health_point")
    with pytest.raises(ImportFileError) as info:
        imports.run(PUTUO_EDITOR, junk, "x.xlsx", ImportOptions("health_point", dry_run=False))
    assert info.value.message_zh
    assert info.value.message_en
    assert _count(imports, "health_point") == before


def test_a_dry_run_is_committed_once_by_its_uploader(imports) -> None:
    data = to_xlsx(rest_room_form())
    dry = imports.run(PUTUO_EDITOR, data, "rest.xlsx", ImportOptions("rest_room"))
    assert not dry.committed
    assert dry.count("created") == 3
    with pytest.raises(UploadNotFoundError):
        imports.commit_dry_run(XUHUI_EDITOR, dry.import_id)
    results: list[object] = []

    def commit() -> None:
        try:
            results.append(imports.commit_dry_run(PUTUO_EDITOR, dry.import_id).committed)
        except UploadNotFoundError:
            results.append("gone")

    threads = [threading.Thread(target=commit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(str, results)) == ["True", "gone", "gone", "gone"]
    names = [r.facility.name for r in all_records(imports.workflow, REVIEWER,
                                                  RecordQuery(layer="rest_room"))]
    assert names.count("普陀区中心医院护士休息室") == 1


def test_a_failure_in_the_middle_of_a_commit_leaves_nothing(imports, monkeypatch) -> None:
    from layers.store.records import RecordSQL

    calls = {"n": 0}
    original = RecordSQL.audit

    def failing(self, entry):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return original(self, entry)

    monkeypatch.setattr(RecordSQL, "audit", failing)
    before = _count(imports, "rest_room")
    with pytest.raises(RuntimeError):
        imports.run(PUTUO_EDITOR, to_xlsx(rest_room_form()), "rest.xlsx",
                    ImportOptions("rest_room", dry_run=False))
    assert _count(imports, "rest_room") == before


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_exports_round_trip_through_the_importer(imports, fmt: str) -> None:
    imports.run(PUTUO_EDITOR, to_csv(rest_room_form()), "rest.csv",
                ImportOptions("rest_room", dry_run=False))
    records = all_records(imports.workflow, REVIEWER, RecordQuery(layer="rest_room"))
    data = export_bytes("rest_room", records, fmt)
    again = imports.run(REVIEWER, data, f"export.{fmt}", ImportOptions("rest_room"))
    assert again.errors == []
    assert again.count("unchanged") == len(records)


def test_export_cells_never_run_as_formulas(imports) -> None:
    record = imports.workflow.create(PUTUO_EDITOR, "rest_room", {
        "name": "=HYPERLINK(\"http://x\",\"点我\")", "district": "普陀区", "address": "+1 路",
        "lon": 121.395, "lat": 31.249})
    text = export_bytes("rest_room", [record], "csv").decode("utf-8")
    assert "'=HYPERLINK" in text
    assert "'+1 路" in text
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(export_bytes("rest_room", [record], "xlsx"))).active
    values = [cell.value for cell in sheet[2]]
    assert "'=HYPERLINK(\"http://x\",\"点我\")" in values
    assert all(cell.data_type != "f" for cell in sheet[2])


def test_a_health_point_names_its_partner_centre(imports) -> None:
    imports.run(REVIEWER, XUHUI_CSV.read_bytes(), XUHUI_CSV.name,
                ImportOptions("community_health", crs="bd09", dry_run=False))
    rows = [["名称", "区", "地址", "合作社区卫生服务中心"],
            ["漕河泾园区健康服务点", "徐汇区", "宜山路900号", "漕河泾街道社区卫生服务中心"],
            ["田林园区健康服务点", "徐汇区", "田林路140号", "不存在的中心"]]
    from tests.layers.importing.forms import Grid

    report = imports.run(XUHUI_EDITOR, to_xlsx(Grid(rows)), "hp.xlsx",
                         ImportOptions("health_point", dry_run=False))
    assert report.committed
    first = imports.store.get_record(report.outcomes[0].record_id).facility
    centre = imports.store.get_record(first.partner_centre_id).facility
    assert centre.layer == "community_health"
    assert "漕河泾" in centre.name
    assert imports.store.get_record(report.outcomes[1].record_id).facility.partner_centre_id is None
    assert any(w["code"] == "partner_not_found" for w in report.warnings)
    with pytest.raises(Exception, match="not a community health centre"):
        imports.workflow.update(XUHUI_EDITOR, first.id, {"partner_centre_id": "hospital:x"},
                                imports.store.get_record(first.id).version)
