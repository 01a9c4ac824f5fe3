"""The life agents LifeOps runs, each shown in Home Assistant as a device of its own."""

from __future__ import annotations

from enum import StrEnum


class Agent(StrEnum):
    """One agent: a part of the person's day that LifeOps watches and acts on."""

    SLEEP = "sleep"
    FITNESS = "fitness"
    WORK_LIFE = "work_life"
    SCREEN_TIME = "screen_time"
    HOME_SCENES = "home_scenes"
    NOTIFICATIONS = "notifications"
    GAMIFICATION = "gamification"
