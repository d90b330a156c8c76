"""The Completed section at the foot of a list's page (the todo list, one
list): how many done todos it holds and the newest of them, collapsed; or,
when the account hides them, only how many. The lists and the todo list
pages build it the same way, from their own two services."""

from collections.abc import Callable
from dataclasses import dataclass

from flask_login import current_user

from ..services.pages import Page
from ..services.todos import Count
from ..web import per_page


@dataclass(frozen=True)
class Completed:
    """What the section shows: ``count``, bounded; ``page``, the newest done
    todos (None when the account hides them); ``all_url``, the page of
    every done todo, a page at a time."""

    count: Count
    page: Page | None
    all_url: str

    @property
    def hidden(self) -> bool:
        return self.page is None


def completed_section(
    open_page: Page,
    count: Callable[[], Count],
    newest: Callable[[int], Page],
    all_url: Callable[[], str],
) -> Completed | None:
    """The section for a page of open todos, or None: it stands at the foot
    of the list, after the last of its open todos, so the pages before that
    read no done todo at all (and build nothing for it: each part is asked
    for only when the section is shown)."""
    if open_page.older is not None:
        return None
    counted = count()
    if current_user.hide_completed or not counted.n:
        return Completed(counted, None, all_url())
    return Completed(counted, newest(per_page()), all_url())
