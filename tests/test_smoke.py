from conftest import Twilio, parse


def test_incoming_call_starts_with_greeting(twilio: Twilio) -> None:
    root = parse(twilio.post("/voice"))
    assert [child.tag for child in root] == ["Gather", "Redirect"]
