"""Anonymous questions: the id of the message that brought one to the mentor (so it can be
marked answered) and when the mentor dismissed it without replying."""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('question', 'mentor_message_id', BigIntegerField(null=True)),
        migrator.add_column('question', 'dismissed_at', DateTimeField(null=True)),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column('question', 'dismissed_at'),
        migrator.drop_column('question', 'mentor_message_id'),
    )
