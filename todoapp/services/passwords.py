"""The rules a new password follows (ASVS 6.2.4, 6.2.11), wherever one is
chosen: the register page, changing one's password, ``flask users``."""

import threading
from functools import cache

PASSWORD_MIN, PASSWORD_MAX = 8, 1024
# zxcvbn slows down sharply on long inputs, and what a long password's first
# 100 characters do not already make strong, the rest will not either.
PASSWORD_SCORED_CHARS = 100
# zxcvbn's 0-4 scale: below 2 a password falls within a million guesses.
PASSWORD_MIN_SCORE = 2
# check_password_rules in one sentence, for the hint beside a new-password field.
PASSWORD_RULES = (
    f"At least {PASSWORD_MIN} characters, not a common password, and not containing your username."
)


def check_password_rules(password: str, username: str | None = None) -> None:
    """Check a new password; raise ``ValueError`` with the reason, in words
    for the person choosing it. The rules (ASVS 6.2.4, 6.2.11): a length
    range; not on zxcvbn's list of common passwords, whatever the case; not
    containing the account's ``username``; and a zxcvbn score of at least
    PASSWORD_MIN_SCORE. Every place a password is set passes the username."""
    if len(password or "") < PASSWORD_MIN:
        raise ValueError(f"Password must be at least {PASSWORD_MIN} characters long.")
    if len(password) > PASSWORD_MAX:
        raise ValueError(f"Password must be at most {PASSWORD_MAX} characters long.")
    folded = password.lower()
    if folded in _common_passwords():
        raise ValueError("That password is one of the most common ones: choose another.")
    if username and username.lower() in folded:
        raise ValueError("Your password can't contain your username.")
    score, warning = _password_strength(password, username)
    if score < PASSWORD_MIN_SCORE:
        reason = warning or "That password would be easy to guess."
        raise ValueError(f"{reason} Add a few uncommon words to make it stronger.")


@cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn is imported when a password is first checked, not by every web
    # worker: its word lists take some 15 MB.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


# zxcvbn keeps the user inputs of the call in progress in a module global, so
# two threads scoring at once could see each other's usernames.
_zxcvbn_lock = threading.Lock()


def _password_strength(password: str, username: str | None) -> tuple[int, str]:
    """zxcvbn's score (0-4) for the password's first PASSWORD_SCORED_CHARS
    characters, and its warning ("" when it has none)."""
    from zxcvbn import zxcvbn

    inputs = [username] if username else []
    with _zxcvbn_lock:
        result = zxcvbn(
            password[:PASSWORD_SCORED_CHARS], user_inputs=inputs, max_length=PASSWORD_SCORED_CHARS
        )
    return result["score"], result["feedback"]["warning"]
