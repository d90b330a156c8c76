"""What the services raise when a request cannot be met, in the app's own
terms. The web layer maps each to a status code in one place
(``register_errorhandlers``); the command line prints the message."""


class NotFoundError(LookupError):
    """What was asked for does not exist, or is not this user's to see:
    the two look the same, so nobody learns of another user's todos."""
