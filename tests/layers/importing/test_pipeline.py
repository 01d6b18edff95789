"""The entry point end to end: report format, layers, and rows turned into Facility records."""

from __future__ import annotations

import json

import pytest

from layers.errors import LayersError, ReadOnlyLayerError, UnknownLayerError
from layers.registry.importing import FIELDS, facility_fields, parse_import
from layers.registry.importing.columns import COMMON_SYNONYMS, LAYER_SYNONYMS
from layers.registry.importing.errors import ImportFileError
from layers.registry.importing.fields import COMPARED_FIELDS, INPUT_FIELDS
from layers.registry.schema import Facility
from tests.layers.importing.forms import (
    XUHUI_CSV,
    health_point_form,
    rest_room_form,
    service_centre_list,
    to_xlsx,
    training_site_form,
)


def test_report_is_json_with_bilingual_problems():
    result = parse_import(to_xlsx(health_point_form()), "申报表.xlsx", "health_point")
    report = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert report["ok"] is False
    assert report["summary"] == {"rows": 5, "rows_with_errors": 2, "errors": 2, "warnings": 2,
                                 "needs_geocoding": 3, "created": 3, "updated": 0,
                                 "unchanged": 0}
    problem = report["problems"][0]
    assert set(problem) >= {"row", "column", "column_letter", "value", "message_zh",
                            "message_en", "severity"}
    assert (problem["row"], problem["column"], problem["column_letter"]) == (6, "手机", "I")
    assert problem["severity"] == "error"
    assert "1391234567" in problem["message_zh"]
    assert "1391234567" in problem["message_en"]
    first_row = report["rows"][0]
    assert first_row["fields"]["hours"]["rules"] == [{"days": ["We"], "opens": "12:00", "closes": "13:00"}]
    assert first_row["needs_geocoding"] is True
    assert report["file"]["format"] == "xlsx"
    assert report["table"]["contact"]["district"] == "普陀区"


@pytest.mark.parametrize(
    ("grid", "layer"),
    [
        (health_point_form(), "health_point"),
        (rest_room_form(), "rest_room"),
        (training_site_form(), "training_site"),
        (service_centre_list(), "service_centre"),
    ],
)
def test_rows_without_errors_become_valid_facilities(grid, layer):
    result = parse_import(to_xlsx(grid), "form.xlsx", layer)
    good = [row for row in result.rows if not row.has_errors]
    assert good
    for number, row in enumerate(good):
        facility = Facility(id=f"{layer}:t{number}", source="test", **facility_fields(row, layer))
        assert facility.name == row.fields["name"]
        assert facility.location_precision == "unknown"


def test_located_rows_become_exact_facilities():
    result = parse_import(XUHUI_CSV.read_bytes(), XUHUI_CSV.name, "community_health")
    fields = facility_fields(result.rows[0], "community_health")
    facility = Facility(id="community_health:x1", source="HealthXuhui", **fields)
    assert facility.located
    assert facility.extra["postcode"] == "200032"
    assert facility.extra["source_crs"] == "bd09"


def test_unknown_and_read_only_layers():
    data = to_xlsx(service_centre_list())
    with pytest.raises(UnknownLayerError):
        parse_import(data, "a.xlsx", "canteen")
    with pytest.raises(ReadOnlyLayerError):
        parse_import(data, "a.xlsx", "hospital")


def test_import_file_error_is_a_layers_error_with_both_languages():
    with pytest.raises(LayersError) as caught:
        parse_import(b"", "a.xlsx", "health_point")
    error = caught.value
    assert isinstance(error, ImportFileError)
    assert error.status_code == 422
    assert error.to_dict() == {"error": "import_empty_file", "message_zh": "上传的文件是空的。",
                               "message_en": "the uploaded file is empty", "cells": []}
    assert error.message == "上传的文件是空的。 / the uploaded file is empty"


def test_vocabulary_is_the_one_place_field_names_live():
    mapped = set(COMMON_SYNONYMS) | {f for layer in LAYER_SYNONYMS.values() for f in layer}
    assert mapped <= INPUT_FIELDS
    assert set(COMPARED_FIELDS) <= set(FIELDS)
    result = parse_import(to_xlsx(health_point_form()), "hp.xlsx", "health_point")
    produced = {name for row in result.rows for name in row.fields}
    assert produced <= set(FIELDS)


def test_values_too_long_for_the_schema():
    from tests.layers.importing.forms import Grid, to_csv

    phones = "、".join(f"1380000{i:04d}" for i in range(10))  # 10 mobiles: 119 characters
    grid = Grid([["名称", "地址", "电话"], ["站" * 201, "漕溪路1号", phones],
                 ["二号站", "漕溪路2号", phones]])
    result = parse_import(to_csv(grid), "a.csv", "relay_station")
    assert [p.code for p in result.rows[0].problems] == ["name_too_long"]
    fields = facility_fields(result.rows[1], "relay_station")
    facility = Facility(id="relay_station:p", source="test", **fields)
    assert len(facility.phone) <= 80
    assert len(facility.extra["phones"]) == 10
    again = parse_import(to_csv(grid), "a.csv", "relay_station", existing=[facility])
    assert again.matches[0].action == "unchanged"
