"""``studymate import-v1`` remembers which row each StudyMate v1 row became."""
from peewee import *


def up(migrator, db):
    class V1ImportMap(Model):
        source = CharField(max_length=32)
        entity = CharField(max_length=32)
        v1_id = BigIntegerField()
        new_id = BigIntegerField()
        imported_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'v1_import_map'
            indexes = ((('source', 'entity', 'v1_id'), True),)
    db.create_tables([V1ImportMap])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('v1_import_map'))
