"""An answer moves its attempt on (current question, deadline) and nothing indexed may change
with it: PostgreSQL then updates the row in place (a HOT update, about half the WAL) instead of
adding an entry to each of the attempt's eight indexes. The sweeper finds running attempts by
``finished_at`` alone; there are only as many of them as students taking a quiz right now."""
from peewee import *


def up(migrator, db):
    # IF EXISTS: a quiz_attempt table rebuilt by SQLite (its way to alter a column) may lack it.
    db.execute_sql('DROP INDEX IF EXISTS quizattempt_finished_at_question_deadline')


def down(migrator, db):
    migrator.migrate(
        migrator.add_index('quiz_attempt', ('finished_at', 'question_deadline'), False),
    )
