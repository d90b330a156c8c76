"""Alembic environment for todoapp, run by Flask-Migrate inside the app.

Everything it does beyond the generated file lives in
todoapp/migration_tools/runner.py: one lock per run and one transaction per
revision, bounded lock waits with retries on PostgreSQL, foreign keys off and
checked on SQLite, offline scripts that stop at the first error, and house
revision ids.
"""

from alembic import context

from todoapp.migration_tools import runner

runner.run(context)
