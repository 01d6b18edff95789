"""The two real registries: metro safety training sites and district service centres.

Both come from the 2023 plan of the Shanghai Federation of Trade Unions, positioned by
hand with the evidence kept in ``extra["evidence"]``. The plan gives no opening hours for
either, so ``hours`` stays unknown and ``extra["hours_note"]`` says, in Chinese and English,
how a worker finds out: the training sessions are booked through the unions (the plan's
contact phone is the training site's ``phone``), the service centres are asked by phone. Sites whose position is unknown stay
in the registry without coordinates (``location_precision`` ``unknown``): they are listed
with address and phone but never drawn at a made-up point.
"""

from __future__ import annotations

import logging

from layers.build.sources import PLAN_DATE, SERVICE_CENTRES_CSV, TRAINING_SITES_CSV, SourceData
from layers.registry.schema import Facility, FacilityStatus, LocationPrecision

logger = logging.getLogger(__name__)

TRAINING_SOURCE = (
    "上海市总工会2023年实事项目：轨道交通安全培训点名单 (2023 plan); position: see extra.evidence"
)
SERVICE_CENTRE_SOURCE = (
    "上海市总工会2023年实事项目：区总工会职工服务中心名单 (2023 plan); position: see extra.evidence"
)


#: The plan's contact for the metro training (附件 2-10: 联系人 市总工会权益保障部).
TRAINING_ENQUIRY_PHONE = "63211939-3434"
TRAINING_HOURS_NOTE = {
    "zh": "按预约开班（每场约30–50人）：由区局（产业）工会按就近原则报名，具体日期由工作人员提前联络确定",
    "en": "Sessions by appointment (30–50 people each): unions sign up for the nearest site "
    "and staff confirm the date in advance",
}
TRAINING_PHONE_NOTE = {
    "zh": "培训报名咨询：市总工会权益保障部",
    "en": "Training sign-up: Shanghai FTU rights protection department",
}
SERVICE_CENTRE_HOURS_NOTE = {
    "zh": "开放时间未公布，请致电询问",
    "en": "Opening hours not published; please call to ask",
}


def _float_or_none(value: str | None) -> float | None:
    value = (value or "").strip()
    return float(value) if value else None


def _text_or_none(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _training_host_type(name: str, precision: str) -> str:
    """Kind of place hosting a training site, from its name."""
    if "博物馆" in name:
        return "museum"
    if "培训中心" in name:
        return "training_centre"
    if "本部" in name:
        return "company_office"
    if name.endswith("标"):
        return "construction_project"
    if "基地" in name or "项目部" in name:
        return "depot"
    if name.endswith(")") or "站" in name or precision == "exact-station":
        return "metro_station"
    return "other"


def _position(row: dict[str, str]) -> dict[str, object]:
    """lon, lat, precision and uncertainty for a site row (unknown stays unknown)."""
    lon, lat = _float_or_none(row.get("lon")), _float_or_none(row.get("lat"))
    precision = (row.get("precision") or "").strip() or "unknown"
    if lon is None or lat is None:
        return {
            "lon": None,
            "lat": None,
            "location_precision": LocationPrecision.UNKNOWN,
            "uncertainty_m": None,
        }
    return {
        "lon": lon,
        "lat": lat,
        "location_precision": LocationPrecision(precision),
        "uncertainty_m": _float_or_none(row.get("uncertainty_m")),
    }


def training_sites(sources: SourceData) -> list[Facility]:
    """The 25 metro safety training sites of the 2023 plan."""
    facilities = []
    for row in sources.csv(TRAINING_SITES_CSV):
        number = int(row["site_no"])
        name = row["name"].strip()
        position = _position(row)
        facilities.append(
            Facility(
                id=f"training_site:site-{number:02d}",
                layer="training_site",
                name=name,
                district=_text_or_none(row.get("district")),
                address=_text_or_none(row.get("address")),
                host_type=_training_host_type(name, str(row.get("precision", ""))),
                phone=TRAINING_ENQUIRY_PHONE,
                services=["safety_training"],
                status=FacilityStatus.ACTIVE,
                source=TRAINING_SOURCE,
                updated_at=PLAN_DATE,
                extra={
                    "site_no": number,
                    "evidence": (row.get("evidence") or "").strip(),
                    "hours_note": TRAINING_HOURS_NOTE,
                    "phone_note": TRAINING_PHONE_NOTE,
                },
                **position,  # type: ignore[arg-type]
            )
        )
    logger.debug(
        "training sites: %d (%d located)", len(facilities), sum(f.located for f in facilities)
    )
    return facilities


def service_centres(sources: SourceData) -> list[Facility]:
    """The 16 district union worker service centres (phone and address from the plan)."""
    facilities = []
    for row in sources.csv(SERVICE_CENTRES_CSV):
        number = int(row["no"])
        position = _position(row)
        facilities.append(
            Facility(
                id=f"service_centre:centre-{number:02d}",
                layer="service_centre",
                name=row["name"].strip(),
                district=_text_or_none(row.get("district")),
                address=_text_or_none(row.get("address")),
                phone=_text_or_none(row.get("phone")),
                host_type="union_office",
                services=["mutual_aid_insurance"],
                status=FacilityStatus.ACTIVE,
                source=SERVICE_CENTRE_SOURCE,
                updated_at=PLAN_DATE,
                extra={
                    "no": number,
                    "evidence": (row.get("evidence") or "").strip(),
                    "hours_note": SERVICE_CENTRE_HOURS_NOTE,
                },
                **position,  # type: ignore[arg-type]
            )
        )
    logger.debug(
        "service centres: %d (%d located)", len(facilities), sum(f.located for f in facilities)
    )
    return facilities
