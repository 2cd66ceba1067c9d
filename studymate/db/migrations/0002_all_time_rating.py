"""All-time ratings get their own table (they were SeasonRating rows of a sentinel season
starting 0001-01-01 per mentor), and rating columns become double precision (``real`` on
PostgreSQL is single precision)."""
import datetime

from peewee import *

SENTINEL_START = '0001-01-01'
SENTINEL_END = '9999-12-31'
RATING_COLUMNS = ('total_ranked_quizzes, total_score, total_possible, avg_percentage, '
                  'rating_score, earliest_attempt_at, updated_at')


def up(migrator, db):
    class Mentor(Model):
        class Meta:
            database = db
            table_name = 'mentor'

    class Student(Model):
        class Meta:
            database = db
            table_name = 'student'

    class AllTimeRating(Model):
        mentor = ForeignKeyField(Mentor, on_delete='CASCADE')
        student = ForeignKeyField(Student, on_delete='CASCADE')
        total_ranked_quizzes = IntegerField(default=0)
        total_score = IntegerField(default=0)
        total_possible = IntegerField(default=0)
        avg_percentage = DoubleField(default=0.0)
        rating_score = DoubleField(default=0.0)
        earliest_attempt_at = DateTimeField(null=True)
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'all_time_rating'
            indexes = ((('mentor', 'student'), True), (('mentor', 'rating_score'), False))
    db.create_tables([AllTimeRating])

    migrator.migrate(
        migrator.alter_column_type('season_rating', 'avg_percentage', DoubleField(default=0.0)),
        migrator.alter_column_type('season_rating', 'rating_score', DoubleField(default=0.0)),
    )

    # Ratings are tenths: a real 81.9 widens to 81.9000015258789, so round back to tenths.
    db.execute_sql('UPDATE season_rating SET avg_percentage = ROUND(avg_percentage * 10) / 10.0, '
                   'rating_score = ROUND(rating_score * 10) / 10.0')

    # Move the sentinel seasons' rows over, then drop the sentinel seasons.
    p = db.param
    db.execute_sql(
        f'INSERT INTO all_time_rating (mentor_id, student_id, {RATING_COLUMNS}) '
        f'SELECT s.mentor_id, r.student_id, {RATING_COLUMNS} '
        'FROM season_rating AS r JOIN season AS s ON s.id = r.season_id '
        f'WHERE s.start_date = {p}', (SENTINEL_START,))
    db.execute_sql(
        'DELETE FROM season_rating WHERE season_id IN '
        f'(SELECT id FROM season WHERE start_date = {p})', (SENTINEL_START,))
    db.execute_sql(f'DELETE FROM season WHERE start_date = {p}', (SENTINEL_START,))


def down(migrator, db):
    # Back to sentinel seasons holding the all-time rows.
    p = db.param
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    values = ['Все время', SENTINEL_START, SENTINEL_END, False, str(now)]
    if isinstance(db, PostgresqlDatabase):  # typed: in a SELECT list a literal is text
        values[1:] = [datetime.date(1, 1, 1), datetime.date(9999, 12, 31), False, now]
    db.execute_sql(
        'INSERT INTO season (mentor_id, name, start_date, end_date, is_active, created_at) '
        f'SELECT DISTINCT mentor_id, {p}, {p}, {p}, {p}, {p} FROM all_time_rating', values)
    db.execute_sql(
        f'INSERT INTO season_rating (season_id, student_id, {RATING_COLUMNS}) '
        f'SELECT s.id, a.student_id, {RATING_COLUMNS} '
        'FROM all_time_rating AS a JOIN season AS s '
        f'ON s.mentor_id = a.mentor_id AND s.start_date = {p}', (SENTINEL_START,))
    migrator.migrate(
        migrator.alter_column_type('season_rating', 'avg_percentage', FloatField(default=0.0)),
        migrator.alter_column_type('season_rating', 'rating_score', FloatField(default=0.0)),
        migrator.drop_table('all_time_rating'),
    )
