"""The `google` engine: Cloud Text-to-Speech, μ-law at 8000 Hz with the telephony effects profile.

google.cloud is imported on first use only: the web workers never load a speech engine.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from . import google_errors
from .g711 import decode_ulaw
from .interface import SynthesisError, check_options, number_option, text_option
from .textsplit import split_text
from .wavfile import Samples, read_wav

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

DEFAULT_VOICE = "ja-JP-Chirp3-HD-Aoede"
MAX_REQUEST_BYTES = 5000  # the API's limit on the text of one request
SAMPLE_RATE = 8000
EFFECTS_PROFILE = "telephony-class-application"
_OPTIONS = ("voice", "speaking_rate", "pitch")
_VOICE_NAME = re.compile(r"^[a-z]{2,3}-[A-Z]{2}-[A-Za-z0-9-]+$")


class GoogleEngine:
    """Google Cloud TTS through the official client, with explicit retries and timeouts."""

    name = "google"

    def __init__(
        self,
        voice: str = DEFAULT_VOICE,
        *,
        speaking_rate: float = 1.0,
        pitch: float | None = None,
        client_options: Mapping[str, object] | None = None,
        credentials: Credentials | None = None,
        transport: str | None = None,
        initial_backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        deadline_s: float = 300.0,
        call_timeout_s: float = 60.0,
        max_request_bytes: int = MAX_REQUEST_BYTES,
    ) -> None:
        if not _VOICE_NAME.match(voice):
            raise ValueError(f"google voice {voice!r} is not a voice name like {DEFAULT_VOICE!r}")
        # Chirp (3) HD voices take neither pitch nor SSML
        if pitch is not None and "Chirp" in voice:
            raise ValueError(f"google voice {voice!r} does not support the 'pitch' option")
        self.voice = voice
        self.language_code = "-".join(voice.split("-")[:2])
        self.speaking_rate = speaking_rate
        self.pitch = pitch
        self.max_request_bytes = max_request_bytes
        self.call_timeout_s = call_timeout_s
        self._retry_config = (initial_backoff_s, max_backoff_s, deadline_s)
        self._client_args: dict[str, Any] = {
            "client_options": dict(client_options) if client_options else None,
            "credentials": credentials,
            "transport": transport,
        }
        self._client: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> GoogleEngine:
        """Build from the `voice`, `speaking_rate` (0.25-2.0) and `pitch` (-20-20) options."""
        check_options("google", options, _OPTIONS)
        pitch = options.get("pitch")
        return cls(
            text_option("google", options, "voice", DEFAULT_VOICE),
            speaking_rate=number_option("google", options, "speaking_rate", 1.0, 0.25, 2.0),
            pitch=None if pitch is None else number_option("google", options, "pitch", 0.0, -20.0, 20.0),
        )

    def settings(self) -> dict[str, object]:
        """Voice, language, rate, pitch and the audio format requested (what changes the sound)."""
        settings: dict[str, object] = {
            "engine": self.name,
            "voice": self.voice,
            "language_code": self.language_code,
            "speaking_rate": self.speaking_rate,
            "audio_encoding": "MULAW",
            "sample_rate_hertz": SAMPLE_RATE,
            "effects_profile_id": [EFFECTS_PROFILE],
        }
        if self.pitch is not None:
            settings["pitch"] = self.pitch
        return settings

    def billable_characters(self, speech: str) -> int:
        """Characters billed for `speech`: every character of the text sent, spaces included."""
        return sum(len(part) for part in split_text(speech, self.max_request_bytes))

    def synthesize(self, speech: str, *, prompt_id: str, rate: float = 1.0) -> tuple[Samples, int]:
        """Speak `speech` at `rate` x `speaking_rate`, split at sentence ends over the limit; 8 kHz."""
        parts = split_text(speech, self.max_request_bytes)
        if not parts:
            raise SynthesisError(f"prompt {prompt_id}: nothing to say (the text is empty)")
        pieces: list[Samples] = []
        sample_rate = SAMPLE_RATE
        for number, part in enumerate(parts, start=1):
            where = f"prompt {prompt_id}" + (f" (part {number} of {len(parts)})" if len(parts) > 1 else "")
            with google_errors.translated(where, part, self._retry_config[2]):
                audio = self._request(part, rate)
            samples, part_rate = _decode(audio, where)
            if pieces and part_rate != sample_rate:
                raise SynthesisError(
                    f"Google TTS answered {where} at {part_rate} Hz, the rest at {sample_rate} Hz"
                )
            pieces.append(samples)
            sample_rate = part_rate
        return np.concatenate(pieces), sample_rate

    def _request(self, text: str, rate: float = 1.0) -> bytes:
        from google.api_core.timeout import ConstantTimeout
        from google.cloud import texttospeech as tts

        config: dict[str, Any] = {
            "audio_encoding": tts.AudioEncoding.MULAW,
            "sample_rate_hertz": SAMPLE_RATE,
            "speaking_rate": round(min(max(self.speaking_rate * rate, 0.25), 2.0), 3),  # the API's range
            "effects_profile_id": [EFFECTS_PROFILE],
        }
        if self.pitch is not None:
            config["pitch"] = self.pitch
        response = self._get_client().synthesize_speech(
            request=tts.SynthesizeSpeechRequest(
                input=tts.SynthesisInput(text=text),  # plain text: Chirp 3 HD takes no SSML
                voice=tts.VoiceSelectionParams(language_code=self.language_code, name=self.voice),
                audio_config=tts.AudioConfig(**config),
            ),
            retry=google_errors.retry_policy(*self._retry_config),
            # a plain float would be a deadline shared by all attempts; this bounds each attempt
            timeout=ConstantTimeout(self.call_timeout_s),  # type: ignore[no-untyped-call]
        )
        return bytes(response.audio_content)

    def _get_client(self) -> Any:
        with self._lock:
            if self._client is None:
                from google.cloud import texttospeech as tts

                self._client = tts.TextToSpeechClient(**self._client_args)
            return self._client


def _decode(audio: bytes, where: str) -> tuple[Samples, int]:
    if not audio:
        raise SynthesisError(f"Google TTS returned no audio for {where}")
    if not audio.startswith(b"RIFF"):
        # headerless μ-law, as requested
        return decode_ulaw(np.frombuffer(audio, dtype=np.uint8)).astype(np.float64) / 32768.0, SAMPLE_RATE
    try:
        return read_wav(audio)
    except ValueError as exc:
        raise SynthesisError(f"Google TTS returned audio that cannot be read for {where}: {exc}") from exc
