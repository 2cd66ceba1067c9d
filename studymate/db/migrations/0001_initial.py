"""Initial schema: the whole data model, frozen as it was when StudyMate 2 started."""
from peewee import *


def up(migrator, db):
    class AlertLog(Model):
        key = CharField(primary_key=True)
        last_sent_at = DateTimeField()
        suppressed = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'alert_log'
    db.create_tables([AlertLog])

    class Mentor(Model):
        telegram_id = BigIntegerField(unique=True)
        name = CharField(max_length=100)
        group_chat_id = BigIntegerField()
        language = CharField(max_length=5, default='ru')
        is_active = BooleanField(default=True)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'mentor'
    db.create_tables([Mentor])

    class Student(Model):
        telegram_id = BigIntegerField(unique=True)
        username = CharField(null=True, max_length=100)
        first_name = CharField(max_length=100, default='')
        last_name = CharField(max_length=100, default='')
        full_name = CharField(max_length=200, default='')
        profile_completed = BooleanField(default=False)
        mentor = ForeignKeyField(Mentor, null=True, on_delete='SET NULL')
        language = CharField(max_length=5, default='ru')
        joined_at = DateTimeField()
        last_active = DateTimeField()
        current_streak = IntegerField(default=0)
        longest_streak = IntegerField(default=0)
        last_quiz_date = DateField(null=True)
        membership_checked_at = DateTimeField(null=True)
        blocked_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'student'
            indexes = ((('mentor', 'joined_at'), False),)
    db.create_tables([Student])

    class Topic(Model):
        mentor = ForeignKeyField(Mentor, on_delete='CASCADE')
        name = CharField(max_length=100)
        order = IntegerField(default=0)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'topic'
    db.create_tables([Topic])

    class Material(Model):
        topic = ForeignKeyField(Topic, on_delete='CASCADE')
        title = CharField(max_length=200)
        file_id = CharField()
        file_name = CharField(max_length=200, default='')
        kind = CharField(max_length=16, default='document')
        order = IntegerField(default=0)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'material'
            indexes = ((('topic', 'created_at'), False),)
    db.create_tables([Material])

    class Download(Model):
        student = ForeignKeyField(Student, on_delete='CASCADE')
        material = ForeignKeyField(Material, on_delete='CASCADE')
        downloaded_at = DateTimeField(index=True)
        class Meta:
            database = db
            table_name = 'download'
            indexes = ((('material', 'downloaded_at'), False),)
    db.create_tables([Download])

    class FsmRecord(Model):
        key = CharField(primary_key=True)
        state = CharField(null=True)
        data = TextField(default='{}')
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'fsm_record'
    db.create_tables([FsmRecord])

    class OutboxBatch(Model):
        mentor = ForeignKeyField(Mentor, null=True, on_delete='SET NULL')
        kind = CharField(max_length=32)
        total = IntegerField(default=0)
        status_chat_id = BigIntegerField(null=True)
        status_message_id = BigIntegerField(null=True)
        created_at = DateTimeField()
        finished_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'outbox_batch'
    db.create_tables([OutboxBatch])

    class OutboxMessage(Model):
        batch = ForeignKeyField(OutboxBatch, null=True, on_delete='CASCADE')
        chat_id = BigIntegerField()
        method = CharField(max_length=32, default='sendMessage')
        payload = TextField(default='{}')
        status = CharField(max_length=16, default='pending')
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField()
        claimed_until = DateTimeField(null=True)
        dedupe_key = CharField(unique=True, null=True, max_length=128)
        error = TextField(null=True)
        created_at = DateTimeField()
        sent_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'outbox_message'
            indexes = ((('status', 'next_attempt_at'), False), (('batch', 'status'), False))
    db.create_tables([OutboxMessage])

    class Question(Model):
        mentor = ForeignKeyField(Mentor, on_delete='CASCADE')
        student = ForeignKeyField(Student, null=True, on_delete='SET NULL')
        student_telegram_id = BigIntegerField(null=True)
        text = TextField()
        reply_text = TextField(default='')
        is_answered = BooleanField(default=False)
        created_at = DateTimeField(index=True)
        replied_at = DateTimeField(null=True)
        message_id = BigIntegerField(null=True)
        delivered_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'question'
            indexes = ((('mentor', 'is_answered'), False),)
    db.create_tables([Question])

    class Quiz(Model):
        mentor = ForeignKeyField(Mentor, on_delete='CASCADE')
        title = CharField(max_length=200)
        topic = CharField(null=True, max_length=100)
        is_active = BooleanField(default=True)
        quiz_type = CharField(max_length=20, default='practice')
        available_from = DateTimeField(null=True)
        available_until = DateTimeField(null=True)
        max_attempts = IntegerField(default=999)
        created_at = DateTimeField(index=True)
        notified_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'quiz'
            indexes = ((('mentor', 'is_active', 'quiz_type'), False), (('quiz_type', 'available_until'), False))
    db.create_tables([Quiz])

    class QuizAttempt(Model):
        student = ForeignKeyField(Student, on_delete='CASCADE')
        quiz = ForeignKeyField(Quiz, on_delete='CASCADE')
        score = IntegerField(default=0)
        total = IntegerField(default=0)
        started_at = DateTimeField()
        finished_at = DateTimeField(index=True, null=True)
        question_ids = TextField(default='[]')
        current_index = IntegerField(default=0)
        question_deadline = DateTimeField(null=True)
        session_deadline = DateTimeField(null=True)
        shuffle_map = TextField(null=True)
        is_exam = BooleanField(default=False)
        chat_id = BigIntegerField(null=True)
        message_id = BigIntegerField(null=True)
        finish_reason = CharField(null=True, max_length=16)
        class Meta:
            database = db
            table_name = 'quiz_attempt'
            indexes = ((('student', 'quiz'), False), (('quiz', 'finished_at'), False), (('finished_at', 'question_deadline'), False))
    db.create_tables([QuizAttempt])

    class QuizQuestion(Model):
        quiz = ForeignKeyField(Quiz, on_delete='CASCADE')
        question_text = TextField()
        option_a = CharField(max_length=500)
        option_b = CharField(max_length=500)
        option_c = CharField(max_length=500)
        option_d = CharField(max_length=500)
        correct_answer = CharField(max_length=1)
        order = IntegerField(default=0)
        time_bonus = SmallIntegerField(default=0)
        class Meta:
            database = db
            table_name = 'quiz_question'
            indexes = ((('quiz', 'order'), False),)
    db.create_tables([QuizQuestion])

    class QuizAnswer(Model):
        attempt = ForeignKeyField(QuizAttempt, on_delete='CASCADE')
        question = ForeignKeyField(QuizQuestion, on_delete='CASCADE')
        selected_answer = CharField(max_length=1)
        is_correct = BooleanField()
        answered_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'quiz_answer'
            indexes = ((('attempt', 'question'), True),)
    db.create_tables([QuizAnswer])

    class Season(Model):
        mentor = ForeignKeyField(Mentor, on_delete='CASCADE')
        name = CharField(max_length=100)
        start_date = DateField()
        end_date = DateField()
        is_active = BooleanField(default=True)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'season'
            indexes = ((('mentor', 'start_date'), True),)
    db.create_tables([Season])

    class SeasonRating(Model):
        season = ForeignKeyField(Season, on_delete='CASCADE')
        student = ForeignKeyField(Student, on_delete='CASCADE')
        total_ranked_quizzes = IntegerField(default=0)
        total_score = IntegerField(default=0)
        total_possible = IntegerField(default=0)
        avg_percentage = FloatField(default=0.0)
        rating_score = FloatField(default=0.0)
        earliest_attempt_at = DateTimeField(null=True)
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'season_rating'
            indexes = ((('season', 'student'), True), (('season', 'rating_score'), False))
    db.create_tables([SeasonRating])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('season_rating'))
    migrator.migrate(migrator.drop_table('season'))
    migrator.migrate(migrator.drop_table('quiz_answer'))
    migrator.migrate(migrator.drop_table('quiz_question'))
    migrator.migrate(migrator.drop_table('quiz_attempt'))
    migrator.migrate(migrator.drop_table('quiz'))
    migrator.migrate(migrator.drop_table('question'))
    migrator.migrate(migrator.drop_table('outbox_message'))
    migrator.migrate(migrator.drop_table('outbox_batch'))
    migrator.migrate(migrator.drop_table('fsm_record'))
    migrator.migrate(migrator.drop_table('download'))
    migrator.migrate(migrator.drop_table('material'))
    migrator.migrate(migrator.drop_table('topic'))
    migrator.migrate(migrator.drop_table('student'))
    migrator.migrate(migrator.drop_table('mentor'))
    migrator.migrate(migrator.drop_table('alert_log'))

