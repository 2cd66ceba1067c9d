"""Students' notification preferences, and the claims of reminders, digests and nudges."""
from peewee import *


def up(migrator, db):
    class Student(Model):
        class Meta:
            database = db
            table_name = 'student'

    class NotificationPrefs(Model):
        student = ForeignKeyField(Student, unique=True, on_delete='CASCADE')
        new_quizzes = BooleanField(default=True)
        reminders = BooleanField(default=True)
        materials = BooleanField(default=True)
        streak = BooleanField(default=False)
        quiet_start = SmallIntegerField(null=True)
        quiet_end = SmallIntegerField(null=True)
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'notification_prefs'

    class Reminder(Model):
        kind = CharField(max_length=16)
        chat_id = BigIntegerField()
        subject = CharField(max_length=64)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'reminder'
            indexes = ((('kind', 'chat_id', 'subject'), True),)

    db.create_tables([NotificationPrefs, Reminder])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('reminder'))
    migrator.migrate(migrator.drop_table('notification_prefs'))
