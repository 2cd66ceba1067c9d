"""The data model of v1 (see ``studymate.services.import_v1``) plus this product's durable state.

Conventions: every datetime column holds naive UTC (``utcnow()``); local dates are derived
with the school's ``TIMEZONE`` in ``services``. Schema changes go through numbered migrations
in ``studymate/db/migrations``; a test proves they produce exactly these models.
"""

from __future__ import annotations

import datetime as dt

from peewee import (
    BigIntegerField,
    BooleanField,
    CharField,
    DatabaseProxy,
    DateField,
    DateTimeField,
    DoubleField,
    ForeignKeyField,
    IntegerField,
    Model,
    SmallIntegerField,
    TextField,
)

database_proxy = DatabaseProxy()


def utcnow() -> dt.datetime:
    """Naive UTC now, the only form datetimes take in the database."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class BaseModel(Model):
    class Meta:
        database = database_proxy
        legacy_table_names = False


class Mentor(BaseModel):
    telegram_id = BigIntegerField(unique=True)
    name = CharField(max_length=100)
    group_chat_id = BigIntegerField()
    language = CharField(max_length=5, default="ru")
    is_active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)


class Student(BaseModel):
    telegram_id = BigIntegerField(unique=True)
    username = CharField(max_length=100, null=True)
    first_name = CharField(max_length=100, default="")
    last_name = CharField(max_length=100, default="")
    full_name = CharField(max_length=200, default="")
    profile_completed = BooleanField(default=False)
    mentor = ForeignKeyField(Mentor, null=True, on_delete="SET NULL", backref="students")
    language = CharField(max_length=5, default="ru")
    joined_at = DateTimeField(default=utcnow)
    last_active = DateTimeField(default=utcnow)
    current_streak = IntegerField(default=0)
    longest_streak = IntegerField(default=0)
    last_quiz_date = DateField(null=True)
    # When group membership was last confirmed with getChatMember (access re-check TTL).
    membership_checked_at = DateTimeField(null=True)
    # Set when Telegram answered 403 "bot was blocked by the user"; cleared on the next update.
    blocked_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("mentor", "joined_at"), False),)


class Topic(BaseModel):
    mentor = ForeignKeyField(Mentor, on_delete="CASCADE", backref="topics")
    name = CharField(max_length=100)
    order = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)


class Material(BaseModel):
    topic = ForeignKeyField(Topic, on_delete="CASCADE", backref="materials")
    title = CharField(max_length=200)
    file_id = CharField(max_length=255)
    file_name = CharField(max_length=200, default="")
    # document | photo | video | audio | voice: decides the send method (v1 sent photos as documents).
    kind = CharField(max_length=16, default="document")
    order = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("topic", "created_at"), False),)


class Download(BaseModel):
    student = ForeignKeyField(Student, on_delete="CASCADE", backref="downloads")
    material = ForeignKeyField(Material, on_delete="CASCADE", backref="downloads")
    downloaded_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("material", "downloaded_at"), False),)


class Question(BaseModel):
    """An anonymous question; the student is kept for replies, never shown to the mentor."""

    mentor = ForeignKeyField(Mentor, on_delete="CASCADE", backref="questions")
    student = ForeignKeyField(Student, null=True, on_delete="SET NULL", backref="questions")
    student_telegram_id = BigIntegerField(null=True)
    text = TextField()
    reply_text = TextField(default="")
    is_answered = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow, index=True)
    replied_at = DateTimeField(null=True)
    message_id = BigIntegerField(null=True)
    # Null until the mentor actually received it (kept and re-sent when undeliverable).
    delivered_at = DateTimeField(null=True)
    mentor_message_id = BigIntegerField(null=True)  # the message that brought it to the mentor
    dismissed_at = DateTimeField(null=True)  # the mentor put it aside without replying

    class Meta:
        indexes = ((("mentor", "is_answered"), False),)


class Quiz(BaseModel):
    mentor = ForeignKeyField(Mentor, on_delete="CASCADE", backref="quizzes")
    title = CharField(max_length=200)
    topic = CharField(max_length=100, null=True)
    is_active = BooleanField(default=True)
    quiz_type = CharField(max_length=20, default="practice")
    available_from = DateTimeField(null=True)
    available_until = DateTimeField(null=True)
    max_attempts = IntegerField(default=999)
    created_at = DateTimeField(default=utcnow, index=True)
    # When students were told the quiz is open (scheduled quizzes notify at opening).
    notified_at = DateTimeField(null=True)
    # Settings from the file's header; null = the defaults (the bot's seconds, 48 h,
    # options shuffled in exams only, questions in file order).
    question_seconds = SmallIntegerField(null=True)
    window_hours = IntegerField(null=True)
    shuffle_questions = BooleanField(null=True)
    shuffle_options = BooleanField(null=True)

    class Meta:
        indexes = (
            (("mentor", "is_active", "quiz_type"), False),
            (("quiz_type", "available_until"), False),
        )


class QuizQuestion(BaseModel):
    quiz = ForeignKeyField(Quiz, on_delete="CASCADE", backref="questions")
    question_text = TextField()
    option_a = CharField(max_length=500)
    option_b = CharField(max_length=500)
    option_c = CharField(max_length=500)
    option_d = CharField(max_length=500)
    correct_answer = CharField(max_length=1)
    order = IntegerField(default=0)
    time_bonus = SmallIntegerField(default=0)
    # single | truefalse | multi | typed. Old rows: single with options A–D above.
    kind = CharField(max_length=10, default="single")
    # Every option as a JSON list when there are not exactly four (option_a… hold the first
    # four, "" past the last); null: the four columns above.
    options_json = TextField(null=True)
    correct_set = CharField(max_length=8, null=True)  # "AC": select all that apply
    accepted_answers = TextField(null=True)  # JSON list of typed answers
    explanation = TextField(null=True)
    image_file_id = CharField(max_length=255, null=True)

    class Meta:
        indexes = ((("quiz", "order"), False),)


class QuizAttempt(BaseModel):
    """One run through a quiz; its progress lives here so a restart loses nothing."""

    student = ForeignKeyField(Student, on_delete="CASCADE", backref="quiz_attempts")
    quiz = ForeignKeyField(Quiz, on_delete="CASCADE", backref="attempts")
    score = IntegerField(default=0)
    total = IntegerField(default=0)
    started_at = DateTimeField(default=utcnow)
    finished_at = DateTimeField(null=True, index=True)
    # Durable progress (decision 1): ordered question ids, position, deadlines, shuffle map.
    question_ids = TextField(default="[]")
    current_index = IntegerField(default=0)
    question_deadline = DateTimeField(null=True)
    session_deadline = DateTimeField(null=True)
    shuffle_map = TextField(null=True)
    is_exam = BooleanField(default=False)
    chat_id = BigIntegerField(null=True)
    message_id = BigIntegerField(null=True)
    # completed | expired | abandoned | cancelled: how the attempt ended (cancelled: a
    # practice quiz left part-way, which counts nowhere).
    finish_reason = CharField(max_length=16, null=True)
    # The countdown's claim (shared by replicas): which question it last saw, and when it
    # last redrew the message (or first saw that question).
    countdown_index = IntegerField(null=True)
    countdown_at = DateTimeField(null=True)
    # Exam attempts are numbered 1..max_attempts per student and quiz, uniquely, so concurrent
    # starts (several replicas) cannot both take the last one. Null for practice and v1 imports.
    exam_slot = IntegerField(null=True)
    # The quiz's "Seconds:" when it started (null: the bot's setting), the current question's
    # kind (null: single; a typed one takes the student's next text message) and the options
    # toggled so far on a select-all question (original letters), kept until it is submitted.
    question_seconds = SmallIntegerField(null=True)
    current_kind = CharField(max_length=10, null=True)
    selection = CharField(max_length=8, null=True)

    class Meta:
        indexes = (
            (("student", "quiz"), False),
            (("student", "quiz", "exam_slot"), True),
            (("quiz", "finished_at"), False),
        )


class QuizAnswer(BaseModel):
    attempt = ForeignKeyField(QuizAttempt, on_delete="CASCADE", backref="answers")
    question = ForeignKeyField(QuizQuestion, on_delete="CASCADE", backref="answers")
    selected_answer = CharField(max_length=1)  # a letter, "-" timed out, "" set or typed
    is_correct = BooleanField()
    selected_set = CharField(max_length=8, null=True)  # select all that apply: "AC"
    typed_text = TextField(null=True)  # a typed answer as sent
    answered_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("attempt", "question"), True),)


class QuizKeyChange(BaseModel):
    """A correct answer changed after students had answered the question: who, when, old and
    new key (a letter, a select-all set "AC", typed answers "Nukus | Нукус"), and how many
    results it re-scored (the quiz screen lists them)."""

    quiz = ForeignKeyField(Quiz, on_delete="CASCADE", backref="key_changes")
    question = ForeignKeyField(QuizQuestion, null=True, on_delete="SET NULL", backref="key_changes")
    question_number = IntegerField()  # its position in the quiz when it was changed
    mentor = ForeignKeyField(Mentor, null=True, on_delete="SET NULL", backref="key_changes")
    old_answer = TextField()
    new_answer = TextField()
    rescored = IntegerField(default=0)  # finished results whose score changed
    changed_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("quiz", "changed_at"), False),)


class Season(BaseModel):
    mentor = ForeignKeyField(Mentor, on_delete="CASCADE", backref="seasons")
    name = CharField(max_length=100)
    start_date = DateField()
    end_date = DateField()
    is_active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        # One season per mentor and month: concurrent creation cannot duplicate it.
        indexes = ((("mentor", "start_date"), True),)


class SeasonRating(BaseModel):
    season = ForeignKeyField(Season, on_delete="CASCADE", backref="ratings")
    student = ForeignKeyField(Student, on_delete="CASCADE", backref="season_ratings")
    total_ranked_quizzes = IntegerField(default=0)
    total_score = IntegerField(default=0)
    total_possible = IntegerField(default=0)
    # Double precision: PostgreSQL's ``real`` (FloatField) is single precision, and a stored
    # 81.9 compared with a Python 81.9 (a double) is 81.90000153 ≠ 81.9.
    avg_percentage = DoubleField(default=0.0)
    rating_score = DoubleField(default=0.0)
    earliest_attempt_at = DateTimeField(null=True)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("season", "student"), True),
            (("season", "rating_score"), False),
        )


class AllTimeRating(BaseModel):
    """A student's all-time rating with one mentor, kept like a SeasonRating."""

    mentor = ForeignKeyField(Mentor, on_delete="CASCADE", backref="all_time_ratings")
    student = ForeignKeyField(Student, on_delete="CASCADE", backref="all_time_ratings")
    total_ranked_quizzes = IntegerField(default=0)
    total_score = IntegerField(default=0)
    total_possible = IntegerField(default=0)
    avg_percentage = DoubleField(default=0.0)
    rating_score = DoubleField(default=0.0)
    earliest_attempt_at = DateTimeField(null=True)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("mentor", "student"), True),
            (("mentor", "rating_score"), False),
        )


class OutboxBatch(BaseModel):
    """A bulk send (broadcast, quiz notification) whose progress a mentor watches."""

    mentor = ForeignKeyField(Mentor, null=True, on_delete="SET NULL", backref="outbox_batches")
    kind = CharField(max_length=32)
    total = IntegerField(default=0)
    status_chat_id = BigIntegerField(null=True)
    status_message_id = BigIntegerField(null=True)
    created_at = DateTimeField(default=utcnow)
    finished_at = DateTimeField(null=True)


class OutboxMessage(BaseModel):
    """One message to one chat, sent by the paced sender exactly once (decision 3)."""

    batch = ForeignKeyField(OutboxBatch, null=True, on_delete="CASCADE", backref="messages")
    chat_id = BigIntegerField()
    method = CharField(max_length=32, default="sendMessage")
    payload = TextField(default="{}")
    # pending | sending | sent | failed
    status = CharField(max_length=16, default="pending")
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    claimed_until = DateTimeField(null=True)
    dedupe_key = CharField(max_length=128, null=True, unique=True)
    error = TextField(null=True)
    created_at = DateTimeField(default=utcnow)
    sent_at = DateTimeField(null=True)

    class Meta:
        indexes = (
            (("status", "next_attempt_at"), False),
            (("batch", "status"), False),
        )


class FsmRecord(BaseModel):
    """Durable aiogram FSM state and data, one row per storage key (decision 4)."""

    key = CharField(max_length=255, primary_key=True)
    state = CharField(max_length=255, null=True)
    data = TextField(default="{}")
    updated_at = DateTimeField(default=utcnow)
    # Raised by every write; Redis keeps the version it mirrors and never takes an older one.
    version = BigIntegerField(default=0)


class V1ImportMap(BaseModel):
    """Which row a StudyMate v1 row became (``studymate import-v1``): a second run of the
    same v1 database imports nothing twice. ``source`` tells v1 databases apart."""

    source = CharField(max_length=32)
    entity = CharField(max_length=32)
    v1_id = BigIntegerField()
    new_id = BigIntegerField()
    imported_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("source", "entity", "v1_id"), True),)


class WebhookUpdate(BaseModel):
    """An update id accepted in webhook mode: a repeated delivery (Telegram retrying, nginx
    passing a POST to another replica) finds it and is dropped. Kept for an hour."""

    bot_id = BigIntegerField()
    update_id = BigIntegerField()
    accepted_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("bot_id", "update_id"), True),)


class InboxUpdate(BaseModel):
    """An update from Telegram, stored before Telegram is told it arrived and marked once
    handled: a crash of the bot loses none, and the next start handles the rest once."""

    update_id = BigIntegerField(primary_key=True)
    user_id = BigIntegerField(null=True)  # the sender: per-user order, pending quiz taps
    kind = CharField(max_length=32)  # message | callback_query | ...
    payload = TextField()  # the update as Telegram sent it (JSON)
    # When getUpdates (or the webhook) delivered it: quiz deadlines are judged against this.
    received_at = DateTimeField()
    handled_at = DateTimeField(null=True)
    replays = SmallIntegerField(default=0)  # starts that found it unhandled

    class Meta:
        indexes = (
            (("user_id", "handled_at"), False),
            (("handled_at",), False),
        )


class AlertLog(BaseModel):
    """Last time an admin alert of a kind went out, so restarts cannot cause alert storms."""

    key = CharField(max_length=255, primary_key=True)
    last_sent_at = DateTimeField(default=utcnow)
    suppressed = IntegerField(default=0)


class UserLanguage(BaseModel):
    """The language of someone with neither a Mentor nor a Student row (an admin who is
    neither), so that /start, admin replies and alerts keep the language they chose."""

    telegram_id = BigIntegerField(unique=True)
    language = CharField(max_length=5)
    updated_at = DateTimeField(default=utcnow)


class NotificationPrefs(BaseModel):
    """A student's choice of notices; no row means the defaults (``services.notifications``).
    Quiet hours are minutes after local midnight in ``TIMEZONE`` (NULL: the school's
    ``QUIET_HOURS``); equal start and end: none."""

    student = ForeignKeyField(Student, unique=True, on_delete="CASCADE", backref="notification_prefs")
    new_quizzes = BooleanField(default=True)
    reminders = BooleanField(default=True)
    materials = BooleanField(default=True)
    streak = BooleanField(default=False)
    quiet_start = SmallIntegerField(null=True)
    quiet_end = SmallIntegerField(null=True)
    updated_at = DateTimeField(default=utcnow)


class Reminder(BaseModel):
    """A reminder, digest or nudge claimed for one recipient and subject (a quiz, a day): the
    unique key lets exactly one replica queue it, once, whatever restarts happen."""

    kind = CharField(max_length=16)
    chat_id = BigIntegerField()
    subject = CharField(max_length=64)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("kind", "chat_id", "subject"), True),)


class MaterialNotice(BaseModel):
    """Files added to a topic that its mentor's students have not been told about yet: one row
    per topic whose due time each upload pushes on, so that a burst of uploads makes one notice.
    Taken by the sweeper with a conditional delete, so one replica sends it."""

    topic = ForeignKeyField(Topic, unique=True, on_delete="CASCADE")
    first_material = BigIntegerField()  # the batch: this file and the later ones of the topic
    due_at = DateTimeField(index=True)


MODELS: tuple[type[BaseModel], ...] = (
    Mentor,
    Student,
    Topic,
    Material,
    Download,
    Question,
    Quiz,
    QuizQuestion,
    QuizAttempt,
    QuizAnswer,
    QuizKeyChange,
    Season,
    SeasonRating,
    AllTimeRating,
    OutboxBatch,
    OutboxMessage,
    FsmRecord,
    AlertLog,
    V1ImportMap,
    WebhookUpdate,
    UserLanguage,
    NotificationPrefs,
    Reminder,
    InboxUpdate,
    MaterialNotice,
)
