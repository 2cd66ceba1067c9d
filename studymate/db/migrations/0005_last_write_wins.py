"""What production does to a service: FSM rows carry a version (Redis never takes an older
one back after an outage); exam attempts take a numbered slot, unique per student and quiz
(the database, not a check in Python, keeps a one-attempt exam to one attempt across replicas);
accepted webhook update ids are kept in the database (a repeated delivery acts once without
Redis too). Existing attempts get no slot: v1 imports may hold several per student and quiz."""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('fsm_record', 'version', BigIntegerField(default=0)),
        migrator.add_column('quiz_attempt', 'exam_slot', IntegerField(null=True)),
        migrator.add_index('quiz_attempt', ('student_id', 'quiz_id', 'exam_slot'), True),
    )

    class WebhookUpdate(Model):
        bot_id = BigIntegerField()
        update_id = BigIntegerField()
        accepted_at = DateTimeField(index=True)
        class Meta:
            database = db
            table_name = 'webhook_update'
            indexes = ((('bot_id', 'update_id'), True),)
    db.create_tables([WebhookUpdate])


def down(migrator, db):
    migrator.migrate(
        migrator.drop_table('webhook_update'),
        migrator.drop_index('quiz_attempt', 'quiz_attempt_student_id_quiz_id_exam_slot'),
        migrator.drop_column('quiz_attempt', 'exam_slot'),
        migrator.drop_column('fsm_record', 'version'),
    )
