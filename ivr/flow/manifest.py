"""audio/manifest.json (contract 4): which file holds which prompt, made from which text."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from ivr.flow.catalog import Prompt
from ivr.flow.problems import Problem

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class AudioEntry:
    """One pre-synthesized file as the manifest records it."""

    file: str
    prompt: str
    text: str
    speech: str
    engine: str
    voice: str
    sha256: str
    duration_s: float


def read(audio_dir: Path, problems: list[Problem]) -> dict[str, AudioEntry]:
    """The manifest's entries by file name; unreadable is a warning (prompts fall back to <Say>)."""
    path = audio_dir / MANIFEST
    display = f"{audio_dir.name}/{MANIFEST}"
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
        files = data["files"]
        if data.get("version") != 1 or not isinstance(files, dict):
            raise ValueError('expected {"version": 1, "files": {…}}')
        return {
            name: AudioEntry(
                file=name,
                prompt=str(e["prompt"]),
                text=str(e["text"]),
                speech=str(e["speech"]),
                engine=str(e["engine"]),
                voice=str(e["voice"]),
                sha256=str(e["sha256"]),
                duration_s=float(e["duration_s"]),
            )
            for name, e in files.items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        line = getattr(exc, "lineno", 1)
        problems.append(
            Problem(
                display,
                line,
                1,
                f"the audio manifest cannot be read ({exc})",
                "run `flask --app app ivr synth` to write it again",
                "warning",
            )
        )
        return {}


def write(audio_dir: Path, entries: Mapping[str, AudioEntry]) -> None:
    """The manifest as `read` reads it, sorted for readable diffs; replaced whole, never half-written."""
    files = {name: {k: v for k, v in asdict(e).items() if k != "file"} for name, e in sorted(entries.items())}
    body = json.dumps({"version": 1, "files": files}, ensure_ascii=False, indent=2) + "\n"
    write_atomic(audio_dir / MANIFEST, body.encode("utf-8"))


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old one or the whole new one, never a part."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def match(
    prompts: dict[str, Prompt], entries: dict[str, AudioEntry], audio_dir: Path | None
) -> tuple[dict[str, AudioEntry], list[str], list[str]]:
    """For each prompt the file made from its current text, plus the ids whose audio is stale or missing."""
    by_prompt: dict[str, list[AudioEntry]] = {}
    for entry in entries.values():
        by_prompt.setdefault(entry.prompt, []).append(entry)
    fresh: dict[str, AudioEntry] = {}
    stale: list[str] = []
    missing: list[str] = []
    for prompt_id, prompt in prompts.items():
        candidates = by_prompt.get(prompt_id, [])
        usable = [
            e
            for e in candidates
            if e.text == prompt.text
            and e.speech == prompt.speech
            and (audio_dir is None or (audio_dir / e.file).is_file())
        ]
        if usable:
            fresh[prompt_id] = usable[-1]
        elif candidates:
            stale.append(prompt_id)
        else:
            missing.append(prompt_id)
    return fresh, stale, missing
