"""Extension objects, created once and bound to the app in ``create_app``."""

from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Every constraint and index gets a predictable name, so migrations can refer
# to them on every database (SQLite leaves unnamed constraints nameless).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# A request that only reads sends no BEGIN (nor a ROLLBACK at its end): the
# session's connections run in autocommit, each statement on its own, and
# database.write_transaction() takes a real transaction for every change.
db = SQLAlchemy(
    model_class=Base, session_options={"execution_options": {"isolation_level": "AUTOCOMMIT"}}
)
csrf = CSRFProtect()
login_manager = LoginManager()

# No inline script or style anywhere, so the policy needs no 'unsafe-inline'.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
