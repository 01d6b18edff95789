"""The review workflow on both stores: edits, review, cards, audit, concurrency."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from layers.accounts.roles import Actor, Role
from layers.errors import (
    FacilityNotFoundError,
    ForbiddenError,
    InvalidFacilityError,
    InvalidTransitionError,
    StaleVersionError,
)
from layers.registry.schema import CardKind, FacilityStatus, LocationPrecision, ReviewState
from layers.registry.workflow import FLAG_COARSE, FLAG_OUTSIDE, RegistryWorkflow
from layers.store.records import RecordQuery
from tests.layers.test_store import make_facility, open_same, postgis_database  # noqa: F401

EDITOR = Actor("putuo_editor", Role.EDITOR, "普陀区")
OTHER_EDITOR = Actor("xuhui_editor", Role.EDITOR, "徐汇区")
REVIEWER = Actor("city_reviewer", Role.REVIEWER)
PLANNER = Actor("planner", Role.PLANNER)
TODAY = date(2026, 12, 2)
# a point inside 普陀区 and one inside 徐汇区
PUTUO = (121.3950, 31.2490)
XUHUI = (121.4360, 31.1880)


def _district_at(lon: float, lat: float) -> str | None:
    return "普陀区" if lon < 121.42 else "徐汇区"


@pytest.fixture
def flow(open_same):  # noqa: F811
    store = open_same()
    published: list[set[str]] = []
    workflow = RegistryWorkflow(store, district_at=_district_at, on_published=published.append,
                                today=lambda: TODAY)
    workflow.published = published  # type: ignore[attr-defined]
    return workflow


def _fields(**extra):
    return {"name": "金沙江路爱心接力站", "district": "普陀区", "address": "金沙江路1759号",
            "lon": PUTUO[0], "lat": PUTUO[1], "services": ["water", "charging"], **extra}


def _published_ids(flow) -> set[str]:
    return {f.id for f in flow.store.all_in_layer("relay_station")}


def test_a_record_reaches_workers_only_when_approved(flow) -> None:
    created = flow.create(EDITOR, "relay_station", _fields())
    assert created.facility.review is ReviewState.DRAFT
    assert created.version == 1
    assert not created.published
    assert created.facility.id not in _published_ids(flow)
    submitted = flow.submit(EDITOR, [created.facility.id])[0]
    assert submitted.facility.review is ReviewState.SUBMITTED
    assert created.facility.id not in _published_ids(flow)
    approved = flow.approve(REVIEWER, [created.facility.id], comment="checked on site")[0]
    assert approved.published
    assert approved.facility.review is ReviewState.APPROVED
    assert approved.facility.last_verified == TODAY
    public = flow.store.get(created.facility.id)
    assert public is not None
    assert public.name == "金沙江路爱心接力站"
    assert flow.published[-1] == {"relay_station"}


def test_an_edit_of_a_published_record_waits_for_approval(flow) -> None:
    rid = flow.create(EDITOR, "relay_station", _fields()).facility.id
    flow.submit(EDITOR, [rid])
    record = flow.approve(REVIEWER, [rid])[0]
    edited = flow.update(EDITOR, rid, {"phone": "021-62001234"}, record.version)
    assert edited.facility.review is ReviewState.DRAFT
    assert edited.published
    assert flow.store.get(rid).phone is None  # workers still see the approved copy
    flow.submit(EDITOR, [rid])
    items, total = flow.queue(REVIEWER)
    assert total == 1
    assert items[0].changes["phone"] == [None, "021-62001234"]
    flow.approve(REVIEWER, [rid])
    assert flow.store.get(rid).phone == "021-62001234"


def test_a_stale_version_is_refused_and_nothing_is_written(flow) -> None:
    created = flow.create(EDITOR, "relay_station", _fields())
    rid = created.facility.id
    flow.update(EDITOR, rid, {"phone": "13812345678"}, created.version)
    with pytest.raises(StaleVersionError, match="version 1, it is now at version 2"):
        flow.update(EDITOR, rid, {"phone": "13900000000"}, created.version)
    assert flow.store.get_record(rid).facility.phone == "13812345678"


def test_concurrent_edits_of_one_record_never_lose_an_update(flow) -> None:
    created = flow.create(EDITOR, "relay_station", _fields())
    rid, version = created.facility.id, created.version
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def edit(i: int) -> None:
        barrier.wait()
        try:
            flow.update(EDITOR, rid, {"phone": f"1381234{i:04d}"}, version)
            outcomes.append(f"ok {i}")
        except StaleVersionError:
            outcomes.append("stale")

    threads = [threading.Thread(target=edit, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if o.startswith("ok")]
    assert len(winners) == 1
    assert outcomes.count("stale") == 7
    final = flow.store.get_record(rid)
    assert final.version == 2
    assert final.facility.phone == f"1381234{int(winners[0].split()[1]):04d}"


def test_editors_write_only_their_district_and_cannot_approve(flow) -> None:
    with pytest.raises(ForbiddenError, match="普陀区"):
        flow.create(OTHER_EDITOR, "relay_station", _fields())
    rid = flow.create(EDITOR, "relay_station", _fields()).facility.id
    with pytest.raises(ForbiddenError):
        flow.update(OTHER_EDITOR, rid, {"phone": "13812345678"}, 1)
    with pytest.raises(ForbiddenError, match="徐汇区"):
        flow.update(EDITOR, rid, {"district": "徐汇区"}, 1)
    flow.submit(EDITOR, [rid])
    with pytest.raises(ForbiddenError, match="is for reviewers"):
        flow.approve(EDITOR, [rid])
    with pytest.raises(ForbiddenError):
        flow.create(PLANNER, "relay_station", _fields())
    assert flow.store.get_record(rid).facility.review is ReviewState.SUBMITTED


def test_returned_records_are_editable_again(flow) -> None:
    rid = flow.create(EDITOR, "relay_station", _fields()).facility.id
    flow.submit(EDITOR, [rid])
    with pytest.raises(InvalidFacilityError, match="reason"):
        flow.return_for_changes(REVIEWER, [rid], " ")
    returned = flow.return_for_changes(REVIEWER, [rid], "地址缺少门牌号")[0]
    assert returned.facility.review is ReviewState.RETURNED
    fixed = flow.update(EDITOR, rid, {"address": "金沙江路1759号1楼"}, returned.version)
    assert fixed.facility.review is ReviewState.DRAFT
    assert flow.submit(EDITOR, [rid])[0].facility.review is ReviewState.SUBMITTED


def test_bulk_actions_are_all_or_nothing(flow) -> None:
    a = flow.create(EDITOR, "relay_station", _fields(name="站点甲")).facility.id
    b = flow.create(EDITOR, "relay_station", _fields(name="站点乙")).facility.id
    flow.submit(EDITOR, [a])
    with pytest.raises(InvalidTransitionError, match=f"{b} is draft"):
        flow.approve(REVIEWER, [a, b])
    assert flow.store.get_record(a).facility.review is ReviewState.SUBMITTED
    assert _published_ids(flow) == set()
    flow.submit(EDITOR, [b])
    approved = flow.approve(REVIEWER, [a, b])
    assert {r.facility.id for r in approved} == _published_ids(flow) == {a, b}


def test_cards_and_closing(flow) -> None:
    rid = flow.create(EDITOR, "relay_station", _fields(status="new")).facility.id
    flow.submit(EDITOR, [rid])
    flow.approve(REVIEWER, [rid])
    with pytest.raises(ForbiddenError):
        flow.issue_card(EDITOR, rid, CardKind.YELLOW, "饮水机损坏")
    yellow = flow.issue_card(REVIEWER, rid, CardKind.YELLOW, "饮水机损坏",
                             deadline=date(2027, 1, 15))
    assert yellow.facility.status is FacilityStatus.YELLOW_CARD
    assert yellow.facility.card.reason == "饮水机损坏"
    public = flow.store.get(rid)
    assert public.status is FacilityStatus.YELLOW_CARD
    assert public.card.deadline == date(2027, 1, 15)
    lifted = flow.lift_card(REVIEWER, rid, "已更换饮水机")
    assert lifted.facility.status is FacilityStatus.NEW
    assert lifted.facility.card is None
    red = flow.issue_card(REVIEWER, rid, CardKind.RED, "长期不开放")
    assert red.facility.status is FacilityStatus.RED_CARD
    assert not red.published
    assert flow.store.get(rid) is None
    with pytest.raises(InvalidTransitionError, match="not published"):
        flow.issue_card(REVIEWER, rid, CardKind.YELLOW, "again")
    other = flow.create(EDITOR, "relay_station", _fields(name="另一站")).facility.id
    with pytest.raises(InvalidTransitionError):
        flow.issue_card(REVIEWER, other, CardKind.YELLOW, "draft records carry no cards")
    closed = flow.close(REVIEWER, other, "场地拆除")
    assert closed.facility.status is FacilityStatus.CLOSED


def test_soft_delete_hides_the_record_and_its_public_copy(flow) -> None:
    rid = flow.create(EDITOR, "relay_station", _fields()).facility.id
    flow.submit(EDITOR, [rid])
    approved = flow.approve(REVIEWER, [rid])[0]
    deleted = flow.delete(EDITOR, rid, approved.version)
    assert deleted.deleted_at is not None
    assert not deleted.published
    assert flow.store.get(rid) is None
    with pytest.raises(FacilityNotFoundError):
        flow.get(EDITOR, rid)
    page = flow.store.list_records(RecordQuery(layer="relay_station", include_deleted=True))
    assert [r.facility.id for r in page.items] == [rid]
    assert [e.action for e in flow.history(REVIEWER, rid)] == ["delete", "approve", "submit",
                                                               "create"]


def test_history_names_who_changed_what_from_what_to_what(flow) -> None:
    created = flow.create(EDITOR, "relay_station", _fields())
    rid = created.facility.id
    flow.update(EDITOR, rid, {"lon": PUTUO[0] + 0.001}, created.version, comment="门口位置")
    entries = flow.history(EDITOR, rid)
    edit = entries[0]
    assert edit.action == "edit"
    assert edit.actor == "putuo_editor"
    assert edit.comment == "门口位置"
    assert edit.changes["lon"] == [PUTUO[0], PUTUO[0] + 0.001]
    assert edit.changes["location_source"][1] == "manual-pin: putuo_editor"
    with pytest.raises(ForbiddenError):
        flow.history(OTHER_EDITOR, rid)


def test_flags_for_coarse_and_out_of_district_positions(flow) -> None:
    coarse = flow.create(EDITOR, "relay_station", _fields(location_precision="subdistrict"))
    assert FLAG_COARSE in coarse.facility.flags
    outside = flow.create(EDITOR, "relay_station", _fields(lon=XUHUI[0], lat=XUHUI[1]))
    assert FLAG_OUTSIDE in outside.facility.flags
    moved = flow.update(EDITOR, outside.facility.id, {"lon": PUTUO[0], "lat": PUTUO[1]},
                        outside.version)
    assert moved.facility.flags == []
    assert moved.facility.location_precision is LocationPrecision.EXACT
    flagged = flow.list(REVIEWER, RecordQuery(layer="relay_station", flagged=True))
    assert [r.facility.id for r in flagged.items] == [coarse.facility.id]


def test_editors_list_only_their_district(flow) -> None:
    flow.create(EDITOR, "relay_station", _fields())
    flow.create(REVIEWER, "relay_station", _fields(district="徐汇区", lon=XUHUI[0], lat=XUHUI[1]))
    mine = flow.list(EDITOR, RecordQuery(layer="relay_station"))
    assert {r.facility.district for r in mine.items} == {"普陀区"}
    asked = flow.list(EDITOR, RecordQuery(layer="relay_station", districts=["徐汇区"]))
    assert asked.total == 0
    assert flow.list(REVIEWER, RecordQuery(layer="relay_station")).total == 2


def test_approving_a_real_record_retires_the_districts_demo_records(flow) -> None:
    demo_here = make_facility(key="demo-1", district="普陀区", demo=True, lon=PUTUO[0],
                              lat=PUTUO[1])
    demo_there = make_facility(key="demo-2", district="徐汇区", demo=True, lon=XUHUI[0],
                               lat=XUHUI[1])
    flow.store.seed_registry_layer("relay_station", [demo_here, demo_there])
    rid = flow.create(EDITOR, "relay_station", _fields()).facility.id
    flow.submit(EDITOR, [rid])
    flow.approve(REVIEWER, [rid])
    assert _published_ids(flow) == {rid, demo_there.id}
    assert flow.store.get_record(demo_here.id).deleted_at is not None
    assert flow.history(REVIEWER, demo_here.id)[0].action == "retire_demo"


def test_bad_edits_are_refused_with_the_field_named(flow) -> None:
    created = flow.create(EDITOR, "relay_station", _fields())
    rid = created.facility.id
    with pytest.raises(InvalidFacilityError, match="services"):
        flow.update(EDITOR, rid, {"services": ["dispensing"]}, created.version)
    with pytest.raises(InvalidFacilityError, match="cannot be changed"):
        flow.update(EDITOR, rid, {"review": "approved"}, created.version)
    with pytest.raises(InvalidFacilityError, match="lat"):
        flow.update(EDITOR, rid, {"lat": 95.0}, created.version)
    with pytest.raises(InvalidFacilityError, match="cannot be set"):
        flow.create(EDITOR, "relay_station", _fields(id="relay_station:mine"))
    assert flow.store.get_record(rid).version == created.version
