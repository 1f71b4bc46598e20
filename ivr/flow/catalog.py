"""Every prompt the flow can play, composed from option labels and templates, with its speech text."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from ivr.flow.calendar import BusinessCalendar, OpeningHours
from ivr.flow.model import Flow, Menu
from ivr.flow.prompts import PromptTexts
from ivr.flow.queue_prompts import texts as queue_texts

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# System prompts the call logic plays directly (besides greeting, announcement and the emergency prompt).
SYSTEM = (
    "invalid_key",
    "no_input",
    "agent_connecting",
    "agent_busy",
    "agent_no_answer",
    "agent_failed",
    "agent_canceled",
    "goodbye",
    "closing",
    "fallback",
)


# The piece that says why the line is closed now, by the calendar's reason (the emergency closure
# has its own prompt in flows.yaml instead).
CLOSED_PIECES = {
    "before_hours": "closed.before_hours",
    "after_hours": "closed.after_hours",
    "weekend_or_closed_day": "closed.weekly",
    "national_holiday": "closed.national_holiday",
    "bank_holiday": "closed.bank_holiday",
    "ops_closed": "closed.ops_closed",
}
NEXT_PIECES = ("next.intro", "next.today", "next.at", "next.end", "next.unknown")


def month_id(month: int) -> str:
    """The prompt id of a month's name (12月)."""
    return f"month.{month}"


def date_id(day: int) -> str:
    """The prompt id of a day of the month (1日)."""
    return f"date.{day}"


def weekday_id(weekday: int) -> str:
    """The prompt id of a weekday's name (月曜日), Monday = 0."""
    return f"day.{DAYS[weekday]}"


def time_id(t: dt.time) -> str:
    """The prompt id of a time of day (9時), e.g. time.0900."""
    return f"time.{t.hour:02d}{t.minute:02d}"


@dataclass(frozen=True)
class Prompt:
    """One playable prompt: the text as written and as sent to the speech engine, at a speaking rate."""

    id: str
    text: str
    speech: str
    rate: float = 1.0  # relative to the engine's own rate: below 1 for the slow replay of an answer


class Composer:
    """Builds prompt texts from the flow and prompts/; records which ids were missing."""

    def __init__(self, flow: Flow, texts: PromptTexts) -> None:
        self.flow, self.texts = flow, texts
        self.missing: list[str] = []

    def get(self, prompt_id: str) -> str:
        """A prompt's text, or a marker (recorded as missing)."""
        if prompt_id in self.texts.texts:
            return self.texts.texts[prompt_id]
        self.missing.append(prompt_id)
        return f"[{prompt_id}]"

    def key_name(self, key: str) -> str:
        """How a key is said: 米印 for *, シャープ for #, digits as they are."""
        return self.texts.texts.get(f"keyname.{key}", key)

    def options(self, menu: Menu, upto: int | None = None) -> str:
        """'…については1を、…については2を、押してください。' from the menu's labels.

        With `upto`, only the first options, without the closing words: what a caller has heard when
        that option has just been announced.
        """
        style = f"compose.{menu.style}"
        items = [
            self.get(f"{style}.item").format(label=self.get(o.label), key=self.key_name(o.key))
            for o in menu.options[:upto]
        ]
        return self.get(f"{style}.sep").join(items) + ("" if upto is not None else self.get(f"{style}.end"))

    def intro(self, menu: Menu) -> str:
        """The words a menu prompt starts with (none without an intro)."""
        return self.get(menu.intro) if menu.intro else ""

    def global_keys(self, names: list[str]) -> str:
        """The sentence announcing the global keys that work here."""
        keys = self.flow.keys
        parts = [
            self.get(f"compose.{name}").format(key=self.key_name(getattr(keys, name.removesuffix("_answer"))))
            for name in names
        ]
        return self.get("compose.keys_sep").join(parts) + self.get("compose.keys_end")

    def menu(self, menu: Menu) -> str:
        """The full menu prompt: intro, options, global keys."""
        names = ["repeat", "agent"] if menu.id == self.flow.start else ["repeat", "back", "agent"]
        return self.intro(menu) + self.options(menu) + self.global_keys(names)

    def short_menu(self, menu: Menu) -> str:
        """The re-prompt after silence or a wrong key: a person (0) first, then the options."""
        return self.global_keys(["agent"]) + self.options(menu)

    def after_answer(self, *, agent_first: bool = False) -> str:
        """What follows an answer: again, slowly, other questions, start menu, agent (first if re-asked)."""
        names = ["repeat_answer", "slow_answer", "back_answer", "main_menu"]
        return self.global_keys(["agent", *names] if agent_first else [*names, "agent"])

    def time_of_day(self, t: dt.time) -> str:
        """A time of day in words: 9時, 9時30分."""
        if t.minute:
            return self.get("time.hour_minute").format(hour=t.hour, minute=t.minute)
        return self.get("time.hour").format(hour=t.hour)

    def hours(self, calendar: BusinessCalendar) -> str:
        """The weekly opening hours in words, e.g. '平日9:00から17:00まで'."""
        weekly = [calendar.weekly.get(i) for i in range(7)]
        if len(set(weekly[:5])) == 1 and weekly[0] and not any(weekly[5:]):
            return self.get("hours.weekdays").format(**_span(weekly[0]))
        parts = [
            self.get("hours.day").format(day=self.get(f"day.{DAYS[i]}"), **_span(h))
            for i, h in enumerate(weekly)
            if h
        ]
        return self.get("hours.sep").join(parts)


def _span(hours: OpeningHours) -> dict[str, str]:
    return {"open": _clock(hours.open), "close": _clock(hours.close)}


def _clock(t: dt.time) -> str:
    return f"{t.hour}:{t.minute:02d}"


def build(flow: Flow, texts: PromptTexts) -> tuple[dict[str, Prompt], list[str]]:
    """Every prompt the flow can play, by id, and the prompt ids it needed but prompts/ lacks."""
    c = Composer(flow, texts)
    written: dict[str, str] = {}
    if flow.announcement:
        written[flow.announcement] = c.get(flow.announcement)
    written[flow.greeting] = c.get(flow.greeting)
    for menu in flow.menus.values():
        written[f"menu.{menu.id}"] = c.menu(menu)
        written[f"menu.{menu.id}.short"] = c.short_menu(menu)
        for option in menu.options:
            if option.answer:
                written[option.answer] = c.get(option.answer)
            if option.question:
                written[option.question] = c.get(option.question)
    written["after_answer"] = c.after_answer()
    written["after_answer.short"] = c.after_answer(agent_first=True)
    # the pieces of the closed notice (call/availability.py puts them together at the time of the call)
    for piece in (*CLOSED_PIECES.values(), *NEXT_PIECES):
        written[piece] = c.get(piece)
    for month in range(1, 13):
        written[month_id(month)] = c.get(month_id(month))
    for day in range(1, 32):
        written[date_id(day)] = c.get(date_id(day))
    for weekday in range(7):
        written[weekday_id(weekday)] = c.get(weekday_id(weekday))
    for opening in flow.calendar.opening_times():
        written[time_id(opening)] = c.time_of_day(opening)
    written[flow.emergency_prompt] = c.get(flow.emergency_prompt)
    for prompt_id in SYSTEM:
        written[prompt_id] = c.get(prompt_id)
    written.update(queue_texts(flow, c.get))
    prompts = {pid: Prompt(pid, text, texts.speech(text, pid)) for pid, text in written.items()}
    for answer in [o.answer for m in flow.menus.values() for o in m.options if o.answer]:
        prompts[slow(answer)] = replace(prompts[answer], id=slow(answer), rate=flow.synthesis.slow_rate)
    return prompts, sorted(set(c.missing))


def slow(answer: str) -> str:
    """The prompt id of an answer's slow replay: the same words, spoken slower."""
    return f"{answer}.slow"
