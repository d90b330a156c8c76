"""Accounts: create, authenticate, look up, and what administrators do to
them (disable, a temporary password, admin rights). Every change is in the
activity log, in the same transaction."""

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..database import write_transaction
from ..extensions import db
from ..models import USERNAME_MAX, USERNAME_MIN, Todo, User, inbox_id, utcnow
from . import activity, sessions
from .errors import NotFoundError
from .passwords import check_password_rules

# One hash per method, checked against when the username is unknown.
_dummy_hashes: dict[str, str] = {}

USERNAME_PATTERN = re.compile(r"[a-z0-9_.-]+")


def clean_username(raw: str) -> str:
    """Normalise a username and check it; raise ``ValueError`` with the reason."""
    username = (raw or "").strip().lower()
    if not USERNAME_MIN <= len(username) <= USERNAME_MAX:
        raise ValueError(f"Username must be {USERNAME_MIN} to {USERNAME_MAX} characters long.")
    if not USERNAME_PATTERN.fullmatch(username):
        raise ValueError("Username may only contain letters a-z, digits, '_', '.' and '-'.")
    return username


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


def create_user(
    username: str,
    password: str,
    *,
    is_admin: bool = False,
    address: str | None = None,
    on_command_line: bool = False,
) -> User:
    """Create an account (``address``: where it registered from, for the log;
    ``on_command_line``: made by ``flask users create``, not registered).
    :raise ValueError: the username or password breaks a rule, or the username
    is taken (``UsernameTaken``)."""
    username = clean_username(username)
    check_password_rules(password, username=username)
    password_hash = _hash_password(password)
    try:
        with write_transaction() as session:
            user = User(username=username, password_hash=password_hash, is_admin=is_admin)
            session.add(user)
            session.flush()  # the id, for the log and the Inbox
            inbox_id(session, user.id)
            if on_command_line:
                activity.record("account_created", actor_id=None, user_id=user.id)
            else:
                activity.record("register", actor_id=user.id, user_id=user.id, address=address)
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
        _redo_hash(user.id, user.password_hash, password)
    return user


def _redo_hash(user_id: int, old_hash: str, password: str) -> None:
    """Hash the password again with the configured parameters (it was hashed
    with older ones). The hash is made outside any transaction, so no lock is
    held for its time, and stored only if the old one is still there: a
    password changed meanwhile is never overwritten."""
    new_hash = _hash_password(password)
    with write_transaction() as session:
        session.execute(
            update(User)
            .where(User.id == user_id, User.password_hash == old_hash)
            .values(password_hash=new_hash)
        )


class LastAdminError(ValueError):
    def __init__(self, username: str):
        super().__init__(
            f"'{username}' is the last administrator: make someone else an administrator first."
        )


class OwnAccountError(ValueError):
    def __init__(self):
        super().__init__("You cannot do that to your own account: ask another administrator.")


def _locked(username: str, *, with_admins: bool = False) -> tuple[User, list[int]]:
    """The account, read with its row locked, and with ``with_admins`` the ids
    of every enabled administrator, their rows locked too (PostgreSQL; SQLite
    already holds the write lock). All in one statement, in id order: two
    changes at once then lock in the same order and never deadlock.
    :raise NotFoundError: no such user."""
    user = get_user_by_username(username)
    if user is None:
        raise NotFoundError(f"There is no user named '{username}'.")
    rows = User.id == user.id
    if with_admins:
        rows = or_(rows, and_(User.is_admin.is_(True), User.disabled_at.is_(None)))
    locked = db.session.scalars(
        select(User)
        .where(rows)
        .order_by(User.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    admins = [row.id for row in locked if row.is_admin and row.disabled_at is None]
    return user, admins


def set_admin(username: str, is_admin: bool, *, actor_id: int | None = None) -> User:
    """Grant or revoke admin rights. :raise NotFoundError: no such user.
    :raise OwnAccountError: the actor revoking their own.
    :raise LastAdminError: revoking would leave nobody to look after the trash."""
    with write_transaction():
        user, admins = _locked(username, with_admins=not is_admin)
        if not is_admin and user.id == actor_id:
            raise OwnAccountError()
        if user.is_admin and not is_admin and admins == [user.id]:
            raise LastAdminError(user.username)
        if user.is_admin != is_admin:
            user.is_admin = is_admin
            action = "admin_granted" if is_admin else "admin_revoked"
            activity.record(action, actor_id=actor_id, user_id=user.id)
    return user


def set_disabled(username: str, disabled: bool, *, actor_id: int | None = None) -> User:
    """Disable an account (it cannot log in, and its sessions end at their
    next request) or enable it again. :raise NotFoundError: no such user.
    :raise OwnAccountError: the actor disabling their own.
    :raise LastAdminError: it is the last enabled administrator."""
    with write_transaction():
        user, admins = _locked(username, with_admins=disabled)
        if disabled and user.id == actor_id:
            raise OwnAccountError()
        if disabled and user.disabled_at is None:
            if admins == [user.id]:
                raise LastAdminError(user.username)
            user.disabled_at = utcnow()
            sessions.end_all(user.id, reason=sessions.ENDED_BY_DISABLE)
            activity.record("user_disabled", actor_id=actor_id, user_id=user.id)
        elif not disabled and user.disabled_at is not None:
            user.disabled_at = None
            activity.record("user_enabled", actor_id=actor_id, user_id=user.id)
    return user


def set_temporary_password(username: str, *, actor_id: int | None = None) -> str:
    """Give the account a new random password that must be changed at the
    next login, and end its sessions; returns the password, to hand over.
    :raise NotFoundError: no such user. :raise OwnAccountError: the actor's
    own (they change theirs on the account page, knowing the current one)."""
    password = secrets.token_urlsafe(12)
    password_hash = _hash_password(password)
    with write_transaction():
        user, _ = _locked(username)
        if user.id == actor_id:
            raise OwnAccountError()
        user.password_hash = password_hash
        user.must_change_password = True
        sessions.end_all(user.id, reason=sessions.ENDED_BY_RESET)
        activity.record("temporary_password", actor_id=actor_id, user_id=user.id)
    return password


class WrongPassword(ValueError):
    def __init__(self):
        super().__init__("Your current password is not that.")


def change_password(
    user_id: int, current: str, new: str, *, session_token: str | None
) -> str | None:
    """Change one's own password, given the current one. Every session of the
    account ends; the one of ``session_token`` (this one) goes on under a new
    token, which is returned (None: it had ended), so a copy of its cookie
    taken before the change opens nothing.
    :raise WrongPassword: ``current`` is wrong. :raise ValueError: ``new``
    breaks a rule, or is the current one."""
    user = db.session.get(User, user_id)
    if not check_password_hash(user.password_hash, current or ""):
        raise WrongPassword()
    if new == current:
        raise ValueError("The new password must differ from the current one.")
    check_password_rules(new, username=user.username)
    password_hash = _hash_password(new)
    with write_transaction():
        user = db.session.get(User, user_id)
        user.password_hash = password_hash
        user.must_change_password = False
        renewed = sessions.renew(user.id, session_token) if session_token else None
        sessions.end_all(user.id, reason=sessions.ENDED_BY_CHANGE, keep=renewed)
        activity.record("password_changed", actor_id=user.id, user_id=user.id)
    return renewed


def set_hide_completed(user_id: int, hide: bool) -> None:
    """Whether the user's lists show their Completed sections or only say
    how many they hold: kept on the account, for every session and device."""
    with write_transaction() as session:
        session.get(User, user_id).hide_completed = hide


def log_out_everywhere(user_id: int) -> int:
    """End every session of the account, this one too; returns how many."""
    with write_transaction():
        ended = sessions.end_all(user_id, reason=sessions.ENDED_EVERYWHERE)
        activity.record("logout_everywhere", actor_id=user_id, user_id=user_id, count=ended)
    return ended


@dataclass(frozen=True)
class Account:
    """A row of the admin's user list."""

    id: int
    username: str
    is_admin: bool
    disabled_at: datetime | None
    last_login_at: datetime | None
    must_change_password: bool
    live: int
    trashed: int


def list_accounts(per_page: int, *, after_name: str | None = None) -> list[Account]:
    """A page of accounts in username order (after ``after_name``), with
    their counts of live and trashed todos: counted for this page's users
    only, through the index on todos.user_id."""
    stmt = select(User).order_by(User.username).limit(per_page + 1)
    if after_name:
        stmt = stmt.where(User.username > after_name)
    found = db.session.scalars(stmt).all()
    ids = [user.id for user in found]
    counts = {
        (user_id, trashed): total
        for user_id, trashed, total in db.session.execute(
            select(Todo.user_id, Todo.deleted_at.is_not(None), func.count())
            .where(Todo.user_id.in_(ids))
            .group_by(Todo.user_id, Todo.deleted_at.is_not(None))
            .execution_options(include_trashed=True)
        )
    }
    return [
        Account(
            user.id,
            user.username,
            user.is_admin,
            user.disabled_at,
            user.last_login_at,
            user.must_change_password,
            counts.get((user.id, False), 0),
            counts.get((user.id, True), 0),
        )
        for user in found
    ]
