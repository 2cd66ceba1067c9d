"""New material notices: one pending row per topic, due a while after its last upload."""
from peewee import *


def up(migrator, db):
    class Topic(Model):
        class Meta:
            database = db
            table_name = 'topic'

    class MaterialNotice(Model):
        topic = ForeignKeyField(Topic, unique=True, on_delete='CASCADE')
        first_material = BigIntegerField()
        due_at = DateTimeField(index=True)
        class Meta:
            database = db
            table_name = 'material_notice'

    db.create_tables([MaterialNotice])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('material_notice'))
