"""`flask ivr synth` engine room: make missing or outdated audio in parallel, atomically, never twice."""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ivr.flow import manifest
from ivr.flow.catalog import Prompt
from ivr.flow.manifest import AudioEntry

from . import levels
from .dsp import PHONE_RATE, resample, to_telephony_wav, trim, wav_duration
from .engines import make_engine
from .interface import Engine

FORMAT = "g711-ulaw-8k-v1"  # bump when the audio pipeline changes what comes out
EngineFactory = Callable[[str, Mapping[str, object]], Engine]
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class Job:
    """One prompt to be made into one file."""

    prompt: Prompt
    file: str


@dataclass
class Plan:
    """What a run will do: files kept as they are, files found whole but unrecorded, files to make."""

    keep: dict[str, AudioEntry] = field(default_factory=dict)
    adopt: list[Job] = field(default_factory=list)
    make: list[Job] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)  # audio files nothing references any more


def content_hash(speech: str, settings: Mapping[str, object], target_db: float, rate: float = 1.0) -> str:
    """Hash of all that shapes the sound: spoken text, engine settings, level, the prompt's rate, format."""
    material: dict[str, object] = {
        "speech": speech,
        "settings": settings,
        "target_db": target_db,
        "format": FORMAT,
    }
    if rate != 1.0:  # only where it differs, so that files made at the normal rate keep their names
        material["rate"] = rate
    return hashlib.sha256(json.dumps(material, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def file_name(prompt_id: str, digest: str) -> str:
    """audio/<prompt>-<hash>.wav, with characters a URL or file system dislikes replaced."""
    return f"{_UNSAFE.sub('_', prompt_id)}-{digest}.wav"


def plan(
    prompts: Mapping[str, Prompt], engine: Engine, target_db: float, audio_dir: Path, *, force: bool = False
) -> Plan:
    """Decide, without calling the engine, which prompts need synthesis."""
    entries = manifest.read(audio_dir, [])  # unreadable: nothing kept, everything made again
    result = Plan()
    settings = engine.settings()  # once: it hashes the voice file
    for prompt in prompts.values():
        name = file_name(prompt.id, content_hash(prompt.speech, settings, target_db, prompt.rate))
        exists = (audio_dir / name).is_file()
        entry = entries.get(name)
        if (
            not force
            and exists
            and entry is not None
            and entry.prompt == prompt.id
            and entry.text == prompt.text
        ):
            result.keep[name] = entry
        elif not force and exists:
            result.adopt.append(Job(prompt, name))  # written whole by an interrupted run (atomic rename)
        else:
            result.make.append(Job(prompt, name))
    wanted = set(result.keep) | {j.file for j in result.adopt + result.make}
    result.orphans = sorted(p.name for p in audio_dir.glob("*.wav") if p.name not in wanted)
    return result


def entry_for(job: Job, engine: Engine, data: bytes) -> AudioEntry:
    """The manifest record of a finished file."""
    return AudioEntry(
        file=job.file,
        prompt=job.prompt.id,
        text=job.prompt.text,
        speech=job.prompt.speech,
        engine=engine.name,
        voice=engine.voice,
        sha256=hashlib.sha256(data).hexdigest(),
        duration_s=round(wav_duration(data), 3),
    )


# --- worker side: each process builds its own engine once -------------------------------------------
_worker_engine: Engine | None = None
SENTENCE_END = re.compile(r"(?<=[。！？])")
SENTENCE_PAUSE_S = 0.35  # the pause heard where the text has 。
EDGE_S = 0.04  # silence kept at each end of a sentence before the pause is added


def units_of(speech: str, engine_name: str) -> list[str]:
    """What one engine call speaks: a sentence for the offline engine (shared sentences are made once),
    the whole prompt for google (whose voice shapes a paragraph as a whole)."""
    if engine_name != "openjtalk":
        return [speech]
    return [s for s in (part.strip() for part in SENTENCE_END.split(speech)) if s] or [speech]


def _init_worker(factory: EngineFactory, name: str, options: Mapping[str, object]) -> None:
    global _worker_engine
    _worker_engine = factory(name, options)


def _speak(text: str, prompt_id: str, speed: float = 1.0) -> npt.NDArray[np.float32]:
    """One unit spoken at `speed`, at the phone rate, its edge silences cut down to EDGE_S."""
    assert _worker_engine is not None
    samples, rate = _worker_engine.synthesize(text, prompt_id=prompt_id, rate=speed)
    x = resample(np.asarray(samples, dtype=np.float64), rate)
    if levels.sound_frames(x, PHONE_RATE).any():  # a unit that is all silence is kept as it is
        x = trim(x, EDGE_S, EDGE_S)
    return x.astype(np.float32)


def _assemble(parts: list[npt.NDArray[np.float32]], target_db: float) -> bytes:
    pause = np.zeros(round(PHONE_RATE * SENTENCE_PAUSE_S), dtype=np.float32)
    joined: list[npt.NDArray[np.float32]] = []
    for part in parts:
        joined += [pause, part] if joined else [part]
    return to_telephony_wav(np.concatenate(joined).astype(np.float64), PHONE_RATE, target_db=target_db)


def execute(
    jobs: list[Job],
    engine_name: str,
    options: Mapping[str, object],
    target_db: float,
    *,
    workers: int,
    factory: EngineFactory = make_engine,
) -> Iterator[tuple[Job, bytes]]:
    """Synthesize jobs in parallel (processes for the CPU-bound offline engine, threads for the network one);
    yields each job with its WAV bytes as soon as all its parts are spoken."""
    if not jobs:
        return
    pool: cf.Executor
    if engine_name == "openjtalk" and workers > 1:
        pool = cf.ProcessPoolExecutor(
            workers, initializer=_init_worker, initargs=(factory, engine_name, options)
        )
    else:
        _init_worker(factory, engine_name, options)
        pool = cf.ThreadPoolExecutor(workers)
    # a unit is a text at a rate: the slow replay of an answer shares no sound with the answer
    needs = {job: [(u, job.prompt.rate) for u in units_of(job.prompt.speech, engine_name)] for job in jobs}
    first_user: dict[tuple[str, float], str] = {}
    for job, units in needs.items():
        for unit in units:
            first_user.setdefault(unit, job.prompt.id)
    spoken: dict[tuple[str, float], npt.NDArray[np.float32]] = {}
    waiting = dict(needs)
    with pool:
        # longest first, so a big sentence does not end up alone at the tail of the run
        futures = {
            pool.submit(_speak, unit[0], pid, unit[1]): unit
            for unit, pid in sorted(first_user.items(), key=lambda u: -len(u[0][0]))
        }
        try:
            for future in cf.as_completed(futures):
                spoken[futures[future]] = future.result()
                for job in [j for j, units in waiting.items() if all(u in spoken for u in units)]:
                    del waiting[job]
                    yield job, _assemble([spoken[u] for u in needs[job]], target_db)
        except BaseException:
            for pending in futures:
                pending.cancel()
            raise
