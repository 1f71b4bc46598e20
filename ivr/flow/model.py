"""The hotline's menu as loaded from flows.yaml: plain immutable data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ivr.flow.calendar import BusinessCalendar
from ivr.flow.numbers import Numbers
from ivr.flow.queue import QueueSettings

OptionStyle = Literal["topic", "question"]
MAX_PATH = 8  # the longest key path a call carries in its URLs; check refuses flows that need more


@dataclass(frozen=True)
class Option:
    """One key in a menu: it opens another menu or plays an answer."""

    key: str
    label: str  # prompt id of the words announced for this key
    menu: str | None = None
    answer: str | None = None  # prompt id of the answer text
    question: str | None = None  # prompt id of the full question, said before the answer


@dataclass(frozen=True)
class Menu:
    """A keypad menu: an optional intro, then its options read out in key order."""

    id: str
    options: tuple[Option, ...]
    intro: str | None = None
    style: OptionStyle = "topic"

    _by_key: dict[str, Option] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # every webhook looks keys up (several times on a deep path): a dict, a key's first option wins
        object.__setattr__(self, "_by_key", {o.key: o for o in reversed(self.options)})

    def option(self, key: str) -> Option | None:
        """The option bound to a key, if any."""
        return self._by_key.get(key)


@dataclass(frozen=True)
class GlobalKeys:
    """Keys that do the same thing in every menu."""

    repeat: str = "*"
    back: str = "#"
    agent: str = "0"
    main_menu: str = "9"  # offered after an answer
    slow: str = "7"  # after an answer: the answer again, slowly


@dataclass(frozen=True)
class InputSettings:
    """How long to wait for a key and how many misses are allowed."""

    timeout_s: int = 6
    max_no_input: int = 2
    max_invalid: int = 3


@dataclass(frozen=True)
class AgentSettings:
    """Where a caller is put through to a person."""

    destination: str
    dial_timeout_s: int = 25
    caller_id: str | None = None


@dataclass(frozen=True)
class SynthesisSettings:
    """Engine and voice used by `flask ivr synth`."""

    engine: str = "openjtalk"
    target_db: float = -20.0
    slow_rate: float = 0.8  # speaking rate of the slow replay of an answer, relative to the engine's own
    engines: dict[str, dict[str, object]] = field(default_factory=dict)


@dataclass(frozen=True)
class Flow:
    """The whole validated flow."""

    start: str
    menus: dict[str, Menu]
    keys: GlobalKeys
    input: InputSettings
    agent: AgentSettings
    calendar: BusinessCalendar
    greeting: str
    announcement: str | None
    emergency_prompt: str
    say_voice: str
    say_language: str
    synthesis: SynthesisSettings
    max_menu_seconds: float = 60.0
    numbers: Numbers = Numbers()
    queue: QueueSettings = QueueSettings()

    def walk(self, path: str) -> tuple[list[Menu], Option | None]:
        """Follow keys from the start menu: the menus passed and the answer option reached, if any."""
        menus = [self.menus[self.start]]
        for key in path:
            option = menus[-1].option(key)
            if option is None:
                raise KeyError(path)
            if option.answer is not None:
                return menus, option
            assert option.menu is not None
            menus.append(self.menus[option.menu])
        return menus, None
