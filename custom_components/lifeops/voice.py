"""Answers to spoken questions, read from LifeOps' entities and phrased in the asker's language.

Figures come from LifeOps' own entities, found in the entity registry by their unique ids (so a
renamed entity still answers), and from the sleep score and readiness entities chosen in the
options, else an Oura account's. `core.voice` picks the answer; the language's file in
`sentences/` phrases it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, UnitOfTime
from homeassistant.core import Context, HomeAssistant, State
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey
from homeassistant.util.unit_conversion import DurationConverter
from homeassistant.util.yaml import load_yaml_dict

from .actions import ATTR_CONFIG_ENTRY_ID
from .const import DOMAIN, LOGGER
from .core import voice
from .core.agents import Agent
from .core.voice import Answer, Phrasebook, Question
from .data import LifeOpsConfigEntry
from .entry_kind import loaded_sites, oura_accounts
from .oura_account.coordinator import account_id

SENTENCES = Path(__file__).parent / "sentences"
FALLBACK_LANGUAGE = "en"
DATA_LANGUAGES: HassKey[dict[str, dict[str, Any]]] = HassKey(f"{DOMAIN}_voice_languages")
DATA_SHIPPED: HassKey[list[str]] = HassKey(f"{DOMAIN}_voice_shipped")


@dataclass(frozen=True)
class Reply:
    """An answer, as spoken text and as figures (for an LLM)."""

    speech: str
    answer: Answer
    data: dict[str, Any]


def shipped_languages() -> list[str]:
    """The languages LifeOps has a sentences file for (reads the folder: run in the executor)."""
    return sorted(path.stem for path in SENTENCES.glob("*.yaml"))


def resolve_language(language: str, shipped: list[str]) -> str | None:
    """The shipped language that answers `language`: itself, its base ("en-GB": "en"), English.

    Only names from `shipped` come back, so a language tag never becomes a path of its own.
    """
    tag = language.replace("_", "-")
    for candidate in (tag, tag.split("-")[0].lower(), FALLBACK_LANGUAGE):
        if candidate in shipped:
            return candidate
    return None


def read_language(language: str) -> dict[str, Any]:
    """The sentences file for a language, English when there is none (reads files: executor)."""
    if (resolved := resolve_language(language, shipped_languages())) is None:
        return {}
    return dict(load_yaml_dict(SENTENCES / f"{resolved}.yaml"))


async def async_language_file(hass: HomeAssistant, language: str | None) -> dict[str, Any]:
    """The sentences file for a language (Home Assistant's when None), each file read once."""
    if (shipped := hass.data.get(DATA_SHIPPED)) is None:
        shipped = hass.data[DATA_SHIPPED] = await hass.async_add_executor_job(shipped_languages)
    wanted = language or hass.config.language or FALLBACK_LANGUAGE
    if (resolved := resolve_language(wanted, shipped)) is None:
        return {}
    cache = hass.data.setdefault(DATA_LANGUAGES, {})
    if resolved not in cache:
        cache[resolved] = await hass.async_add_executor_job(read_language, resolved)
    return cache[resolved]


def site_entry(hass: HomeAssistant) -> LifeOpsConfigEntry | None:
    """The site that answers: the loaded one (the first, with several)."""
    return next(iter(loaded_sites(hass)), None)


def _usable(state: State | None) -> State | None:
    if state is None or state.state in (STATE_UNKNOWN, STATE_UNAVAILABLE, ""):
        return None
    return state


def _number(state: State | None) -> float | None:
    if (state := _usable(state)) is None:
        return None
    try:
        return float(state.state)
    except ValueError:
        return None


class SiteReader:
    """Reads one site's figures from the state machine: its own entities and Oura's."""

    def __init__(self, hass: HomeAssistant, entry: LifeOpsConfigEntry) -> None:
        """Read for this site."""
        self.hass = hass
        self.entry = entry
        self.registry = er.async_get(hass)

    def own(self, domain: str, agent: Agent, key: str) -> State | None:
        """The state of one of LifeOps' entities, by its unique id."""
        unique_id = f"{self.entry.runtime_data.node_id}_{agent.value}_{key}"
        entity_id = self.registry.async_get_entity_id(domain, DOMAIN, unique_id)
        return self.hass.states.get(entity_id) if entity_id else None

    def oura_entity(self, key: str, account_of: str | None = None) -> str | None:
        """An Oura account's sensor: the account of `account_of` when that is one, else any."""
        entries = oura_accounts(self.hass, loaded=True)
        if account_of is not None:
            chosen = self.registry.async_get(account_of)
            entries = [e for e in entries if chosen and chosen.config_entry_id == e.entry_id]
        for entry in entries:
            account = account_id(entry)
            unique_id = f"oura_{account}_{key}"
            if entity_id := self.registry.async_get_entity_id("sensor", DOMAIN, unique_id):
                return entity_id
        return None

    def state(self, entity_id: str | None) -> State | None:
        """The state of an entity, if there is one."""
        return self.hass.states.get(entity_id) if entity_id else None


def _minutes(state: State | None) -> float | None:
    """A duration sensor's value in minutes, whatever unit it shows."""
    if (value := _number(state)) is None or state is None:
        return None
    unit = state.attributes.get("unit_of_measurement") or UnitOfTime.SECONDS
    try:
        return DurationConverter.convert(value, unit, UnitOfTime.MINUTES)
    except HomeAssistantError:  # a unit that is not a duration: no figure
        return None


def _local_time(moment: datetime | None) -> str:
    return dt_util.as_local(moment).strftime("%H:%M") if moment else ""


def _sleep(reader: SiteReader) -> tuple[Answer, dict[str, Any]]:
    settings = reader.entry.runtime_data.settings
    score_entity = settings.sleep_score_entity or reader.oura_entity("sleep_score")
    score = _number(reader.state(score_entity))
    oura_of = score_entity if score_entity else None
    asleep = _minutes(reader.state(reader.oura_entity("total_sleep", oura_of)))
    last_night: bool | None = None
    ended_state = _usable(reader.state(reader.oura_entity("bedtime_end", oura_of)))
    if ended_state is not None and (ended := dt_util.parse_datetime(ended_state.state)):
        last_night = dt_util.as_local(ended).date() >= dt_util.now().date()
    answer = voice.sleep(
        has_source=score_entity is not None,
        score=score,
        asleep_minutes=asleep,
        last_night=last_night,
        threshold=settings.poor_sleep_threshold,
    )
    data = {
        "sleep_score": score,
        "minutes_asleep": None if asleep is None else round(asleep),
        "last_night": last_night,
        "source": score_entity,
    }
    return answer, data


def _readiness(reader: SiteReader) -> tuple[Answer, dict[str, Any]]:
    settings = reader.entry.runtime_data.settings
    entity_id = settings.readiness_entity or reader.oura_entity("readiness_score")
    score = _number(reader.state(entity_id))
    recommended = _usable(reader.own("sensor", Agent.FITNESS, "workout_recommendation"))
    recommendation = recommended.state if recommended else None
    answer = voice.readiness(
        has_source=entity_id is not None, score=score, recommendation=recommendation
    )
    return answer, {"readiness": score, "recommendation": recommendation, "source": entity_id}


async def _async_start_wind_down(
    reader: SiteReader, context: Context | None
) -> tuple[Answer, dict[str, Any]]:
    sleep = reader.entry.runtime_data.sleep
    started = False
    if not sleep.is_wind_down_active():
        response = await reader.hass.services.async_call(
            DOMAIN,
            "start_wind_down",
            {ATTR_CONFIG_ENTRY_ID: reader.entry.entry_id},
            blocking=True,
            context=context,
            return_response=True,
        )
        started = bool(response and response.get("started"))
    until = sleep.rules.state.wind_down_until
    answer = voice.wind_down(started=started, until=_local_time(until))
    return answer, {"started": started, "until": until.isoformat() if until else None}


def _xp(reader: SiteReader) -> tuple[Answer, dict[str, Any]] | None:
    total = _number(reader.own("sensor", Agent.GAMIFICATION, "total_xp"))
    level_state = _usable(reader.own("sensor", Agent.GAMIFICATION, "level"))
    level = _number(level_state)
    if total is None or level is None or level_state is None:
        return None
    to_next = level_state.attributes.get("xp_to_next_level")
    to_next = int(to_next) if isinstance(to_next, int | float) else None
    answer = voice.xp(total=int(total), level=int(level), to_next=to_next)
    return answer, {"total_xp": int(total), "level": int(level), "xp_to_next_level": to_next}


def _work_week(reader: SiteReader) -> tuple[Answer, dict[str, Any]] | None:
    hours = _number(reader.own("sensor", Agent.WORK_LIFE, "work_this_week"))
    if hours is None:
        return None
    target = reader.entry.runtime_data.settings.weekly_work_target_hours
    answer = voice.work_week(hours=hours, target_hours=target)
    return answer, {"hours_this_week": round(hours, 2), "weekly_target_hours": target}


def _screen_time(reader: SiteReader) -> tuple[Answer, dict[str, Any]] | None:
    state = _usable(reader.own("sensor", Agent.SCREEN_TIME, "screen_time_today"))
    if (minutes := _number(state)) is None or state is None:
        return None
    limit = state.attributes.get("limit")
    limit = int(limit) if isinstance(limit, int | float) else 0
    answer = voice.screen_time(minutes=minutes, limit_minutes=limit)
    return answer, {"minutes_today": round(minutes), "daily_limit_minutes": limit}


async def async_answer(
    hass: HomeAssistant,
    question: Question,
    *,
    language: str | None = None,
    context: Context | None = None,
) -> Reply:
    """Answer a question for the site, in `language` (Home Assistant's by default)."""
    entry = site_entry(hass)
    result: tuple[Answer, dict[str, Any]] | None
    if entry is None:
        result = (Answer(voice.NOT_SET_UP), {})
    else:
        reader = SiteReader(hass, entry)
        if question is Question.SLEEP:
            result = _sleep(reader)
        elif question is Question.READINESS:
            result = _readiness(reader)
        elif question is Question.START_WIND_DOWN:
            result = await _async_start_wind_down(reader, context)
        elif question is Question.XP:
            result = _xp(reader)
        elif question is Question.WORK_WEEK:
            result = _work_week(reader)
        else:
            result = _screen_time(reader)
    answer, data = result or (Answer(voice.UNAVAILABLE), {})
    phrasebook = Phrasebook(await async_language_file(hass, language))
    speech = phrasebook.say(answer)
    LOGGER.debug("Asked %s, answered %s", question, answer.keys)
    return Reply(speech=speech, answer=answer, data=data)
