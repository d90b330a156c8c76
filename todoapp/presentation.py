"""How values read on a page: relative dates, counts, days until purge."""

import math
from datetime import datetime, timedelta

from flask import Flask, current_app

from .models import utcnow
from .web import here


def todos_count(n: int) -> str:
    return f"{n} todo" if n == 1 else f"{n} todos"


def exact_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def time_ago(moment: datetime, now: datetime | None = None) -> str:
    seconds = max(0, int(((now or utcnow()) - moment).total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'' if n == 1 else 's'} ago"
    return "just now"


def purge_date(deleted_at: datetime) -> datetime:
    return deleted_at + timedelta(days=current_app.config["TRASH_RETENTION_DAYS"])


def days_until_purge(deleted_at: datetime, now: datetime | None = None) -> int:
    """Whole days, rounded up, before the automatic purge may remove the todo."""
    left = (purge_date(deleted_at) - (now or utcnow())).total_seconds()
    return max(0, math.ceil(left / 86400))


def purge_in(deleted_at: datetime) -> str:
    days = days_until_purge(deleted_at)
    if days == 0:
        return "purged at the next clean-up"
    return f"purged in {days} day{'' if days == 1 else 's'}"


def init_app(app: Flask) -> None:
    app.add_template_filter(time_ago, "ago")
    app.add_template_filter(exact_time, "exact")
    app.add_template_filter(purge_in, "purge_in")
    app.add_template_filter(todos_count, "todos_count")
    app.add_template_filter(purge_date, "purge_date")
    app.add_template_global(here, "here")
