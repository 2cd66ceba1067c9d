"""``setMessageReaction`` of the fake Bot API server: a bot's reaction on a message.

As Telegram: a bot sets at most one reaction per message, an emoji from the standard reaction
list (anything else is ``REACTION_INVALID``); an empty list takes its reaction away. The
message keeps the bot's reaction (``reactions`` in the control API's view) and counts as
changed, so a control ``wait`` sees it.
"""

from __future__ import annotations

from typing import Any, Final

from studymate.testing.fake_telegram.messages import BotCall, resolve_chat
from studymate.testing.fake_telegram.models import bad_request
from studymate.testing.fake_telegram.world import FakeWorld

__all__ = ["REACTION_EMOJI", "ReactionMethods"]

# The emoji a ReactionTypeEmoji may carry (Bot API, ReactionTypeEmoji.emoji).
REACTION_EMOJI: Final = frozenset(
    "👍 👎 ❤ 🔥 🥰 👏 😁 🤔 🤯 😱 🤬 😢 🎉 🤩 🤮 💩 🙏 👌 🕊 🤡 🥱 🥴 😍 🐳 ❤‍🔥 🌚 🌭 💯 🤣 ⚡ 🍌 🏆 "
    "💔 🤨 😐 🍓 🍾 💋 🖕 😈 😴 😭 🤓 👻 👨‍💻 👀 🎃 🙈 😇 😨 🤝 ✍ 🤗 🫡 🎅 🎄 ☃ 💅 🤪 🗿 🆒 💘 🙉 "
    "🦄 😘 💊 🙊 😎 👾 🤷‍♂ 🤷 🤷‍♀ 😡".split()
)


class ReactionMethods:
    def __init__(self, world: FakeWorld) -> None:
        self.world = world

    def handlers(self) -> dict[str, Any]:
        return {"setMessageReaction": self.set_message_reaction}

    def set_message_reaction(self, call: BotCall) -> bool:
        chat = resolve_chat(self.world, call, sending=False)
        message = chat.messages.get(call.params.get_int("message_id") or 0)
        if message is None or message.deleted:
            raise bad_request("message to react not found")
        reaction = call.params.get_json("reaction", "reaction") or []
        if not isinstance(reaction, list):
            raise bad_request("can't parse reaction JSON object")
        if len(reaction) > 1:
            raise bad_request("REACTIONS_TOO_MANY")
        emoji = []
        for item in reaction:
            if not isinstance(item, dict) or item.get("type") != "emoji":
                raise bad_request("REACTION_INVALID")
            if item.get("emoji") not in REACTION_EMOJI:
                raise bad_request("REACTION_INVALID")
            emoji.append(item["emoji"])
        message.reactions = emoji
        self.world.touch(message)
        return True
