"""The review workflow of registry records: edit, submit, approve or return, cards, audit.

States of a record's working copy (:class:`~layers.registry.schema.ReviewState`)::

    draft ──submit──▶ submitted ──approve──▶ approved (public copy = working copy)
      ▲                  │
      └──── edit ◀── returned ◀──return──┘

An edit of an approved record starts a new draft while the approved public copy keeps
serving workers until the change is approved. Cards act on published records: a yellow
card (整改通知书) keeps the record serving with its status ``yellow_card``; a red card
(摘牌通知书) delists it (the public copy is removed); closing removes it too. A soft delete
hides the working copy and removes the public copy.

Every change is one store transaction that writes the working copy, the public copy and an
audit line together. Optimistic concurrency: a change names the version it was based on
(the HTTP ``If-Match``); a stale version is refused with 412 and nothing is written.
Permissions are checked by :func:`layers.accounts.policy.require` before anything is read
for writing.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError

from layers.accounts.policy import require, visible_districts
from layers.accounts.roles import Actor
from layers.errors import (
    FacilityNotFoundError,
    InvalidFacilityError,
    InvalidTransitionError,
    ReadOnlyLayerError,
    StaleVersionError,
)
from layers.registry.catalog import LayerKind, get_layer
from layers.registry.schema import (
    COARSE_PRECISIONS,
    Card,
    CardKind,
    Facility,
    FacilityStatus,
    LocationPrecision,
    ReviewState,
)
from layers.store.records import AuditEntry, RecordPage, RecordQuery, RecordSQL, StoredRecord

logger = logging.getLogger(__name__)

#: Fields a PATCH may change (the rest belong to the workflow or the system).
EDITABLE_FIELDS = frozenset(Facility.model_fields) - {
    "id", "layer", "review", "card", "updated_at", "demo", "flags",
}  # fmt: skip

#: Review flags the workflow sets (reasons a reviewer must look at the record).
FLAG_COARSE = "coarse_location"
FLAG_OUTSIDE = "outside_district"
FLAG_UNPLACED = "no_position"

#: Bulk actions accept at most this many records at once.
MAX_BULK = 500

DistrictAt = Callable[[float, float], str | None]


@dataclass(frozen=True)
class ReviewItem:
    """A record waiting in the review queue, with what changed against the public copy."""

    record: StoredRecord
    public: Facility | None
    changes: dict[str, list[Any]]


def new_facility_id(layer: str) -> str:
    """A fresh record id of ``layer`` (``layer:r`` + 12 hex digits)."""
    return f"{layer}:r{secrets.token_hex(6)}"


def diff_fields(old: Facility | None, new: Facility) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for every field that differs (JSON values)."""
    before = {} if old is None else old.model_dump(mode="json")
    after = new.model_dump(mode="json")
    skip = {"updated_at"}
    return {
        name: [before.get(name), value]
        for name, value in after.items()
        if name not in skip and before.get(name) != value
    }


def public_copy(facility: Facility) -> Facility:
    """What workers see of an approved record: no staff-only contact, no review flags."""
    return facility.model_copy(
        update={"contact": None, "flags": [], "review": ReviewState.APPROVED}
    )


class RegistryWorkflow:
    """Edits and review actions on registry records.

    Parameters
    ----------
    store
        The SQL store (working copies, public copies, audit).
    district_at
        ``(lon, lat) -> district or None``: which district a WGS84 point lies in, to flag
        records placed outside the district they name.
    on_published
        Called with the layer ids whose public copies changed (cache invalidation).
    today
        The date used for ``last_verified`` and cards (injectable for tests).
    """

    def __init__(
        self,
        store: Any,
        *,
        district_at: DistrictAt | None = None,
        on_published: Callable[[set[str]], None] | None = None,
        today: Callable[[], date] | None = None,
    ) -> None:
        self.store = store
        self.district_at = district_at
        self.on_published = on_published or (lambda layers: None)
        self.today = today or (lambda: datetime.now(UTC).date())

    # -- reads -----------------------------------------------------------------------------
    def get(self, actor: Actor, facility_id: str) -> StoredRecord:
        """A working copy the actor may read (404 when absent or deleted)."""
        found = self.store.get_record(facility_id)
        if found is None or found.deleted_at is not None:
            raise FacilityNotFoundError(facility_id)
        require(actor, "registry.read", found.facility.district)
        return found

    def list(self, actor: Actor, query: RecordQuery) -> RecordPage:
        """Working copies the actor may read, filtered by ``query``."""
        allowed = visible_districts(actor)
        require(actor, "registry.read", allowed[0] if allowed else None)
        if allowed is not None:
            wanted = query.districts
            districts = [d for d in (wanted or allowed) if d in allowed]
            query = RecordQuery(**{**query.__dict__, "districts": districts})
        return self.store.list_records(query)

    def history(self, actor: Actor, facility_id: str, limit: int = 500) -> list[AuditEntry]:
        """The audit lines of a record, newest first (deleted records included)."""
        found = self.store.get_record(facility_id)
        if found is None:
            raise FacilityNotFoundError(facility_id)
        require(actor, "registry.history", found.facility.district)
        return self.store.history(facility_id=facility_id, limit=limit)

    def queue(
        self, actor: Actor, *, layer: str | None = None, district: str | None = None,
        limit: int = 100, offset: int = 0,
    ) -> tuple[list[ReviewItem], int]:  # fmt: skip
        """Submitted records with their changes against the public copy."""
        require(actor, "registry.review")
        page = self.store.list_records(RecordQuery(
            layer=layer, districts=None if district is None else [district],
            reviews=[ReviewState.SUBMITTED], limit=limit, offset=offset,
        ))  # fmt: skip
        items = []
        for record in page.items:
            public = self.store.get(record.facility.id) if record.published else None
            items.append(ReviewItem(record, public, diff_fields(public, record.facility)))
        return items, page.total

    # -- edits -----------------------------------------------------------------------------
    def create(self, actor: Actor, layer: str, fields: Mapping[str, Any],
               *, comment: str | None = None) -> StoredRecord:  # fmt: skip
        """A new draft record of ``layer`` built from ``fields``.

        Raises
        ------
        ReadOnlyLayerError
            For a context layer.
        InvalidFacilityError
            (422) When the fields do not make a valid record.
        ForbiddenError
            (403) When the actor may not edit the record's district.
        """
        self._registry_layer(layer)
        unknown = set(fields) - EDITABLE_FIELDS
        if unknown:
            raise InvalidFacilityError(f"fields {sorted(unknown)} cannot be set on a record")
        payload = {"source": f"registry: entered by {actor.username}", **fields}
        if "location_precision" not in fields:  # a position given is exact, none is unknown
            located = fields.get("lon") is not None and fields.get("lat") is not None
            payload["location_precision"] = (LocationPrecision.EXACT if located
                                             else LocationPrecision.UNKNOWN)  # fmt: skip
        facility = self.validated({
            **payload, "id": new_facility_id(layer), "layer": layer,
            "review": ReviewState.DRAFT, "updated_at": datetime.now(UTC),
        })  # fmt: skip
        require(actor, "registry.edit", facility.district)
        facility = self.flagged(facility)
        with self.store.registry_transaction() as sql:
            check_links(sql, facility)
            sql.put(facility, version=1, published=False, updated_by=actor.username)
            sql.audit(self._entry(actor, "create", facility, diff_fields(None, facility),
                                  comment))  # fmt: skip
            return self._reload(sql, facility.id)

    def update(
        self, actor: Actor, facility_id: str, changes: Mapping[str, Any],
        expected_version: int, *, comment: str | None = None,
    ) -> StoredRecord:  # fmt: skip
        """Change fields of a working copy (a new draft when it was approved).

        A moved pin without a stated precision becomes ``exact`` with the source
        ``manual-pin``. Raises :class:`StaleVersionError` (412) when the record changed
        since ``expected_version``.
        """
        unknown = set(changes) - EDITABLE_FIELDS
        if unknown:
            raise InvalidFacilityError(
                f"fields {sorted(unknown)} cannot be changed with an edit; editable: "
                f"{', '.join(sorted(EDITABLE_FIELDS))}"
            )
        if "district" in changes:
            require(actor, "registry.edit", changes["district"])
        with self.store.registry_transaction() as sql:
            current = self._current(sql, actor, facility_id, expected_version, "registry.edit")
            old = current.facility
            merged = {**old.model_dump(), **changes}
            moved = ("lon" in changes or "lat" in changes) and (
                changes.get("lon", old.lon) != old.lon or changes.get("lat", old.lat) != old.lat
            )
            if moved and "location_precision" not in changes:
                merged["location_precision"] = LocationPrecision.EXACT
                merged["location_source"] = f"manual-pin: {actor.username}"
                merged["uncertainty_m"] = None
            if merged.get("lon") is None and "location_precision" not in changes:
                merged["location_precision"] = LocationPrecision.UNKNOWN  # the pin was removed
            merged.update(review=ReviewState.DRAFT, updated_at=datetime.now(UTC))
            facility = self.flagged(self.validated(merged))
            changed = diff_fields(old, facility)
            if not changed.keys() - {"review", "flags"}:
                return current  # nothing changed: no new version, no audit line
            check_links(sql, facility)
            sql.put(facility, version=current.version + 1, published=current.published,
                    updated_by=actor.username)  # fmt: skip
            sql.audit(self._entry(actor, "edit", facility, changed, comment))
            return self._reload(sql, facility_id)

    def delete(self, actor: Actor, facility_id: str, expected_version: int,
               *, comment: str | None = None) -> StoredRecord:  # fmt: skip
        """Soft-delete a record: the working copy is hidden, the public copy removed."""
        with self.store.registry_transaction() as sql:
            current = self._current(sql, actor, facility_id, expected_version, "registry.edit")
            facility = current.facility
            sql.put(facility, version=current.version + 1, published=False,
                    updated_by=actor.username, deleted_at=datetime.now(UTC))  # fmt: skip
            unpublished = sql.unpublish(facility_id, facility.layer)
            sql.audit(self._entry(actor, "delete", facility,
                                  {"deleted": [False, True], "published": [unpublished, False]},
                                  comment))  # fmt: skip
            found = self._reload(sql, facility_id)
        if unpublished:
            self.on_published({facility.layer})
        return found

    # -- review ----------------------------------------------------------------------------
    def submit(self, actor: Actor, ids: Sequence[str], *, comment: str | None = None,
               versions: Mapping[str, int] | None = None) -> list[StoredRecord]:  # fmt: skip
        """Draft or returned records → submitted (all or none)."""
        return self._transition(
            actor, ids, "registry.submit", "submit",
            allowed={ReviewState.DRAFT, ReviewState.RETURNED}, versions=versions,
            change=lambda f: f.model_copy(update={"review": ReviewState.SUBMITTED}),
            comment=comment,
        )  # fmt: skip

    def return_for_changes(self, actor: Actor, ids: Sequence[str], reason: str,
                           *, versions: Mapping[str, int] | None = None) -> list[StoredRecord]:  # fmt: skip
        """Submitted records → returned to their district with a reason (all or none)."""
        _need_text(reason, "a reason for returning the records")
        return self._transition(
            actor, ids, "registry.review", "return", allowed={ReviewState.SUBMITTED},
            versions=versions, comment=reason,
            change=lambda f: f.model_copy(update={"review": ReviewState.RETURNED}),
        )  # fmt: skip

    def approve(self, actor: Actor, ids: Sequence[str], *, comment: str | None = None,
                versions: Mapping[str, int] | None = None) -> list[StoredRecord]:  # fmt: skip
        """Submitted records → approved and published (all or none).

        Approval confirms the record: ``last_verified`` becomes today and the review flags
        are cleared. The first real (non-demo) record of a layer published in a district
        retires that district's demonstration records of the layer.
        """
        today = self.today()
        return self._transition(
            actor, ids, "registry.review", "approve", allowed={ReviewState.SUBMITTED},
            versions=versions, comment=comment, publish=True,
            change=lambda f: f.model_copy(update={
                "review": ReviewState.APPROVED, "last_verified": today, "flags": [],
            }),
        )  # fmt: skip

    def verify(self, actor: Actor, facility_id: str, expected_version: int,
               *, comment: str | None = None) -> StoredRecord:  # fmt: skip
        """Confirm an approved record is still true today (``last_verified``)."""
        today = self.today()
        records = self._transition(
            actor, [facility_id], "registry.edit", "verify", allowed={ReviewState.APPROVED},
            versions={facility_id: expected_version}, comment=comment, publish=True,
            change=lambda f: f.model_copy(update={"last_verified": today}),
        )  # fmt: skip
        return records[0]

    def issue_card(
        self, actor: Actor, facility_id: str, kind: CardKind, reason: str,
        *, issued_on: date | None = None, deadline: date | None = None,
        expected_version: int | None = None,
    ) -> StoredRecord:  # fmt: skip
        """A yellow card (rectification; still serving) or a red card (delisted)."""
        _need_text(reason, "the reason for the card")
        issued = issued_on or self.today()
        if deadline is not None and deadline < issued:
            raise InvalidFacilityError(f"the deadline {deadline} is before the card's date {issued}")

        def change(f: Facility) -> Facility:
            card = Card(kind=kind, reason=reason, issued_on=issued, deadline=deadline,
                        issued_by=actor.username)  # fmt: skip
            status = FacilityStatus.YELLOW_CARD if kind is CardKind.YELLOW else FacilityStatus.RED_CARD
            extra = dict(f.extra)
            if f.status not in (FacilityStatus.YELLOW_CARD, FacilityStatus.RED_CARD):
                extra["status_before_card"] = str(f.status)
            return f.model_copy(update={"card": card, "status": status, "extra": extra})

        versions = None if expected_version is None else {facility_id: expected_version}
        return self._transition(
            actor, [facility_id], "registry.review", f"card_{kind}",
            allowed={ReviewState.APPROVED}, versions=versions, comment=reason,
            change=change, publish=kind is CardKind.YELLOW, unpublish=kind is CardKind.RED,
            need_published=True,
        )[0]  # fmt: skip

    def lift_card(self, actor: Actor, facility_id: str, comment: str,
                  *, expected_version: int | None = None) -> StoredRecord:  # fmt: skip
        """End a yellow card after rectification: the record serves as before."""
        _need_text(comment, "what was rectified")

        def change(f: Facility) -> Facility:
            if f.status is not FacilityStatus.YELLOW_CARD:
                raise InvalidTransitionError(
                    f"record {f.id!r} has no yellow card to lift (status {f.status})"
                )
            extra = dict(f.extra)
            previous = FacilityStatus(extra.pop("status_before_card", FacilityStatus.ACTIVE))
            return f.model_copy(update={"card": None, "status": previous, "extra": extra,
                                        "last_verified": self.today()})  # fmt: skip

        versions = None if expected_version is None else {facility_id: expected_version}
        return self._transition(
            actor, [facility_id], "registry.review", "lift_card", allowed={ReviewState.APPROVED},
            versions=versions, comment=comment, change=change, publish=True,
        )[0]  # fmt: skip

    def close(self, actor: Actor, facility_id: str, reason: str,
              *, expected_version: int | None = None) -> StoredRecord:  # fmt: skip
        """Close a record (no longer serving): its public copy is removed."""
        _need_text(reason, "the reason for closing")
        versions = None if expected_version is None else {facility_id: expected_version}
        return self._transition(
            actor, [facility_id], "registry.review", "close",
            allowed=set(ReviewState), versions=versions, comment=reason, unpublish=True,
            change=lambda f: f.model_copy(update={"status": FacilityStatus.CLOSED}),
        )[0]  # fmt: skip

    # -- internals -------------------------------------------------------------------------
    def _transition(
        self, actor: Actor, ids: Sequence[str], action: str, verb: str, *,
        allowed: set[ReviewState], change: Callable[[Facility], Facility],
        versions: Mapping[str, int] | None = None, comment: str | None = None,
        publish: bool = False, unpublish: bool = False, need_published: bool = False,
    ) -> list[StoredRecord]:  # fmt: skip
        ids = list(dict.fromkeys(ids))
        if not ids:
            raise InvalidFacilityError("name at least one record")
        if len(ids) > MAX_BULK:
            raise InvalidFacilityError(f"at most {MAX_BULK} records at once, got {len(ids)}")
        touched: set[str] = set()
        with self.store.registry_transaction() as sql:
            current = {}
            for facility_id in ids:
                expected = None if versions is None else versions.get(facility_id)
                current[facility_id] = self._current(sql, actor, facility_id, expected, action)
            wrong = [f"{i} is {c.facility.review}" for i, c in current.items()
                     if c.facility.review not in allowed]  # fmt: skip
            if need_published:
                wrong += [f"{i} is not published" for i, c in current.items() if not c.published]
            if wrong:
                raise InvalidTransitionError(
                    f"cannot {verb}: {'; '.join(wrong)} (allowed from: "
                    f"{', '.join(sorted(str(s) for s in allowed))}); nothing was changed"
                )
            out = []
            for facility_id, record in current.items():
                facility = change(record.facility).model_copy(
                    update={"updated_at": datetime.now(UTC)}
                )
                facility = self.validated(facility.model_dump())
                published = record.published
                if publish:
                    sql.publish(public_copy(facility))
                    published = True
                    touched.add(facility.layer)
                if unpublish and sql.unpublish(facility_id, facility.layer):
                    touched.add(facility.layer)
                    published = False
                sql.put(facility, version=record.version + 1, published=published,
                        updated_by=actor.username)  # fmt: skip
                sql.audit(self._entry(actor, verb, facility,
                                      diff_fields(record.facility, facility), comment))  # fmt: skip
                if publish and verb == "approve" and not facility.demo:
                    touched |= self._retire_demo(sql, actor, facility)
                out.append(self._reload(sql, facility_id))
        if touched:
            self.on_published(touched)
        return out

    def _retire_demo(self, sql: RecordSQL, actor: Actor, facility: Facility) -> set[str]:
        """Unpublish and delete the demo records of the layer in the record's district."""
        if facility.district is None:
            return set()
        retired = 0
        for record in sql.layer_records(facility.layer, [facility.district]):
            if not record.facility.demo:
                continue
            sql.put(record.facility, version=record.version + 1, published=False,
                    updated_by=actor.username, deleted_at=datetime.now(UTC))  # fmt: skip
            sql.unpublish(record.facility.id, facility.layer)
            sql.audit(self._entry(actor, "retire_demo", record.facility,
                                  {"deleted": [False, True]},
                                  f"replaced by the real record {facility.id}"))  # fmt: skip
            retired += 1
        if retired:
            logger.info("retired %d demo records of %s in %s", retired, facility.layer,
                        facility.district)  # fmt: skip
        return {facility.layer} if retired else set()

    def _current(
        self, sql: RecordSQL, actor: Actor, facility_id: str, expected: int | None, action: str
    ) -> StoredRecord:
        found = sql.get(facility_id, lock=True)
        if found is None or found.deleted_at is not None:
            raise FacilityNotFoundError(facility_id)
        require(actor, action, found.facility.district)
        if expected is not None and expected != found.version:
            raise StaleVersionError(facility_id, expected, found.version)
        return found

    @staticmethod
    def _reload(sql: RecordSQL, facility_id: str) -> StoredRecord:
        found = sql.get(facility_id)
        if found is None:  # pragma: no cover - written in this transaction
            raise FacilityNotFoundError(facility_id)
        return found

    @staticmethod
    def _registry_layer(layer: str) -> None:
        info = get_layer(layer)
        if info.kind is not LayerKind.REGISTRY:
            raise ReadOnlyLayerError(layer)

    @staticmethod
    def validated(fields: Mapping[str, Any]) -> Facility:
        try:
            return Facility.model_validate(dict(fields))
        except ValidationError as exc:
            raise InvalidFacilityError(describe_validation(exc)) from None

    def flagged(self, facility: Facility) -> Facility:
        """The record with its review flags recomputed from its position."""
        flags = [f for f in facility.flags if f not in (FLAG_COARSE, FLAG_OUTSIDE, FLAG_UNPLACED)]
        if not facility.located:
            flags.append(FLAG_UNPLACED)
        elif facility.location_precision in COARSE_PRECISIONS:
            flags.append(FLAG_COARSE)
        if facility.located and facility.district and self.district_at is not None:
            found = self.district_at(float(facility.lon), float(facility.lat))  # type: ignore[arg-type]
            if found != facility.district:
                flags.append(FLAG_OUTSIDE)
        return facility.model_copy(update={"flags": flags})

    @staticmethod
    def _entry(actor: Actor, action: str, facility: Facility, changes: dict[str, Any],
               comment: str | None) -> AuditEntry:  # fmt: skip
        return AuditEntry(action=action, actor=actor.username, role=str(actor.role),
                          facility_id=facility.id, layer=facility.layer,
                          district=facility.district, changes=changes, comment=comment)  # fmt: skip


def check_links(sql: RecordSQL, facility: Facility) -> None:
    """Refuse a partner centre that is not a live community health centre record (422)."""
    partner = facility.partner_centre_id
    if partner is None:
        return
    if facility.layer != "health_point":
        raise InvalidFacilityError("only health points name a partner community health centre")
    found = sql.get(partner)
    if found is None or found.deleted_at is not None or found.facility.layer != "community_health":
        raise InvalidFacilityError(
            f"partner_centre_id {partner[:80]!r} is not a community health centre of the "
            "registry (layer community_health)"
        )


def describe_validation(exc: ValidationError, limit: int = 5) -> str:
    """A short message naming each invalid field (values cut to 60 characters)."""
    parts = []
    for error in exc.errors()[:limit]:
        where = ".".join(str(p) for p in error.get("loc", ())) or "record"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _need_text(value: str | None, what: str) -> None:
    if not value or not value.strip():
        raise InvalidFacilityError(f"give {what}")
    if len(value) > 500:
        raise InvalidFacilityError(f"{what} is longer than 500 characters")



def all_records(workflow: RegistryWorkflow, actor: Actor, query: RecordQuery) -> list[StoredRecord]:
    """Every working copy matching ``query`` that ``actor`` may read (all pages)."""
    out: list[StoredRecord] = []
    offset = 0
    while True:
        page = workflow.list(actor, RecordQuery(**{**query.__dict__, "limit": 1000,
                                                   "offset": offset}))  # fmt: skip
        out += page.items
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return out
