"""``studymate import-v1``: move a school from StudyMate v1 without losing anything (issue 7).

Rules:
- Everything is read from v1 and written here in one transaction; a dry run does all of it
  and rolls back. Any inconsistency the import cannot resolve (a reference to a row that does
  not exist, a value this version cannot hold) rolls everything back too.
- Which v1 row became which row here is recorded in ``V1ImportMap``, per v1 database (its
  fingerprint): a second run imports only what is new. v1's ids are the only key that always
  exists — downloads, attempts and answers can legitimately repeat every value — and the map
  survives edits made here after the import. Answers need no map: they are unique per
  (attempt, question) here, and an attempt is imported with all its answers at once.
- A database that holds anything not imported from this v1 database is refused, unless
  ``merge``: then mentors and students already here are matched by Telegram id (a student's
  empty fields are filled from v1) and everything else is added.
- Conversions and honest values for this version's extra columns: ``import_v1_rows``.
  Ratings are recomputed by ``services.ratings`` and compared with v1's (``import_v1_ratings``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any, Final
from zoneinfo import ZoneInfo

from peewee import Database, Model

from studymate.db.connection import transaction
from studymate.db.models import (
    Download,
    Material,
    Mentor,
    Question,
    Quiz,
    QuizAnswer,
    QuizAttempt,
    QuizQuestion,
    Student,
    Topic,
    V1ImportMap,
    database_proxy,
    utcnow,
)
from studymate.services.import_v1 import ratings, rows
from studymate.services.import_v1.report import ENTITIES, Summary
from studymate.services.import_v1.rows import Skip, Unresolved
from studymate.services.import_v1.source import Row, V1Source

logger = logging.getLogger(__name__)
BATCH: Final = 500
MAPPED: Final[dict[str, type[Model]]] = {
    "mentor": Mentor, "student": Student, "topic": Topic, "material": Material,
    "download": Download, "question": Question, "quiz": Quiz, "quiz_question": QuizQuestion,
    "attempt": QuizAttempt,
}


class ImportRefused(Exception):
    """The target database holds other data and ``merge`` was not asked for."""


def import_v1(
    database: Database,
    source: V1Source,
    *,
    tz: ZoneInfo,
    default_language: str = "ru",
    merge: bool = False,
    dry_run: bool = False,
    now: dt.datetime | None = None,
) -> Summary:
    """Import ``source`` into ``database`` (see the module doc); returns what happened."""
    summary = Summary(source.display_url, dry_run=dry_run, merge=merge)
    with transaction(database) as txn:
        importer = Importer(source, summary, tz=tz, default_language=default_language,
                            now=now or utcnow())
        others = importer.other_data()
        if others and not merge:
            raise ImportRefused(
                f"this database already holds data that is not from this v1 database ({others});"
                " add --merge to import into it anyway (mentors and students with the same"
                " Telegram id are matched), or import into an empty database"
            )
        importer.run()
        if dry_run or not summary.ok:
            txn.rollback()
        else:
            summary.saved = True
    logger.info("v1 import from %s: %s", summary.source,
                "saved" if summary.saved else "rolled back")
    return summary


class Importer:
    """One run: reads v1 table by table, in dependency order, and writes what is new.

    Mentors and students already here with the same Telegram id are matched (only reachable
    with ``merge``: otherwise such a database is refused before anything is read).
    """

    def __init__(self, source: V1Source, summary: Summary, *, tz: ZoneInfo,
                 default_language: str, now: dt.datetime) -> None:
        self.source, self.summary, self.tz = source, summary, tz
        self.default_language, self.now = default_language, now
        self.ids: dict[str, dict[int, int]] = {e: {} for e in MAPPED}
        mapped = V1ImportMap.select().where(V1ImportMap.source == source.fingerprint)
        for m in mapped:
            self.ids.setdefault(m.entity, {})[m.v1_id] = m.new_id
        self.before = {e: set(ids) for e, ids in self.ids.items()}  # imported by earlier runs
        self.skipped: dict[str, dict[int, str]] = {e: {} for e in MAPPED}
        self.failed: dict[str, set[int]] = {e: set() for e in MAPPED}
        self.v1_student_tid: dict[int, int] = {}
        self.v1_quizzes: dict[int, Row] = {}
        self.v1_question_quiz: dict[int, int] = {}
        self.v1_attempts: dict[int, Row] = {}
        self.touched_mentors: set[int] = set()
        self._questions_of_quiz: dict[int, list[int]] = {}

    # -- the Context the row conversions use ------------------------------------------------

    def parent(self, entity: str, v1_id: int | None, what: str) -> int:
        if v1_id in self.ids[entity]:
            return self.ids[entity][v1_id]
        if v1_id in self.skipped[entity]:
            raise Skip(f"belongs to a skipped {what}")
        if v1_id in self.failed[entity]:
            raise Skip(f"belongs to a {what} that could not be imported")
        raise Unresolved(f"{what} {v1_id} does not exist in v1")

    def optional_parent(self, entity: str, v1_id: int | None, what: str) -> int | None:
        if v1_id is None:
            return None
        try:
            return self.parent(entity, v1_id, what)
        except (Skip, Unresolved):
            self.adjust(entity, f"{what} {v1_id} missing in v1: imported without one")
            return None

    def adjust(self, entity: str, what: str) -> None:
        self.summary.tallies[entity].adjusted[what] += 1

    def quiz_question_ids(self, quiz_id: int) -> list[int]:
        if quiz_id not in self._questions_of_quiz:
            query = (QuizQuestion.select(QuizQuestion.id).where(QuizQuestion.quiz == quiz_id)
                     .order_by(QuizQuestion.order, QuizQuestion.id))
            self._questions_of_quiz[quiz_id] = [q.id for q in query]
        return self._questions_of_quiz[quiz_id]

    # -- the run ----------------------------------------------------------------------------

    def other_data(self) -> str:
        """What the database holds that did not come from this v1 database, e.g. "mentors: 2"."""
        found = []
        for entity, model in MAPPED.items():
            mine = V1ImportMap.select(V1ImportMap.new_id).where(
                (V1ImportMap.source == self.source.fingerprint) & (V1ImportMap.entity == entity)
            )
            count = model.select().where(model.id.not_in(mine)).count()
            if count:
                found.append(f"{ENTITIES[entity][0]}: {count}")
        return ", ".join(found)

    def run(self) -> None:
        # What later rows need to know of earlier ones, whether imported now or before.
        src = self.source
        self.v1_student_tid = {r["id"]: r["telegram_id"] for r in src.rows("students_student")}
        self.v1_quizzes = {r["id"]: r for r in src.rows("quizzes_quiz")}
        self.v1_question_quiz = {r["id"]: r["quiz_id"] for r in src.rows("quizzes_quizquestion")}
        self.v1_attempts = {r["id"]: r for r in src.rows("quizzes_quizattempt")}
        self._import("mentor", lambda r: rows.mentor(self, r), link=self._link_mentor)
        self._import("student", lambda r: rows.student(self, r), link=self._link_student)
        self._import("topic", lambda r: rows.topic(self, r))
        self._import("material", lambda r: rows.material(self, r))
        self._import("download", lambda r: rows.download(self, r))
        self._import("question", lambda r: rows.question(self, r))
        self._import("quiz", self._quiz)
        self._import("quiz_question", lambda r: rows.quiz_question(self, r))
        self._import("attempt", self._attempt)
        self._import_answers()
        seasons = ratings.import_seasons(
            self.source, self.summary, self.ids["mentor"], tz=self.tz, now=self.now
        )
        if self.summary.ok:
            ratings.recompute(self.touched_mentors, tz=self.tz, now=self.now)
            ratings.compare(self.source, self.summary, seasons, self.ids["student"])

    def _import(self, entity: str, convert: Callable[[Row], dict[str, Any]],
                link: Callable[[dict[str, Any]], int | None] | None = None) -> None:
        tally = self.summary.tallies[entity]
        pending: list[tuple[int, dict[str, Any]]] = []
        for row in self.source.rows(ENTITIES[entity][1]):
            tally.read += 1
            v1_id = row["id"]
            if v1_id in self.ids[entity]:
                tally.already += 1
                continue
            try:
                fields = convert(row)
            except Skip as exc:
                tally.skipped[str(exc)] += 1
                self.skipped[entity][v1_id] = str(exc)
                continue
            except Unresolved as exc:
                self.summary.problem(entity, v1_id, str(exc))
                self.failed[entity].add(v1_id)
                continue
            existing = link(fields) if link else None
            if existing is not None:
                self._remember(entity, [(v1_id, existing)])
                continue
            pending.append((v1_id, fields))
            if len(pending) >= BATCH:
                self._insert(entity, pending)
                pending = []
        self._insert(entity, pending)

    def _insert(self, entity: str, pending: list[tuple[int, dict[str, Any]]]) -> None:
        """One INSERT … RETURNING per batch. Ids come from a sequence (PostgreSQL) or the
        write-locked max+1 (SQLite), so ascending ids follow the order of the rows."""
        if not pending:
            return
        new_ids = sorted(_insert_many(MAPPED[entity], [f for _, f in pending], returning=True))
        self._remember(entity, [(v1, new) for (v1, _), new in zip(pending, new_ids, strict=True)])

    def _remember(self, entity: str, pairs: list[tuple[int, int]]) -> None:
        stamp = utcnow()
        _insert_many(V1ImportMap, [
            {"source": self.source.fingerprint, "entity": entity, "v1_id": v1, "new_id": new,
             "imported_at": stamp}
            for v1, new in pairs
        ])
        self.ids[entity].update(pairs)
        self.summary.tallies[entity].imported += len(pairs)

    def _link_mentor(self, fields: dict[str, Any]) -> int | None:
        found = Mentor.get_or_none(Mentor.telegram_id == fields["telegram_id"])
        if found is None:
            return None
        self.adjust("mentor", "already here with the same Telegram id: matched, kept as it is")
        return found.id

    def _link_student(self, fields: dict[str, Any]) -> int | None:
        found = Student.get_or_none(Student.telegram_id == fields["telegram_id"])
        if found is None:
            return None
        if not found.full_name:
            found.full_name = fields["full_name"]
            found.profile_completed = fields["profile_completed"]
        if found.mentor_id is None:
            found.mentor = fields["mentor"]
        found.joined_at = min(found.joined_at, fields["joined_at"])
        if found.last_quiz_date is None:
            for name in ("current_streak", "longest_streak", "last_quiz_date"):
                setattr(found, name, fields[name])
        found.save()
        self.adjust("student", "already here with the same Telegram id: matched, empty fields"
                               " filled from v1")
        return found.id

    def _quiz(self, row: Row) -> dict[str, Any]:
        fields = rows.quiz(self, row)
        self.touched_mentors.add(fields["mentor"])
        return fields

    def _attempt(self, row: Row) -> dict[str, Any]:
        quiz = self.v1_quizzes.get(row["quiz_id"])
        fields = rows.attempt(self, row, quiz, self.v1_student_tid.get(row["student_id"]))
        self.touched_mentors.add(self.ids["mentor"][quiz["mentor_id"]])  # it has a quiz here
        return fields

    def _import_answers(self) -> None:
        tally = self.summary.tallies["answer"]
        seen: set[tuple[int, int]] = set()
        correct: Counter[int] = Counter()
        pending: list[dict[str, Any]] = []
        for row in self.source.rows("quizzes_quizanswer"):
            tally.read += 1
            try:
                fields = self._answer(row, seen)
            except Skip as exc:
                tally.skipped[str(exc)] += 1
                continue
            except Unresolved as exc:
                self.summary.problem("answer", row["id"], str(exc))
                continue
            if fields is None:
                tally.already += 1
                continue
            pending.append(fields)
            correct[row["attempt_id"]] += fields["is_correct"]
            if len(pending) >= BATCH:
                self._insert_answers(pending)
                pending = []
        self._insert_answers(pending)
        for v1_id, attempt in self.v1_attempts.items():
            new = v1_id in self.ids["attempt"] and v1_id not in self.before["attempt"]
            if new and attempt["score"] != correct[v1_id]:
                self.adjust("attempt", "score kept from v1 though its stored answers say"
                                       " otherwise (v1 counted double taps, and kept scores after edits)")

    def _insert_answers(self, pending: list[dict[str, Any]]) -> None:
        if pending:
            _insert_many(QuizAnswer, pending)
            self.summary.tallies["answer"].imported += len(pending)

    def _answer(self, row: Row, seen: set[tuple[int, int]]) -> dict[str, Any] | None:
        """The answer's fields, or None when its attempt was imported by an earlier run."""
        v1_attempt, v1_question = row["attempt_id"], row["question_id"]
        attempt_id = self.parent("attempt", v1_attempt, "attempt")
        question_id = self.parent("quiz_question", v1_question, "question")
        attempt = self.v1_attempts[v1_attempt]
        if self.v1_question_quiz.get(v1_question) != attempt["quiz_id"]:
            raise Unresolved(f"question {v1_question} is not in the attempt's quiz")
        if (v1_attempt, v1_question) in seen:
            raise Skip("another answer to the same question in the same attempt (a v1 double tap):"
                       " the first one is kept")
        seen.add((v1_attempt, v1_question))
        if v1_attempt in self.before["attempt"]:
            return None
        return rows.answer(attempt_id, question_id, row, attempt["finished_at"])


def _insert_many(model: type[Model], items: list[dict[str, Any]], *, returning: bool = False,
                 ) -> list[int]:
    """One multi-row INSERT (… RETURNING id) written as SQL text: peewee's insert_many spent
    most of a big import (≈ 60 µs a value) building its expression tree."""
    if not items:
        return []
    fields = [model._meta.fields[name] for name in items[0]]
    p = database_proxy.param
    marks = "(" + ", ".join([p] * len(fields)) + ")"
    sql = (f'INSERT INTO "{model._meta.table_name}" ('
           + ", ".join(f'"{f.column_name}"' for f in fields)
           + ") VALUES " + ", ".join([marks] * len(items)))
    params = [f.db_value(item[f.name]) for item in items for f in fields]
    if not returning:
        database_proxy.execute_sql(sql, params)
        return []
    return [r[0] for r in database_proxy.execute_sql(sql + ' RETURNING "id"', params).fetchall()]
