"""Seasons and ratings of an imported v1 school: recomputed with this version's rules
(``services.ratings``), then compared with the ratings v1 had stored (v1 mixed UTC and local dates)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from studymate.db.models import Mentor, Season, SeasonRating, Student
from studymate.services.import_v1.report import RatingDiff, RatingValue, Summary
from studymate.services.import_v1.source import V1Source
from studymate.services.ratings import display_name, month_start, recompute_mentor, season_for_date

Key = tuple[int, dt.date, int]  # (mentor id, first day of the month, student id), our ids


def import_seasons(
    source: V1Source, summary: Summary, mentor_ids: dict[int, int], *, tz: ZoneInfo,
    now: dt.datetime,
) -> dict[int, tuple[int, dt.date]]:
    """Make sure every month v1 had a season for exists here (one season per mentor and
    month). Returns v1 season id → (our mentor id, month)."""
    tally = summary.tallies["season"]
    seasons: dict[int, tuple[int, dt.date]] = {}
    for row in source.rows("students_season"):
        tally.read += 1
        mentor_id = mentor_ids.get(row["mentor_id"])
        if mentor_id is None:
            tally.skipped["its mentor was not imported"] += 1
            continue
        month = month_start(row["start_date"])
        if (mentor_id, month) in seasons.values():
            tally.skipped["a second v1 season of the same month (a v1 race)"] += 1
            seasons[row["id"]] = (mentor_id, month)
            continue
        seasons[row["id"]] = (mentor_id, month)
        exists = Season.select().where(
            (Season.mentor == mentor_id) & (Season.start_date == month)
        ).exists()
        season_for_date(mentor_id, month, tz=tz, now=now)
        if exists:
            tally.already += 1
        else:
            tally.imported += 1
    return seasons


def recompute(mentor_ids: Iterable[int], *, tz: ZoneInfo, now: dt.datetime) -> None:
    """Every rating of these mentors, monthly and all time, by this version's rules."""
    for mentor_id in sorted(set(mentor_ids)):
        recompute_mentor(mentor_id, tz=tz, now=now)


def _value(rating: float, quizzes: int, score: int, possible: int) -> RatingValue | None:
    """None for "no rating" (no row, or a row of zeros)."""
    if not possible and not rating:
        return None
    return RatingValue(round(rating, 1), quizzes, score, possible)


def compare(
    source: V1Source,
    summary: Summary,
    seasons: dict[int, tuple[int, dt.date]],
    student_ids: dict[int, int],
) -> None:
    """Report where this version's season ratings differ from the ones v1 stored."""
    tally = summary.tallies["rating"]
    v1: dict[Key, tuple[int, RatingValue | None]] = {}
    for row in source.rows("students_seasonrating"):
        tally.read += 1
        season = seasons.get(row["season_id"])
        student = student_ids.get(row["student_id"])
        if season is None or student is None:
            continue
        key = (season[0], season[1], student)
        if key in v1 and v1[key][0] > row["season_id"]:
            continue  # two v1 seasons of one month (a race): the newer one is what v1 showed
        v1[key] = (row["season_id"], _value(
            row["rating_score"], row["total_ranked_quizzes"], row["total_score"],
            row["total_possible"],
        ))
    mentors = {m for m, _ in seasons.values()}
    students = set(student_ids.values())
    ours: dict[Key, RatingValue | None] = {}
    query = (
        SeasonRating.select(SeasonRating, Season)
        .join(Season)
        .where(Season.mentor.in_(sorted(mentors)))
    ) if mentors else []
    for r in query:
        if r.student_id in students:
            ours[(r.season.mentor_id, r.season.start_date, r.student_id)] = _value(
                r.rating_score, r.total_ranked_quizzes, r.total_score, r.total_possible
            )
    summary.ratings_compared = len(v1)
    keys = sorted(set(v1) | set(ours))
    diffs = [(k, v1[k][1] if k in v1 else None, ours.get(k)) for k in keys]
    diffs = [d for d in diffs if d[1] != d[2]]
    names = _names({k[0] for k, _, _ in diffs}, {k[2] for k, _, _ in diffs})
    summary.rating_diffs = [
        RatingDiff(names[("m", m)], month, names[("s", s)], old, new)
        for (m, month, s), old, new in diffs
    ]


def _names(mentor_ids: set[int], student_ids: set[int]) -> dict[tuple[str, int], str]:
    names: dict[tuple[str, int], str] = {}
    if mentor_ids:
        for m in Mentor.select().where(Mentor.id.in_(sorted(mentor_ids))):
            names[("m", m.id)] = f"{m.name} ({m.telegram_id})"
    if student_ids:
        for s in Student.select().where(Student.id.in_(sorted(student_ids))):
            shown = display_name(s.full_name, s.username, s.first_name, s.last_name, s.telegram_id)
            names[("s", s.id)] = shown if shown == str(s.telegram_id) else f"{s.telegram_id} {shown}"
    return names
