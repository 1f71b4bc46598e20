"""prompts/readings.yaml: what callers hear instead of what is written, for every prompt or for some."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from helpers import ROOT, FixedClock, bundle_of, edit, make_app
from ivr.flow.bundle import Sources, load

BUNDLE = load(Sources(ROOT / "flows.yaml", ROOT / "prompts", ROOT / "audio"))
FAQ = yaml.safe_load((ROOT / "prompts" / "faq.yaml").read_text("utf-8"))
CALL_US = "弊社お客さま相談窓口(0120-701-675 平日 9:00-17:00)か、お取引店までご連絡をお願いいたします。"
PRESS_0 = (
    "受付時間内に、このお電話で0を押して担当者にご相談いただくか、お取引店までご連絡をお願いいたします。"
)
A3 = ["a3_1", "a3_2", "a3_3", "a3_4"]


@pytest.mark.parametrize("answer", A3, ids=A3)
def test_answers_that_say_call_this_number_say_press_0_instead(answer: str) -> None:
    prompt = BUNDLE.prompts[answer]
    assert prompt.text == " ".join(FAQ[answer].split())  # the bank's wording, as written
    assert CALL_US in prompt.text
    assert prompt.speech.endswith("そのような事態がございましたら、" + PRESS_0)
    assert "ゼロイチニーゼロ" not in prompt.speech and "0120" not in prompt.speech
    assert "、か、" not in prompt.speech


@pytest.mark.parametrize(
    ("prompt_id", "spoken"),
    [
        ("a1_2", "、てんばん、お客様番号など、口座番号"),
        ("a1_4", "パスワードなどは"),
        ("a3_1", "お客様番号など、"),
    ],
    ids=["a1_2", "a1_4", "a3_1"],
)
def test_tou_is_said_nado(prompt_id: str, spoken: str) -> None:
    prompt = BUNDLE.prompts[prompt_id]
    assert "等" in prompt.text
    assert spoken in prompt.speech and "等" not in prompt.speech


def test_a_reading_with_prompts_applies_to_those_prompts_only(files: Path, clock: FixedClock) -> None:
    system = files / "prompts" / "system.yaml"
    text = system.read_text("utf-8")
    notice = next(line for line in text.splitlines() if line.startswith("notice:"))
    system.write_text(text.replace(notice, f'notice: "{CALL_US}"'), "utf-8")
    flows = files / "flows.yaml"
    edit(flows, "announcement: null", "announcement: notice")
    bundle = bundle_of(make_app(files, clock))
    assert bundle.prompts["notice"].text == CALL_US
    # the general readings still apply there: the number digit by digit, the hours in words
    assert bundle.prompts["notice"].speech == (
        "弊社お客さま相談窓口、ゼロイチニーゼロ、ナナゼロイチ、ロクナナゴ、平日9時から17時、か、"
        "お取引店までご連絡をお願いいたします。"
    )
    assert bundle.prompts["a3_4"].speech.endswith(PRESS_0)
