"""Question kinds beyond A–D (true/false, select all that apply, typed answers), explanations
and per-quiz settings: new nullable or defaulted columns only, old rows stay as they are."""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('quiz', 'question_seconds', SmallIntegerField(null=True)),
        migrator.add_column('quiz', 'window_hours', IntegerField(null=True)),
        migrator.add_column('quiz', 'shuffle_questions', BooleanField(null=True)),
        migrator.add_column('quiz', 'shuffle_options', BooleanField(null=True)),
        migrator.add_column('quiz_question', 'kind', CharField(max_length=10, default='single')),
        migrator.add_column('quiz_question', 'options_json', TextField(null=True)),
        migrator.add_column('quiz_question', 'correct_set', CharField(max_length=8, null=True)),
        migrator.add_column('quiz_question', 'accepted_answers', TextField(null=True)),
        migrator.add_column('quiz_question', 'explanation', TextField(null=True)),
        migrator.add_column('quiz_question', 'image_file_id', CharField(max_length=255, null=True)),
        migrator.add_column('quiz_attempt', 'question_seconds', SmallIntegerField(null=True)),
        migrator.add_column('quiz_attempt', 'current_kind', CharField(max_length=10, null=True)),
        migrator.add_column('quiz_attempt', 'selection', CharField(max_length=8, null=True)),
        migrator.add_column('quiz_answer', 'selected_set', CharField(max_length=8, null=True)),
        migrator.add_column('quiz_answer', 'typed_text', TextField(null=True)),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column('quiz_answer', 'typed_text'),
        migrator.drop_column('quiz_answer', 'selected_set'),
        migrator.drop_column('quiz_attempt', 'selection'),
        migrator.drop_column('quiz_attempt', 'current_kind'),
        migrator.drop_column('quiz_attempt', 'question_seconds'),
        migrator.drop_column('quiz_question', 'image_file_id'),
        migrator.drop_column('quiz_question', 'explanation'),
        migrator.drop_column('quiz_question', 'accepted_answers'),
        migrator.drop_column('quiz_question', 'correct_set'),
        migrator.drop_column('quiz_question', 'options_json'),
        migrator.drop_column('quiz_question', 'kind'),
        migrator.drop_column('quiz', 'shuffle_options'),
        migrator.drop_column('quiz', 'shuffle_questions'),
        migrator.drop_column('quiz', 'window_hours'),
        migrator.drop_column('quiz', 'question_seconds'),
    )
