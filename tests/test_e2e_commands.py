"""The command menu the bot sets at start: every user's language Telegram knows, and /admin in
the admins' own chats."""

from __future__ import annotations

import asyncio
import json

import pytest
from e2e import ADMIN_ID

from studymate.i18n import t

pytestmark = pytest.mark.e2e


def menu(fake, *, chat: int | None = None, language: str = "") -> list[tuple[str, str]]:
    scope = {"type": "chat", "chat_id": chat} if chat else {"type": "default"}
    key = f"{json.dumps(scope, sort_keys=True)}:{language}"
    return [(c["command"], c["description"]) for c in fake.world.state.commands.get(key, [])]


async def test_command_menu_per_language_and_for_admins(db, fake, run_bot):
    await run_bot()
    for _ in range(100):  # set right after getMe, before polling starts
        if menu(fake, chat=ADMIN_ID, language="en"):
            break
        await asyncio.sleep(0.05)
    for language, lang in (("", "ru"), ("ru", "ru"), ("en", "en")):
        expected = [("start", t("command_start", lang)), ("help", t("command_help", lang)),
                    ("cancel", t("command_cancel", lang))]
        assert menu(fake, language=language) == expected
        admin = menu(fake, chat=ADMIN_ID, language=language)
        assert admin == expected + [("admin", t("command_admin", lang))]
    # Karakalpak has no two-letter code: its speakers' apps are set to another language.
    assert not [key for key in fake.world.state.commands if key.endswith(":kaa")]
