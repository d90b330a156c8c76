"""What the services raise when a request cannot be met, in the app's own
terms. The web layer maps each to a status code in one place
(``register_errorhandlers``); the command line prints the message."""


class NotFoundError(LookupError):
    """What was asked for does not exist, or is not this user's to see:
    the two look the same, so nobody learns of another user's todos."""


class InTrash(NotFoundError):
    """What was asked for is the asking owner's own, and in the trash: the
    web says so and offers to restore it, where anyone else gets the plain
    404. Only ever raised for the owner's own lookups (``owner_id`` given).

    ``kind`` and ``name``: what was asked for ("todo" or "list", its title
    or name); ``entry``: the trash entry that brings it back, ("todo", id)
    or ("list", id): a todo trashed with its list comes back with the list,
    named ``list_name``."""

    def __init__(self, kind: str, name: str, entry: tuple[str, int], list_name: str | None = None):
        what = "todo" if kind == "todo" else "list"
        where = f", with the list “{list_name}”" if list_name else ""
        super().__init__(f"The {what} “{name}” is in the trash{where}.")
        self.kind, self.name, self.entry, self.list_name = kind, name, entry, list_name
