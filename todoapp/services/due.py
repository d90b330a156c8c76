"""Due dates and the user's own date.

The app stores moments in UTC and due dates as plain calendar dates. What
"today" is depends on where the user is: the browser says its time zone
(static/app.js keeps it in the ``tz`` cookie), and the app works out the
date there. Without JavaScript, or with a zone this server does not know,
today is the date in UTC.
"""

import zoneinfo
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache

from ..models import utcnow

# The cookie static/app.js writes: an IANA zone name, such as "Europe/Paris".
ZONE_COOKIE = "tz"
# A zone name's length: the longest in the IANA database is 32 characters.
ZONE_NAME_MAX = 64
# Zones kept: each is a name from the server's own zone database.
ZONES_KEPT = 128


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@lru_cache(maxsize=ZONES_KEPT)
def _zone(name: str) -> tzinfo:
    return zoneinfo.ZoneInfo(name)


def zone_named(name: str | None) -> tzinfo:
    """The zone called ``name`` if the server knows it, else UTC. A name a
    client sent is looked up only among the server's own zone names, so the
    kept zones (``_zone``) are keyed by those alone."""
    if not name or len(name) > ZONE_NAME_MAX or name not in _known_zones():
        return UTC
    return _zone(name)


def today_in(zone_name: str | None, now: datetime | None = None) -> date:
    """The date in the zone ``zone_name`` (UTC if unknown) at ``now``."""
    return (now or utcnow()).astimezone(zone_named(zone_name)).date()


def due_label(due_on: date, today: date, *, done: bool = False) -> tuple[str, bool]:
    """What a row says of a due date, and whether it is overdue: "Due today",
    "Due tomorrow", "Overdue · 3 Dec", "Due 12 Dec" (with the year when it
    is not this year's). A done todo is never overdue."""
    if due_on == today:
        return "Due today", False
    if due_on == today + timedelta(days=1):
        return "Due tomorrow", False
    day = f"{due_on.day} {due_on:%b}"
    if due_on.year != today.year:
        day += f" {due_on.year}"
    if due_on < today and not done:
        return f"Overdue · {day}", True
    return f"Due {day}", False
