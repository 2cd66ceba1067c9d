"""A record of every correct answer changed after students had answered the question."""
from peewee import *


def up(migrator, db):
    class Mentor(Model):
        class Meta:
            database = db
            table_name = 'mentor'

    class Quiz(Model):
        class Meta:
            database = db
            table_name = 'quiz'

    class QuizQuestion(Model):
        class Meta:
            database = db
            table_name = 'quiz_question'

    class QuizKeyChange(Model):
        quiz = ForeignKeyField(Quiz, on_delete='CASCADE')
        question = ForeignKeyField(QuizQuestion, null=True, on_delete='SET NULL')
        question_number = IntegerField()
        mentor = ForeignKeyField(Mentor, null=True, on_delete='SET NULL')
        old_answer = CharField(max_length=1)
        new_answer = CharField(max_length=1)
        rescored = IntegerField(default=0)
        changed_at = DateTimeField()

        class Meta:
            database = db
            table_name = 'quiz_key_change'
            indexes = ((('quiz', 'changed_at'), False),)
    db.create_tables([QuizKeyChange])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('quiz_key_change'))
