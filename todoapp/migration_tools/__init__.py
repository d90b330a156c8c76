"""What todoapp adds to Flask-Migrate, in one place.

Flask-Migrate gives ``flask db ...`` around Alembic. This package holds what
the project puts on top, so that a schema change cannot lose data quietly:

- ``runner``: the body of ``migrations/env.py``. One run of ``flask db
  upgrade`` at a time (SQLite: a lock file; PostgreSQL: an advisory lock),
  each revision in a transaction of its own. On PostgreSQL, statements wait
  for table locks only briefly and the revision is retried, so a migration
  never makes the app's queries queue for long. On SQLite, foreign keys are
  off for the run, as SQLite's procedure for rebuilding a table prescribes,
  and are checked before each commit: a rebuild of ``users`` can no longer
  cascade into ``todos``. It also names new revisions (``naming``) and teaches
  autogenerate what Alembic does not compare (``autogen``).
- ``sqlite``: what a SQLite table rebuild must keep that batch mode loses
  (AUTOINCREMENT, the id sequence); ``offline``: ``--sql`` scripts that stop
  at their first error, for every revision (a shadow database gives each
  rebuild its table).
- ``online``: the operations a revision uses on a live PostgreSQL
  (``CREATE INDEX CONCURRENTLY``, foreign keys ``NOT VALID`` then
  validated, NOT NULL through a validated CHECK, batched backfills), each safe
  to run again after an interrupted run.
- ``naming``: revision ids such as ``0004_todo_ids_never_reused``, numbered by
  their depth in the graph, so two branches can each add one and a merge
  revision joins them.
- ``manifest``: ``migrations/manifest.sha256`` and ``helpers.sha256``, the
  checksums that keep a committed revision, and the project code it runs,
  from being edited (``make db-freeze``); the runner and the lint refuse.
- ``lint``: ``flask db lint``, the migration guide's risk table run over the
  operations of each revision; ``pglocks`` adds PostgreSQL's view, the
  revision's offline SQL rated by the project's lock rules and by squawk.
- ``snapshot`` and ``compare``: every table's rows, read from a live database
  or a copy in memory, and set against the same rows before a change,
  through what the revisions declare they change.
- ``stairway``: the data stairway's machinery (every revision in order, rows
  for every table, what a downgrade declares it may refuse or delete), used
  by ``tests/test_migration_stairway.py`` for every revision, future ones
  included.
- ``roundtrip``: ``make db-test-migrations``, upgrade -> downgrade -> upgrade
  on copies of the database, every table compared with the data before each step.

Web workers never import this package: only ``create_app(migrations=True)``,
which the command line uses, does.
"""
