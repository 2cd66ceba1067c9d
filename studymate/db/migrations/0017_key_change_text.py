"""A key change records any correct answer: a select-all set ("ACE") or typed answers
("Nukus | Нукус"), not only one letter."""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.alter_column_type('quiz_key_change', 'old_answer', TextField()),
        migrator.alter_column_type('quiz_key_change', 'new_answer', TextField()),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.alter_column_type('quiz_key_change', 'old_answer', CharField(max_length=1)),
        migrator.alter_column_type('quiz_key_change', 'new_answer', CharField(max_length=1)),
    )
