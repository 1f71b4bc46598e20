"""Walking the menu as a caller: every menu, every key, every answer, misses and the agent."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml
from flask import Flask

from helpers import (
    BASE,
    CLOSED_INSTANT,
    CLOSED_NOTICE,
    FixedClock,
    bundle_of,
    edit,
    heard,
    make_app,
    parse,
    query,
    renderer_of,
    twilio_for,
)
from ivr.testing import Twilio

ROOT = Path(__file__).resolve().parent.parent
FAQ = yaml.safe_load((ROOT / "prompts" / "faq.yaml").read_text("utf-8"))
ALL_KEYS = list("0123456789*#")
# (section key, question key, answer prompt id) for all 15 FAQ answers.
ANSWERS = [
    (s, q, f"a{s}_{q}")
    for s, n in (("1", 5), ("2", 4), ("3", 4), ("4", 2))
    for q in map(str, range(1, n + 1))
]
MENUS = [("", "main"), ("1", "s1"), ("2", "s2"), ("3", "s3"), ("4", "s4")]


def gather_of(root: ElementTree.Element) -> ElementTree.Element:
    """The single Gather of a menu response, checked to be followed by the no-input Redirect."""
    assert [c.tag for c in root] == ["Gather", "Redirect"]
    gather, redirect = root
    assert redirect.text == gather.get("action")
    assert redirect.get("method") == "POST"
    return gather


def key(twilio: Twilio, path: str, digits: str | None, n: int = 0, x: int = 0) -> ElementTree.Element:
    """Press a key (None = no input) at a position."""
    form = {} if digits is None else {"Digits": digits}
    return parse(twilio.post(f"/voice/key?p={path}&n={n}&x={x}", **form))


def test_incoming_call_plays_greeting_then_main_menu_inside_gather(app: Flask, twilio: Twilio) -> None:
    root = parse(twilio.post("/voice"))
    gather = gather_of(root)
    assert gather.attrib == {
        "action": f"{BASE}/voice/key?p=&n=0&x=0",
        "method": "POST",
        "input": "dtmf",
        "numDigits": "1",
        "timeout": "6",
        "finishOnKey": "",
        "actionOnEmptyResult": "false",
    }
    assert heard(app, gather) == ["greeting", "menu.main"]


def test_announcement_plays_before_greeting_when_set(files: Path, clock: FixedClock) -> None:
    flows = files / "flows.yaml"
    edit(flows, "announcement: null", "announcement: notice")
    app = make_app(files, clock)
    root = parse(twilio_for(app.test_client()).post("/voice"))
    assert heard(app, gather_of(root)) == ["notice", "greeting", "menu.main"]


@pytest.mark.parametrize(("section", "question", "answer"), ANSWERS, ids=[a for _, _, a in ANSWERS])
def test_every_answer_is_two_keys_from_the_main_menu(
    app: Flask, twilio: Twilio, section: str, question: str, answer: str
) -> None:
    menu = gather_of(key(twilio, "", section))
    assert heard(app, menu) == [f"menu.s{section}"]
    assert query(menu.get("action", ""))["p"] == section
    root = key(twilio, section, question)
    gather = gather_of(root)
    assert heard(app, gather) == [f"q{answer[1:]}", answer, "after_answer"]  # the FAQ question first
    assert query(gather.get("action", "")) == {"p": section + question, "n": "0", "x": "0"}
    bundle = bundle_of(app)
    assert bundle.prompts[answer].text == " ".join(FAQ[answer].split())


def announced_keys(text: str) -> set[str]:
    """Keys a composed prompt tells the caller to press."""
    names = {"米印": "*", "シャープ": "#"}
    found = set(re.findall(r"(\d)番、", text)) | set(re.findall(r"(\d)を", text))
    found |= {names[m] for m in re.findall(r"(米印|シャープ)を", text)}
    return found


NODES = [*MENUS, ("12", "answer a1_2"), ("42", "answer a4_2")]


@pytest.mark.parametrize(("path", "what"), NODES, ids=[w for _, w in NODES])
def test_announced_keys_are_exactly_the_working_keys(
    app: Flask, twilio: Twilio, path: str, what: str
) -> None:
    bundle = bundle_of(app)
    prompt_id = "after_answer" if what.startswith("answer") else f"menu.{what}"
    announced = announced_keys(bundle.prompts[prompt_id].text)
    working = {k for k in ALL_KEYS if "invalid_key" not in heard(app, key(twilio, path, k))}
    assert announced == working
    assert announced >= {"*", "0"}


@pytest.mark.parametrize(("path", "menu"), MENUS[1:], ids=[m for _, m in MENUS[1:]])
def test_back_from_a_section_returns_to_main(app: Flask, twilio: Twilio, path: str, menu: str) -> None:
    root = key(twilio, path, "#")
    assert heard(app, root) == ["menu.main"]
    assert query(gather_of(root).get("action", ""))["p"] == ""


@pytest.mark.parametrize(("section", "question", "answer"), ANSWERS, ids=[a for _, _, a in ANSWERS])
def test_back_and_main_menu_from_an_answer(
    app: Flask, twilio: Twilio, section: str, question: str, answer: str
) -> None:
    assert heard(app, key(twilio, section + question, "#")) == [f"menu.s{section}"]
    assert heard(app, key(twilio, section + question, "9")) == ["menu.main"]


def test_back_at_the_main_menu_is_not_a_key(app: Flask, twilio: Twilio) -> None:
    root = key(twilio, "", "#")
    assert heard(app, root) == ["invalid_key", "menu.main.short"]
    assert query(gather_of(root).get("action", "")) == {"p": "", "n": "0", "x": "1"}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", ["menu.main"]),
        ("1", ["menu.s1"]),
        ("4", ["menu.s4"]),
        ("11", ["q1_1", "a1_1", "after_answer"]),
        ("34", ["q3_4", "a3_4", "after_answer"]),
    ],
    ids=["main", "s1", "s4", "a1_1", "a3_4"],
)
def test_repeat_replays_the_same_position_and_resets_counters(
    app: Flask, twilio: Twilio, path: str, expected: list[str]
) -> None:
    root = key(twilio, path, "*", n=1, x=2)
    assert heard(app, root) == expected
    assert query(gather_of(root).get("action", "")) == {"p": path, "n": "0", "x": "0"}


@pytest.mark.direct_dial  # the queue's own tests: test_queue*.py
@pytest.mark.parametrize("path", ["", "2"], ids=["main", "s2"])
def test_no_input_reprompts_shorter_then_the_second_silence_gives_up_to_the_agent_in_hours(
    app: Flask, twilio: Twilio, path: str
) -> None:
    assert bundle_of(app).flow.input.max_no_input == 2
    first = key(twilio, path, None, n=0)
    assert heard(app, first) == ["no_input", f"menu.{'main' if not path else 's' + path}.short"]
    assert query(gather_of(first).get("action", "")) == {"p": path, "n": "1", "x": "0"}
    final = key(twilio, path, None, n=1)
    assert [c.tag for c in final] in (["Say", "Dial"], ["Play", "Dial"])


def test_silence_after_an_answer_is_a_closing_line_then_goodbye_not_a_transfer(
    app: Flask, twilio: Twilio
) -> None:
    first = key(twilio, "23", None, n=0)
    assert heard(app, gather_of(first)) == ["closing"]
    assert query(gather_of(first).get("action", "")) == {"p": "23", "n": "1", "x": "0"}
    assert bundle_of(app).prompts["closing"].text == "ほかにご質問がなければ、このままお切りください。"
    second = key(twilio, "23", None, n=1)
    assert heard(app, second) == ["goodbye"]
    assert [c.tag for c in second][-1] == "Hangup"
    assert second.find("Dial") is None


def test_no_input_past_the_limit_out_of_hours_says_why_and_when_then_hangs_up(
    app: Flask, twilio: Twilio, clock: FixedClock
) -> None:
    clock.instant = CLOSED_INSTANT
    root = key(twilio, "1", None, n=1)
    assert heard(app, root) == [*CLOSED_NOTICE, "goodbye"]
    assert root[-1].tag == "Hangup"


@pytest.mark.parametrize(
    "digits", ["7", "8", "12", "A", "+", "１"], ids=["7", "8", "two-digits", "letter", "plus", "fullwidth"]
)
def test_invalid_key_says_so_and_repeats_the_menu(app: Flask, twilio: Twilio, digits: str) -> None:
    root = key(twilio, "", digits, x=0)
    assert heard(app, root) == ["invalid_key", "menu.main.short"]
    assert query(gather_of(root).get("action", "")) == {"p": "", "n": "0", "x": "1"}


def test_invalid_keys_past_the_limit_end_with_hours_when_closed(
    app: Flask, twilio: Twilio, clock: FixedClock
) -> None:
    assert bundle_of(app).flow.input.max_invalid == 3
    assert query(gather_of(key(twilio, "4", "8", x=1)).get("action", ""))["x"] == "2"
    clock.instant = CLOSED_INSTANT
    root = key(twilio, "4", "8", x=2)
    assert heard(app, root) == [*CLOSED_NOTICE, "goodbye"]
    assert [c.tag for c in root][-1] == "Hangup"


@pytest.mark.direct_dial  # the queue's own tests: test_queue*.py
def test_agent_key_in_hours_dials_with_timeout_and_action(app: Flask, twilio: Twilio) -> None:
    root = key(twilio, "3", "0")
    assert [c.tag for c in root][1:] == ["Dial"]
    assert heard(app, root) == ["agent_connecting"]
    dial = root[1]
    assert dial.attrib == {"timeout": "25", "action": f"{BASE}/voice/agent/done?p=3", "method": "POST"}
    assert [(c.tag, c.text) for c in dial] == [("Sip", "sip:hotline-desk@pbx.bank.example.jp")]


@pytest.mark.direct_dial  # the queue's own tests: test_queue*.py
def test_agent_key_out_of_hours_reads_hours_then_the_same_menu(
    app: Flask, twilio: Twilio, clock: FixedClock
) -> None:
    clock.instant = CLOSED_INSTANT
    root = key(twilio, "3", "0")
    assert heard(app, gather_of(root)) == [*CLOSED_NOTICE, "menu.s3"]
    assert query(gather_of(root).get("action", ""))["p"] == "3"


def test_the_closed_notice_is_spoken_from_its_pieces(app: Flask, twilio: Twilio, clock: FixedClock) -> None:
    clock.instant = CLOSED_INSTANT
    prompts = bundle_of(app).prompts
    spoken = "".join(prompts[p].text for p in CLOSED_NOTICE)
    assert spoken == "本日の受付は終了いたしました。次の受付は、11月26日木曜日の9時からです。"


def test_short_reprompts_name_the_agent_key_first(app: Flask) -> None:
    bundle = bundle_of(app)
    agent = bundle.texts.texts["compose.agent"].format(key="0")
    assert agent == "担当者は0を"
    for prompt_id in [f"menu.{m}.short" for m in bundle.flow.menus] + ["after_answer.short"]:
        assert bundle.prompts[prompt_id].text.startswith(agent), prompt_id


def test_a_failed_transfer_after_an_answer_offers_the_choices_not_the_answer_again(
    app: Flask, twilio: Twilio
) -> None:
    root = parse(twilio.post("/voice/agent/done?p=23", DialCallStatus="busy"))
    assert heard(app, gather_of(root)) == ["agent_busy", "after_answer"]
    assert query(gather_of(root).get("action", "")) == {"p": "23", "n": "0", "x": "0"}


def test_a_wrong_key_after_an_answer_offers_the_choices_agent_first(app: Flask, twilio: Twilio) -> None:
    assert heard(app, gather_of(key(twilio, "23", "5"))) == ["invalid_key", "after_answer.short"]


@pytest.mark.parametrize(
    ("outcome", "apology"),
    [
        ("busy", "agent_busy"),
        ("no-answer", "agent_no_answer"),
        ("failed", "agent_failed"),
        ("canceled", "agent_canceled"),
        ("garbage", "agent_failed"),
    ],
    ids=["busy", "no-answer", "failed", "canceled", "unknown"],
)
def test_dial_outcomes_apologise_and_return_to_the_menu(
    app: Flask, twilio: Twilio, outcome: str, apology: str
) -> None:
    root = parse(twilio.post("/voice/agent/done?p=2", DialCallStatus=outcome))
    assert heard(app, gather_of(root)) == [apology, "menu.s2"]
    assert query(gather_of(root).get("action", "")) == {"p": "2", "n": "0", "x": "0"}


def test_dial_completed_says_goodbye_and_hangs_up(app: Flask, twilio: Twilio) -> None:
    root = parse(twilio.post("/voice/agent/done?p=", DialCallStatus="completed"))
    assert [c.tag for c in root] in (["Say", "Hangup"], ["Play", "Hangup"])
    assert heard(app, root) == ["goodbye"]


@pytest.mark.direct_dial  # the queue's own tests: test_queue*.py
def test_a_number_destination_dials_a_number(files: Path, clock: FixedClock) -> None:
    flows = files / "flows.yaml"
    edit(flows, 'destination: "sip:hotline-desk@pbx.bank.example.jp"', 'destination: "+81362700000"')
    root = parse(twilio_for(make_app(files, clock).test_client()).post("/voice/key?p=&n=0&x=0", Digits="0"))
    assert [(c.tag, c.text) for c in root.find("Dial") or []] == [("Number", "+81362700000")]


@pytest.mark.direct_dial  # the queue's own tests: test_queue*.py
def test_emergency_closure_plays_its_own_message(files: Path, clock: FixedClock) -> None:
    flows = files / "flows.yaml"
    edit(flows, "emergency_closure: false", "emergency_closure: true")
    app = make_app(files, clock)
    root = parse(twilio_for(app.test_client()).post("/voice/key?p=1&n=0&x=0", Digits="0"))
    assert heard(app, root) == ["emergency_closed", "menu.s1"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/voice/key?p=99&n=0&x=0", ["menu.main"]),  # a menu that does not exist
        ("/voice/key?p=1x&n=0&x=0", ["menu.s1"]),  # garbage after a valid prefix
        ("/voice/key?p=123456789&n=0&x=0", ["q1_2", "a1_2", "after_answer"]),  # keys past an answer
        ("/voice/key?p=%E2%91%A0&n=zz&x=-1", ["menu.main"]),  # non-ASCII position, bad counters
        ("/voice/no/such/route", ["menu.main"]),
        ("/voice/node?p=3", ["menu.s3"]),
    ],
    ids=["unknown-menu", "garbage-suffix", "past-answer", "non-ascii", "unknown-route", "node"],
)
def test_nonsense_positions_bring_the_caller_back_on_track(
    app: Flask, twilio: Twilio, url: str, expected: list[str]
) -> None:
    root = parse(twilio.post(url, Digits="*"))
    assert heard(app, gather_of(root)) == expected


def test_status_callback_is_acknowledged_with_empty_twiml(twilio: Twilio) -> None:
    root = parse(twilio.post("/voice/status", CallStatus="completed", CallDuration="42"))
    assert list(root) == []


def test_fallback_is_a_static_apology_with_say_and_hangup(app: Flask, twilio: Twilio) -> None:
    root = parse(twilio.post("/voice/fallback", ErrorCode="11200"))
    assert [c.tag for c in root] == ["Say", "Hangup"]
    assert root[0].attrib == {"language": "ja-JP", "voice": "Polly.Mizuki"}
    assert heard(app, root) == ["fallback"]


def test_an_unexpected_error_answers_with_the_fallback_not_a_500(
    app: Flask, twilio: Twilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    renderer = renderer_of(app)

    def explode(*args: object, **kwargs: object) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(renderer, "node", explode)
    response = twilio.post("/voice/key?p=1&n=0&x=0", Digits="1")
    root = parse(response)
    assert heard(app, root) == ["fallback"]
    assert b"boom" not in response.data and b"Traceback" not in response.data


def test_get_on_a_webhook_is_405_with_twiml(client: object) -> None:
    from flask.testing import FlaskClient

    assert isinstance(client, FlaskClient)
    response = client.get("/voice")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert ElementTree.fromstring(response.data).tag == "Response"


def test_caller_number_never_logged_in_clear(
    app: Flask, twilio: Twilio, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    twilio.post("/voice", From="+819011112222")
    twilio.post("/voice/status", From="+819011112222", CallStatus="completed")
    assert caplog.records
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "+819011112222" not in text and "9011112222" not in text
    assert "+81********22" in text


@pytest.mark.parametrize(("section", "question", "answer"), ANSWERS, ids=[a for _, _, a in ANSWERS])
def test_menus_say_a_short_topic_and_the_answer_names_the_bank_question(
    app: Flask, section: str, question: str, answer: str
) -> None:
    bundle = bundle_of(app)
    option = bundle.flow.menus[f"s{section}"].options[int(question) - 1]
    topic, asked = bundle.texts.texts[option.label], bundle.prompts[f"q{answer[1:]}"].text
    assert (option.key, option.answer, option.question) == (question, answer, f"q{answer[1:]}")
    assert asked == " ".join(FAQ[f"q{answer[1:]}"].split())  # the FAQ's question, as the bank wrote it
    assert topic not in FAQ.values() and len(topic) <= 12
    assert f"{topic}は{question}を" in bundle.prompts[f"menu.s{section}"].text


@pytest.mark.parametrize(("section", "question", "answer"), ANSWERS, ids=[a for _, _, a in ANSWERS])
def test_the_slow_key_after_an_answer_plays_it_again_slowly(
    app: Flask, twilio: Twilio, section: str, question: str, answer: str
) -> None:
    gather = gather_of(key(twilio, section + question, "7", n=1, x=1))
    assert heard(app, gather) == [f"{answer}.slow", "after_answer"]
    assert query(gather.get("action", "")) == {"p": section + question, "n": "0", "x": "0"}
    bundle = bundle_of(app)
    slow, normal = bundle.prompts[f"{answer}.slow"], bundle.prompts[answer]
    assert (slow.text, slow.speech, slow.rate, normal.rate) == (normal.text, normal.speech, 0.8, 1.0)
    played = gather[0].text or ""
    assert played.rsplit("/", 1)[-1] == bundle.audio[f"{answer}.slow"].file != bundle.audio[answer].file
    assert "ゆっくりお聞きになるには7を" in bundle.prompts["after_answer"].text


@pytest.mark.parametrize(
    ("voice", "prosody"),
    [("Polly.Mizuki", "80%"), ("Google.ja-JP-Standard-A", "80%"), ("alice", None)],
    ids=["polly-ssml", "google-ssml", "basic-voice-no-ssml"],
)
def test_without_its_audio_the_slow_replay_is_said_slower_where_say_can(
    files: Path, clock: FixedClock, voice: str, prosody: str | None
) -> None:
    manifest = files / "audio" / "manifest.json"
    data = json.loads(manifest.read_text("utf-8"))
    data["files"] = {k: v for k, v in data["files"].items() if v["prompt"] != "a1_3.slow"}
    manifest.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    flows = files / "flows.yaml"
    edit(flows, "say_voice: Polly.Mizuki", f"say_voice: {voice}")
    app = make_app(files, clock)
    say = gather_of(key(twilio_for(app.test_client()), "13", "7"))[0]
    speech = bundle_of(app).prompts["a1_3"].speech
    assert (say.tag, say.attrib) == ("Say", {"language": "ja-JP", "voice": voice})
    if prosody is None:
        assert (say.text, list(say)) == (speech, [])
    else:
        assert [(c.tag, c.attrib, c.text) for c in say] == [("prosody", {"rate": prosody}, speech)]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("CallStatus", "completed\nstatus call=CA-forged from=-"),
        ("CallSid", "CA1\r\nincoming call=CA2"),
        ("CallStatus", "\x1b[31mred"),
    ],
    ids=["line-feed", "carriage-return", "terminal-escape"],
)
def test_a_request_field_cannot_forge_a_log_line(
    twilio: Twilio, caplog: pytest.LogCaptureFixture, field: str, value: str
) -> None:
    """Control characters from a request are escaped: one webhook, one line of the call log."""
    caplog.set_level("INFO", logger="ivr.call")
    twilio.post("/voice/status", **{"CallStatus": "completed", field: value})
    lines = [r.getMessage() for r in caplog.records if r.name == "ivr.call"]
    assert len(lines) == 1 and lines[0].startswith("status ")
    assert not any(ch in lines[0] for ch in "\n\r\x1b") and "\\x" in lines[0]
