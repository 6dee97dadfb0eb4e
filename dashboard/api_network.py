"""JSON API for the network (issue 15), read-only, under /api like the rest: the active members and
the network's meetings, the same `services.network` functions as the Netværk page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from dashboard.api_schema import COMMON
from dashboard.deps import Reader, api_user
from models.tables import NetworkMeetingStatus
from services import network

router = APIRouter(
    prefix="/api/network", tags=["netværk"], dependencies=[Depends(api_user)], responses=COMMON
)


class MeetingLists(BaseModel):
    upcoming: list[network.MeetingRow]
    """Earliest first (cancelled ones included, with their status)."""
    past: list[network.MeetingRow]
    """Latest first."""


@router.get("/members", response_model=list[network.MemberRow], summary="The network's active members")
def network_members(
    reader: Reader,
    kommune: Annotated[int | None, Query(ge=101, le=999, description="Only this municipality (code)")] = None,
) -> list[network.MemberRow]:
    return network.list_members(kommune)


@router.get("/meetings", response_model=MeetingLists, summary="The network's meetings, upcoming and past")
def network_meetings(
    reader: Reader,
    status: Annotated[
        NetworkMeetingStatus | None, Query(description="Only planned or only cancelled")
    ] = None,
) -> MeetingLists:
    upcoming, past = network.list_meetings(status)
    return MeetingLists(upcoming=upcoming, past=past)
