"""Every button's callback data starts with a prefix that means one thing across the bot."""

from __future__ import annotations

import importlib
import pkgutil

from aiogram.filters.callback_data import CallbackData

import studymate.bot


def _callback_classes() -> list[type[CallbackData]]:
    for module in pkgutil.walk_packages(studymate.bot.__path__, "studymate.bot."):
        importlib.import_module(module.name)
    found, todo = [], list(CallbackData.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("studymate."):
            found.append(cls)
    return found


def test_callback_prefixes_are_unique_across_features():
    classes = _callback_classes()
    assert len(classes) >= 10, classes  # every feature's callbacks were found
    owners: dict[str, list[str]] = {}
    for cls in classes:
        owners.setdefault(cls.__prefix__, []).append(f"{cls.__module__}.{cls.__qualname__}")
    assert {prefix: names for prefix, names in owners.items() if len(names) > 1} == {}


def test_no_prefix_is_another_prefix_with_a_different_version():
    """``lb1`` and ``lb2`` for two different screens read as two versions of one: not allowed."""
    stems: dict[str, list[str]] = {}
    for cls in _callback_classes():
        stems.setdefault(cls.__prefix__.rstrip("0123456789"), []).append(cls.__name__)
    assert {stem: names for stem, names in stems.items() if len(names) > 1} == {}
