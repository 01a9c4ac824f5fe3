"""Oura's other documents, as typed values with no Home Assistant in them.

Resilience, VO2 max, cardiovascular age, sessions, tags, rest mode and the ring itself (battery
level and configuration). Read as `models` reads the rest (see its docstring): Oura's field
names, only a document's identity required, an odd field left out. Field meanings follow Oura's
OpenAPI 1.37.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Self

from .fields import Fields


class ResilienceLevel(StrEnum):
    """Oura's long-term resilience, from lowest to highest."""

    LIMITED = "limited"
    ADEQUATE = "adequate"
    SOLID = "solid"
    STRONG = "strong"
    EXCEPTIONAL = "exceptional"


class SessionType(StrEnum):
    """What kind of session (Oura calls them moments) a person recorded."""

    BREATHING = "breathing"
    MEDITATION = "meditation"
    NAP = "nap"
    RELAXATION = "relaxation"
    REST = "rest"
    BODY_STATUS = "body_status"


@dataclass(frozen=True, kw_only=True, slots=True)
class ResilienceContributors:
    """What made up a day's resilience, each 0-100."""

    sleep_recovery: float | None = None
    daytime_recovery: float | None = None
    stress: float | None = None

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = Fields(raw, "resilience contributors")
        return cls(
            sleep_recovery=f.number("sleep_recovery"),
            daytime_recovery=f.number("daytime_recovery"),
            stress=f.number("stress"),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class DailyResilience:
    """A day's resilience (`daily_resilience`): how well the body copes with strain."""

    id: str
    day: date
    level: str | None = None  # a ResilienceLevel
    contributors: ResilienceContributors | None = None

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = Fields(raw, "daily_resilience")
        return cls(
            id=f.required_text("id"),
            day=f.required_day("day"),
            level=f.text("level"),
            contributors=f.nested("contributors", ResilienceContributors.from_dict),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class VO2Max:
    """An estimate of VO2 max (`vO2_max`) in millilitres of oxygen per kilogram and minute."""

    id: str
    day: date
    timestamp: datetime | None = None
    vo2_max: float | None = None

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = Fields(raw, "vO2_max")
        return cls(
            id=f.required_text("id"),
            day=f.required_day("day"),
            timestamp=f.moment("timestamp"),
            vo2_max=f.number("vo2_max"),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class DailyCardiovascularAge:
    """A day's cardiovascular age (`daily_cardiovascular_age`): vascular age in years (18-100)."""

    id: str
    day: date
    vascular_age: int | None = None
    pulse_wave_velocity: float | None = None  # metres a second

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = Fields(raw, "daily_cardiovascular_age")
        return cls(
            id=f.required_text("id"),
            day=f.required_day("day"),
            vascular_age=f.whole("vascular_age"),
            pulse_wave_velocity=f.number("pulse_wave_velocity"),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Session:
    """A session the person recorded in the Oura app (`session`): breathing, meditation, ..."""

    id: str
    day: date
    type: str | None = None  # a SessionType
    start_datetime: datetime | None = None
    end_datetime: datetime | None = None
    mood: str | None = None  # bad, worse, same, good, great

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = Fields(raw, "session")
        return cls(
            id=f.required_text("id"),
            day=f.required_day("day"),
            type=f.text("type"),
            start_datetime=f.moment("start_datetime"),
            end_datetime=f.moment("end_datetime"),
            mood=f.text("mood"),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Tag:
    """A tag the person added in the Oura app (`enhanced_tag`), at a moment or over a while."""

    id: str
    start_day: date
    start_time: datetime | None = None
    end_day: date | None = None
    end_time: datetime | None = None
    tag_type_code: str | None = None  # None for a text-only tag, "custom" for a named one
    custom_name: str | None = None
    comment: str | None = None

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = Fields(raw, "enhanced_tag")
        return cls(
            id=f.required_text("id"),
            start_day=f.required_day("start_day"),
            start_time=f.moment("start_time"),
            end_day=f.day("end_day"),
            end_time=f.moment("end_time"),
            tag_type_code=f.text("tag_type_code"),
            custom_name=f.text("custom_name"),
            comment=f.text("comment"),
        )

    @property
    def day(self) -> date:
        """The day the tag starts on."""
        return self.start_day

    @property
    def name(self) -> str | None:
        """What the tag says: its custom name, else its type, else its comment."""
        return self.custom_name or self.tag_type_code or self.comment


@dataclass(frozen=True, kw_only=True, slots=True)
class RestModePeriod:
    """A period of rest mode (`rest_mode_period`); no end while it lasts."""

    id: str
    start_day: date
    start_time: datetime | None = None
    end_day: date | None = None
    end_time: datetime | None = None

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = Fields(raw, "rest_mode_period")
        return cls(
            id=f.required_text("id"),
            start_day=f.required_day("start_day"),
            start_time=f.moment("start_time"),
            end_day=f.day("end_day"),
            end_time=f.moment("end_time"),
        )

    @property
    def day(self) -> date:
        """The day rest mode started."""
        return self.start_day

    def active_at(self, moment: datetime) -> bool:
        """Whether rest mode was on at `moment`."""
        started = self.start_time is None or self.start_time <= moment
        return started and (self.end_time is None or moment < self.end_time)


@dataclass(frozen=True, kw_only=True, slots=True)
class RingBatteryLevel:
    """One battery reading of the ring (`ring_battery_level`), in percent."""

    timestamp: datetime
    level: int
    charging: bool | None = None
    in_charger: bool | None = None

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = Fields(raw, "ring_battery_level")
        return cls(
            timestamp=f.required_moment("timestamp"),
            level=f.required_whole("level"),
            charging=f.flag("charging"),
            in_charger=f.flag("in_charger"),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class RingConfiguration:
    """A ring the person set up (`ring_configuration`): model, looks, size and firmware."""

    id: str
    hardware_type: str | None = None  # gen1, gen2, gen2m, gen3, gen4, or5
    firmware_version: str | None = None
    color: str | None = None
    design: str | None = None
    size: int | None = None  # US ring size
    set_up_at: datetime | None = None

    @classmethod
    def from_dict(cls, raw: object) -> Self:
        """Build from Oura's JSON object."""
        f = Fields(raw, "ring_configuration")
        return cls(
            id=f.required_text("id"),
            hardware_type=f.text("hardware_type"),
            firmware_version=f.text("firmware_version"),
            color=f.text("color"),
            design=f.text("design"),
            size=f.whole("size"),
            set_up_at=f.moment("set_up_at"),
        )
