"""Import aiogram with its pydantic models built on first use, not all at import.

aiogram defines ~400 Telegram types and ~230 methods as pydantic models. Its types already ask
for ``defer_build=True``, but ``aiogram.types`` then calls ``model_rebuild()`` on every one of
them to resolve forward references, which builds all their validators anyway; the methods are
built as they are defined. That is ~110 MB per process and ~3 s of start-up, for a bot that
validates a handful of them (Update, Message, CallbackQuery, keyboards, the methods it calls).
See aiogram issue #1513. Measured here: ``import aiogram`` 165 MB resident, 3.5 s; through
this module 69 MB, 1 s, warm-up included.

:func:`import_aiogram` imports aiogram once, with pydantic's documented ``defer_build`` in force
for the models created meanwhile (aiogram's), and keeps the namespace aiogram resolves its
forward references with, so a model builds correctly (and once) the first time it is used.
Behaviour does not change: the same validators are built from the same schemas, later
(tests/test_lean_models.py checks that every type and method still builds and parses alike).
Importing this module runs it; it does nothing when aiogram is already imported.

Deferred models build on first use in whichever thread uses them: the bot uses aiogram objects
only on its event loop thread.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel


def import_aiogram() -> bool:
    """Import aiogram with deferred models; False when it was imported before (nothing done)."""
    if "aiogram" in sys.modules:
        return False
    namespace: dict[str, Any] = {}  # filled with the one aiogram.types passes
    base_config = BaseModel.model_config
    base_rebuild = BaseModel.__dict__["model_rebuild"]

    def deferring_rebuild(cls: type[BaseModel], **kwargs: Any) -> bool | None:
        types_namespace = kwargs.get("_types_namespace")
        if (cls.__module__.startswith("aiogram.types.") and types_namespace
                and not kwargs.get("force") and cls.model_config.get("defer_build")):
            if not namespace:
                namespace.update(types_namespace)
            return None
        return base_rebuild.__func__(cls, **_one_frame_up(kwargs))

    # Models created while aiogram imports inherit defer_build from BaseModel's config.
    BaseModel.model_config = {**base_config, "defer_build": True}
    BaseModel.model_rebuild = classmethod(deferring_rebuild)  # type: ignore[method-assign,assignment]
    try:
        import aiogram  # noqa: F401
    finally:
        BaseModel.model_config = base_config
        BaseModel.model_rebuild = base_rebuild  # type: ignore[method-assign]

    from aiogram.client.context_controller import BotContextController
    from aiogram.methods.base import Response

    for root in (BotContextController, Response):  # types, methods and API responses
        root.model_rebuild = _rebuild_with(namespace, base_rebuild)  # type: ignore[method-assign]
    _warm_up()
    return True


def _warm_up() -> None:
    """Build now what every bot uses within its first seconds: handling an update never waits.

    Message first: the models that contain it then reuse its validator instead of inlining a
    copy (~3 MB and half the time saved). The rest builds on first use, in milliseconds.
    The session parses each answer with ``Response[method.__returning__]``, a class pydantic
    caches only while it is referenced: holding these keeps them from being built again.
    """
    from aiogram import methods
    from aiogram.methods.base import Response
    from aiogram.types import CallbackQuery, Message, Update

    for model in (Message, CallbackQuery, Update):
        model.model_rebuild()
    for method in WARM_METHODS:
        model = getattr(methods, method)
        model.model_rebuild()
        response = Response[model.__returning__]
        response.model_rebuild()
        _warm_responses.append(response)


WARM_METHODS = (
    "GetMe", "DeleteWebhook", "SetMyCommands", "GetUpdates", "SendMessage", "EditMessageText",
    "EditMessageReplyMarkup", "AnswerCallbackQuery", "GetChatMember", "SendDocument",
)
_warm_responses: list[type[BaseModel]] = []


def _one_frame_up(kwargs: dict[str, Any]) -> dict[str, Any]:
    """This wrapper is one more frame between the caller and pydantic's frame inspection."""
    if kwargs.get("_types_namespace") is None:
        kwargs["_parent_namespace_depth"] = kwargs.get("_parent_namespace_depth", 2) + 1
    return kwargs


def _rebuild_with(namespace: Mapping[str, Any], base_rebuild: classmethod) -> classmethod:
    """``model_rebuild`` that resolves Telegram type names when no namespace is given."""

    def model_rebuild(cls: type[BaseModel], **kwargs: Any) -> bool | None:
        if kwargs.get("_types_namespace") is None:
            kwargs["_types_namespace"] = namespace
        return base_rebuild.__func__(cls, **kwargs)

    return classmethod(model_rebuild)


def _import_or_fall_back() -> None:
    """The patch leans on how aiogram and pydantic build models today. Should a later release
    change that, import aiogram the ordinary way: the bot then only costs more memory."""
    try:
        import_aiogram()
    except Exception:  # any failure here must not stop the bot starting
        logging.getLogger(__name__).warning(
            "deferred model building unavailable; importing aiogram eagerly", exc_info=True)
        for name in [m for m in sys.modules if m == "aiogram" or m.startswith("aiogram.")]:
            del sys.modules[name]
        import aiogram  # noqa: F401


_import_or_fall_back()
