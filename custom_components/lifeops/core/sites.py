"""Sites: the places where a LifeOps node runs (home and the cabins)."""

from __future__ import annotations

from enum import StrEnum
import re
import unicodedata
import uuid


class Site(StrEnum):
    """The sites a person picks from; any other place is a named custom site."""

    HOME = "home"
    SUMMER_CABIN = "summer_cabin"
    WINTER_CABIN = "winter_cabin"


MAX_SITE_NAME_LENGTH = 64


def site_id(name: str) -> str:
    """Return the stable identifier of a site from its preset key or its free-form name.

    The identifier keeps to lowercase ASCII letters, digits and underscores, so "Fjällstugan"
    and "fjallstugan " name the same site. An empty result means the name has no usable letters.
    """
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", folded.lower()).strip("_")


def new_node_id() -> str:
    """Return a new node id: random, 32 hex digits, given once to an installation and kept."""
    return uuid.uuid4().hex
