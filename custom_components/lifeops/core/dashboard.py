"""The LifeOps dashboard: a Lovelace configuration built from a site's entity ids.

Pure: the Home Assistant layer (`dashboard.py`) finds the entity ids (they differ between sites
and installations) and the translated titles, and serves what `build` returns. Only Home
Assistant's built-in cards are used, so nothing has to be installed for it to show.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

# The titles `build` needs, translated by the caller (strings.json, "dashboard" section).
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


def _rows(entities: Mapping[str, str | None], roles: tuple[str, ...]) -> list[str]:
    return [entity_id for role in roles if (entity_id := entities.get(role))]


def _notifications_markdown(entity_id: str, empty: str) -> str:
    """A list of the pending notifications, from the sensor's `notifications` attribute."""
    return (
        f"{{% set items = state_attr('{entity_id}', 'notifications') or [] %}}"
        "{% for item in items %}"
        "- **{{ item.title }}** · {{ as_timestamp(item.scheduled) | timestamp_custom('%H:%M') }}\n"
        "{% else %}"
        f"{empty}"
        "{% endfor %}"
    )


def build(
    entities: Mapping[str, str | None],
    titles: Mapping[str, str],
    *,
    weekly_work_target_hours: float,
    screen_time_limit_minutes: int,
) -> dict[str, Any]:
    """The dashboard's configuration (one view of cards); roles without an entity are left out."""
    cards: list[dict[str, Any]] = []

    def entities_card(title: str, roles: tuple[str, ...]) -> None:
        if rows := _rows(entities, roles):
            cards.append({"type": "entities", "title": title, "entities": rows})

    entities_card(
        titles["tonight"],
        ("next_wind_down", "next_bedtime", "wind_down_active", "bedtime", "wake_time"),
    )
    entities_card(titles["sleep"], SLEEP_ROLES)
    if scores := _rows(entities, ("sleep_score", "readiness")):
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
    if work_week := entities.get("work_this_week"):
        cards.append(
            {
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
        )
    entities_card(titles["work"], ("working", "work_today", "overtime_this_week"))
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
    if pending := entities.get("pending_notifications"):
        cards.append(
            {
                "type": "entities",
                "title": titles["notifications"],
                "entities": _rows(entities, ("pending_notifications", "quiet_hours")),
                "footer": {
                    "type": "graph",
                    "entity": pending,
                    "hours_to_show": 24,
                },
            }
        )
        cards.append(
            {
                "type": "markdown",
                "content": _notifications_markdown(pending, titles["no_notifications"]),
            }
        )
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
