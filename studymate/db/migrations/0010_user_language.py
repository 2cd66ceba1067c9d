"""The chosen language of users who are neither mentors nor students (admins)."""
from peewee import *


def up(migrator, db):
    class UserLanguage(Model):
        telegram_id = BigIntegerField(unique=True)
        language = CharField(max_length=5)
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'user_language'
    db.create_tables([UserLanguage])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('user_language'))
