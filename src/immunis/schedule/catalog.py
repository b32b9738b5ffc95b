"""The schedules shipped with immunis, by id, each loaded once per process."""

from __future__ import annotations

from functools import cache
from importlib import resources

from immunis.schedule import cdc_xml, project_format
from immunis.schedule.model import Schedule

CDC_DATA_FOLDER = "cdc-4.64"
CDC_VERSION = "4.64"
PROJECT_SCHEDULES = {"vn": "vn.yaml", "who": "who.yaml"}
SCHEDULE_IDS = ("us-acip", *PROJECT_SCHEDULES)


class UnknownScheduleError(KeyError):
    """No schedule with that id ships with immunis."""


@cache
def load_schedule(schedule_id: str) -> Schedule:
    """The shipped schedule `schedule_id` ("us-acip", "vn" or "who")."""
    data = resources.files("immunis.schedule") / "data"
    if schedule_id == "us-acip":
        folder = data / CDC_DATA_FOLDER
        antigen_files = sorted(
            (f for f in folder.iterdir() if f.name.startswith("AntigenSupportingData")),
            key=lambda f: f.name,
        )
        return cdc_xml.parse_schedule(
            (folder / "ScheduleSupportingData.xml").read_bytes(),
            (f.read_bytes() for f in antigen_files),
            version=CDC_VERSION,
        )
    if schedule_id in PROJECT_SCHEDULES:
        return project_format.load_yaml((data / PROJECT_SCHEDULES[schedule_id]).read_bytes())
    raise UnknownScheduleError(
        f"unknown schedule {schedule_id!r}; shipped schedules: {', '.join(SCHEDULE_IDS)}"
    )
