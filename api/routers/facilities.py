"""Single facilities."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from api.deps import RegistryDep
from api.params import EXAMPLE_FACILITY
from api.schemas import ErrorOut, FacilityOut, facility_json

router = APIRouter(prefix="/api/v1", tags=["facilities"])


@router.get(
    "/facilities/{facility_id}",
    response_model=FacilityOut,
    responses={404: {"model": ErrorOut}},
    summary="One facility",
)
def get_facility(
    facility_id: Annotated[str, Path(examples=[EXAMPLE_FACILITY])], registry: RegistryDep
) -> JSONResponse:
    """The facility with this id (e.g. `training_site:01`), with every recorded field and its
    opening hours as text in Chinese and English."""
    return JSONResponse(facility_json(registry.get(facility_id)))
