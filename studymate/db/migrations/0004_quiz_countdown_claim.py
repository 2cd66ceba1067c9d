"""The quiz countdown is claimed in the attempt row, so with several bot replicas each
question message is redrawn once per interval, not once per replica."""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('quiz_attempt', 'countdown_index', IntegerField(null=True)),
        migrator.add_column('quiz_attempt', 'countdown_at', DateTimeField(null=True)),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column('quiz_attempt', 'countdown_at'),
        migrator.drop_column('quiz_attempt', 'countdown_index'),
    )
