"""The LifeOps dashboard: a Lovelace configuration built from a site's entity ids.

Pure: the Home Assistant layer (`dashboard.py`) finds the entity ids (they differ between sites
and installations) and the translated titles, and serves what `build` returns. Only Home
Assistant's built-in cards are used, so nothing has to be installed for it to show.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

# The titles `build` needs, translated by the caller (strings.json, `common.dashboard_<name>`).
TITLES: Final = (
    "title",
    "tonight",
    "sleep",
    "sleep_trend",
    "work",
    "work_week",
    "screen_time",
    "progress",
    "habits",
    "notifications",
    "no_notifications",
    "sync",
)

# Roles of the entities the dashboard shows (see `build`).
SITE_ROLES: Final = (
    "next_wind_down",
    "next_bedtime",
    "wind_down_active",
    "bedtime",
    "wake_time",
    "quiet_hours",
    "working",
    "work_today",
    "work_this_week",
    "overtime_this_week",
    "screen_time_today",
    "total_xp",
    "level",
    "xp_today",
    "achievements",
    "habits_today",
    "pending_notifications",
)
SLEEP_ROLES: Final = ("sleep_score", "readiness", "total_sleep", "recommended_bedtime")


def _ids(entities: Mapping[str, str | None], roles: tuple[str, ...]) -> list[str]:
    return [entity_id for role in roles if (entity_id := entities.get(role))]


def _rows(
    entities: Mapping[str, str | None], roles: tuple[str, ...], names: Mapping[str, str]
) -> list[str | dict[str, str]]:
    """Entity rows; an entity with a short name (without its device's) shows that name."""
    return _named(_ids(entities, roles), names)


def _named(entity_ids: Sequence[str], names: Mapping[str, str]) -> list[str | dict[str, str]]:
    return [
        {"entity": entity_id, "name": names[entity_id]} if entity_id in names else entity_id
        for entity_id in entity_ids
    ]


def _notifications_markdown(entity_id: str, empty: str) -> str:
    """A list of the pending notifications, from the sensor's `notifications` attribute.

    Another site's (synced, delivered there) carries that site's name.
    """
    return (
        f"{{% set items = state_attr('{entity_id}', 'notifications') or [] %}}"
        "{% for item in items %}"
        "- **{{ item.title }}**{% if item.site %} ({{ item.site }}){% endif %} · "
        "{{ as_timestamp(item.scheduled) | timestamp_custom('%a %H:%M') }}\n"
        "{% else %}"
        f"{empty}"
        "{% endfor %}"
    )


def build(
    entities: Mapping[str, str | None],
    titles: Mapping[str, str],
    *,
    names: Mapping[str, str] | None = None,
    weekly_work_target_hours: float,
    screen_time_limit_minutes: int,
    trend: Sequence[str] | None = None,
    sync: Sequence[str] = (),
) -> dict[str, Any]:
    """The dashboard's configuration (one view of cards); roles without an entity are left out.

    `names` gives entity rows a name of their own (an entity id to its name without the device's).
    `trend` are the statistics the 30-day graph shows (Oura's long-term history, which reaches
    back before the sensors existed); without it, the sleep and readiness entities' own.
    `sync` are the sync status sensors of the other sites (last sync, changes waiting), shown
    in a card of their own when this site syncs.
    """
    cards: list[dict[str, Any]] = []
    short = names or {}

    def entities_card(title: str, roles: tuple[str, ...]) -> dict[str, Any] | None:
        if not (rows := _rows(entities, roles, short)):
            return None
        card = {"type": "entities", "title": title, "entities": rows}
        cards.append(card)
        return card

    entities_card(
        titles["tonight"],
        ("next_wind_down", "next_bedtime", "wind_down_active", "bedtime", "wake_time"),
    )
    entities_card(titles["sleep"], SLEEP_ROLES)
    if scores := list(trend or _ids(entities, ("sleep_score", "readiness"))):
        cards.append(
            {
                "type": "statistics-graph",
                "title": titles["sleep_trend"],
                "entities": scores,
                "days_to_show": 30,
                "period": "day",
                "stat_types": ["mean"],
                "chart_type": "line",
            }
        )
    work = entities_card(titles["work"], ("working", "work_today", "overtime_this_week"))
    if work_week := entities.get("work_this_week"):
        gauge = {
            "type": "gauge",
            "name": titles["work_week"],
            "entity": work_week,
            "min": 0,
            "max": max(1, round(weekly_work_target_hours)),
            "severity": {
                "green": 0,
                "yellow": round(weekly_work_target_hours * 0.9),
                "red": max(1, round(weekly_work_target_hours)),
            },
        }
        if work is None:
            cards.append(gauge)
        else:
            cards[cards.index(work)] = {"type": "vertical-stack", "cards": [work, gauge]}
    if screen := entities.get("screen_time_today"):
        limit = max(1, screen_time_limit_minutes)
        cards.append(
            {
                "type": "gauge",
                "name": titles["screen_time"],
                "entity": screen,
                "min": 0,
                "max": limit,
                "severity": {"green": 0, "yellow": round(limit * 0.75), "red": limit},
            }
        )
    entities_card(titles["progress"], ("level", "total_xp", "xp_today", "achievements"))
    if habits := entities.get("habits_today"):
        cards.append({"type": "todo-list", "title": titles["habits"], "entity": habits})
    notifications = entities_card(titles["notifications"], ("pending_notifications", "quiet_hours"))
    if notifications is not None and (pending := entities.get("pending_notifications")):
        listing = {
            "type": "markdown",
            "content": _notifications_markdown(pending, titles["no_notifications"]),
        }
        cards[cards.index(notifications)] = {
            "type": "vertical-stack",
            "cards": [notifications, listing],
        }
    if sync:
        rows = _named(sync, short)
        cards.append({"type": "entities", "title": titles["sync"], "entities": rows})
    return {
        "title": titles["title"],
        "views": [
            {
                "title": titles["title"],
                "path": "lifeops",
                "icon": "mdi:heart-pulse",
                "cards": cards,
            }
        ],
    }
