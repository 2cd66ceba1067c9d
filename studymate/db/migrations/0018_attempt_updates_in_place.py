"""An answer moves its attempt on (current question, deadline) and nothing indexed may change
with it: PostgreSQL then updates the row in place (a HOT update, about half the WAL) instead of
adding an entry to each of the attempt's eight indexes. The sweeper finds running attempts by
``finished_at`` alone; there are only as many of them as students taking a quiz right now."""


def up(migrator, db):
    db.execute_sql('DROP INDEX quizattempt_finished_at_question_deadline')


def down(migrator, db):
    # The name the models gave it (add_index would name it differently, and up() would miss it).
    db.execute_sql('CREATE INDEX quizattempt_finished_at_question_deadline '
                   'ON quiz_attempt (finished_at, question_deadline)')
