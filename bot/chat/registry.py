"""The handler registry: event type -> handler, chat keyword -> command.

Handlers register here (see `handlers/__init__.py`) and are looked up in one
place. A command's role is a flag on its registration, checked once by
`Registry.find_command`, never inside the command. So is `private`: a private
command (the default) is answered only in a 1:1 chat, never in a group or room
where everyone reads the reply (checked once in `bot.chat.dispatch`).
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field


class Role(enum.IntEnum):
    """Who may run a command; each role may run everything below it."""

    MEMBER = 0
    STAFF = 1
    OWNER = 2


Handler = Callable[..., list]


@dataclass(frozen=True)
class Command:
    name: str  # the English keyword, also the command's id
    handler: Handler
    role: Role = Role.MEMBER
    summary: str = ""  # N_()-marked; translated when shown
    usage: str = ""  # arguments after the keyword, e.g. "<member> <amount>"
    th: tuple[str, ...] = ()
    zh: tuple[str, ...] = ()
    audit: bool = False  # also audit this member-level command (e.g. /join)
    private: bool = True  # answered in 1:1 chats only; False for what anyone may see

    @property
    def audited(self) -> bool:
        """Every staff and owner command is written to the audit log."""
        return self.audit or self.role > Role.MEMBER

    @property
    def keywords(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(normalise(w) for w in (self.name, *self.th, *self.zh)))

    def keyword_for(self, locale: str) -> str:
        """The keyword to show a member who reads `locale`."""
        local = {"th": self.th, "zh_Hant": self.zh}.get(locale, ())
        return local[0] if local and not self.name.startswith("/") else self.name


@dataclass
class Match:
    command: Command
    args: list[str]
    allowed: bool


@dataclass
class Registry:
    events: dict[str, Handler] = field(default_factory=dict)
    commands: list[Command] = field(default_factory=list)
    flows: dict[str, Handler] = field(default_factory=dict)
    postbacks: dict[str, Handler] = field(default_factory=dict)
    fallback: Handler | None = None
    refusal: Handler | None = None  # (ctx, command) -> replies, or None for the usual refusal
    _by_keyword: dict[str, Command] = field(default_factory=dict)

    def on_event(self, event_type: str) -> Callable[[Handler], Handler]:
        """Register the handler for one webhook event type (follow, postback…)."""

        def register(handler: Handler) -> Handler:
            if event_type in self.events:
                raise ValueError(f"event {event_type!r} already has a handler")
            self.events[event_type] = handler
            return handler

        return register

    def command(
        self,
        name: str,
        *,
        th: tuple[str, ...] = (),
        zh: tuple[str, ...] = (),
        role: Role = Role.MEMBER,
        summary: str = "",
        usage: str = "",
        audit: bool = False,
        private: bool = True,
    ) -> Callable[[Handler], Handler]:
        """Register a text command under its English name and Thai/Chinese keywords."""

        def register(handler: Handler) -> Handler:
            cmd = Command(name, handler, role, summary, usage, tuple(th), tuple(zh), audit, private)
            for word in cmd.keywords:
                if word in self._by_keyword:
                    raise ValueError(f"keyword {word!r} is already taken")
                self._by_keyword[word] = cmd
            self.commands.append(cmd)
            return handler

        return register

    def flow(self, name: str) -> Callable[[Handler], Handler]:
        """Register the handler of a multi-step conversation (signup, edit…).

        While a member is in a conversation, their messages and postbacks go
        to it instead of the command table.
        """

        def register(handler: Handler) -> Handler:
            self.flows[name] = handler
            return handler

        return register

    def on_postback(self, action: str) -> Callable[[Handler], Handler]:
        """Register the handler of postback data `a=<action>&…` (buttons, menus)."""

        def register(handler: Handler) -> Handler:
            self.postbacks[action] = handler
            return handler

        return register

    def on_unknown_text(self, handler: Handler) -> Handler:
        """Register what answers text that matches no command."""
        self.fallback = handler
        return handler

    def on_refused(self, handler: Handler) -> Handler:
        """Register what may answer a command the sender is not allowed to run."""
        self.refusal = handler
        return handler

    def find_command(self, text: str, role: Role) -> Match | None:
        """Longest keyword that starts the text wins ("delete my data" over "delete")."""
        words = normalise(text).split(" ")
        for size in range(min(len(words), 4), 0, -1):
            command = self._by_keyword.get(" ".join(words[:size]))
            if command is not None:
                # normalise() only folds case and spaces, so word counts agree.
                return Match(command, text.split()[size:], allowed=role >= command.role)
        return None

    def closest_command(self, word: str, role: Role) -> Command | None:
        """The slash command `role` may use that a mistyped `word` ("/earm") most resembles."""
        names = {c.name: c for c in self.commands_for(role) if c.name.startswith("/")}
        found = difflib.get_close_matches(normalise(word), names, n=1, cutoff=0.6)
        return names[found[0]] if found else None

    def commands_for(self, role: Role) -> list[Command]:
        return [c for c in self.commands if role >= c.role]


_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Case- and space-insensitive form of a keyword or typed text."""
    return _SPACES.sub(" ", text.strip()).casefold()
