"""Updates from Telegram are stored before they are confirmed, so a crash loses none."""
from peewee import *


def up(migrator, db):
    class InboxUpdate(Model):
        update_id = BigIntegerField(primary_key=True)
        user_id = BigIntegerField(null=True)
        kind = CharField(max_length=32)
        payload = TextField()
        received_at = DateTimeField()
        handled_at = DateTimeField(null=True)
        replays = SmallIntegerField(default=0)
        class Meta:
            database = db
            table_name = 'inbox_update'
            indexes = ((('user_id', 'handled_at'), False), (('handled_at',), False))
    db.create_tables([InboxUpdate])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('inbox_update'))
