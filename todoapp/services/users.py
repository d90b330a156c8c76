"""Accounts: create, authenticate, look up."""

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..database import write_transaction
from ..extensions import db
from ..models import User, check_password_rules, clean_username

# One hash per method, checked against when the username is unknown.
_dummy_hashes: dict[str, str] = {}


def _hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


class UsernameTaken(ValueError):
    def __init__(self, username: str):
        super().__init__(f"The username '{username}' is already taken.")


def get_user_by_username(username: str) -> User | None:
    try:
        username = clean_username(username)
    except ValueError:
        return None
    return db.session.scalar(select(User).where(User.username == username))


def username_taken(username: str) -> bool:
    return get_user_by_username(username) is not None


def create_user(username: str, password: str, *, is_admin: bool = False) -> User:
    """Create an account. :raise ValueError: the username or password breaks a
    rule, or the username is taken (``UsernameTaken``)."""
    username = clean_username(username)
    check_password_rules(password)
    password_hash = _hash_password(password)
    try:
        with write_transaction() as session:
            user = User(username=username, password_hash=password_hash, is_admin=is_admin)
            session.add(user)
    except IntegrityError:
        raise UsernameTaken(username) from None
    return user


def authenticate(username: str, password: str) -> User | None:
    """The user with this username and password, or None. An unknown username
    costs one password check too, so timing does not tell which names exist."""
    user = get_user_by_username(username)
    if user is None:
        method = current_app.config["PASSWORD_HASH_METHOD"]
        if method not in _dummy_hashes:
            _dummy_hashes[method] = _hash_password("not anyone's password")
        check_password_hash(_dummy_hashes[method], password or "")
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    if not user.password_hash.startswith(current_app.config["PASSWORD_HASH_METHOD"] + "$"):
        # Hashed with other parameters (an older default): redo it while the
        # password is at hand.
        with write_transaction():
            user.password_hash = _hash_password(password)
    return user


class LastAdminError(ValueError):
    def __init__(self, username: str):
        super().__init__(
            f"'{username}' is the last administrator: make someone else an administrator first."
        )


def set_admin(username: str, is_admin: bool) -> User:
    """Grant or revoke admin rights. :raise LookupError: no such user.
    :raise LastAdminError: revoking would leave nobody to look after the trash."""
    with write_transaction() as session:
        user = get_user_by_username(username)
        if user is None:
            raise LookupError(f"There is no user named '{username}'.")
        if user.is_admin and not is_admin:
            # Lock the admin rows (PostgreSQL; SQLite already holds the write
            # lock) so two revokes at once cannot both see "another admin left".
            admins = session.scalars(
                select(User.id).where(User.is_admin.is_(True)).with_for_update()
            ).all()
            if admins == [user.id]:
                raise LastAdminError(user.username)
        user.is_admin = is_admin
    return user
