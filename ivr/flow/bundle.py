"""Load flows.yaml, prompts/ and the audio manifest into one immutable, validated bundle."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from ivr.flow import manifest, prompts, rules, schema, yamlpos
from ivr.flow.catalog import Prompt, build
from ivr.flow.manifest import AudioEntry
from ivr.flow.model import Flow
from ivr.flow.problems import FlowInvalid, Problem, blocking, fold, ordered, warnings
from ivr.flow.prompts import PromptTexts

log = logging.getLogger("ivr.bundle")


@dataclass(frozen=True)
class Sources:
    """Where the ops-edited files live."""

    flows: Path
    prompts: Path
    audio: Path

    def files(self) -> list[Path]:
        """Every file whose change means a reload."""
        found = [self.flows, *sorted(self.prompts.glob("*.yaml")), self.audio / manifest.MANIFEST]
        return found

    def display(self) -> str:
        """How problems name the flow file: its bare name beside prompts/, else its whole path."""
        return self.flows.name if self.flows.parent == self.prompts.parent else str(self.flows)


@dataclass(frozen=True)
class Bundle:
    """Everything a call needs, loaded once and shared read-only by all requests."""

    flow: Flow
    prompts: dict[str, Prompt]
    audio: dict[str, AudioEntry]
    stale: list[str]
    missing: list[str]
    digest: str
    texts: PromptTexts  # as written in prompts/: what ops tools compose and locate
    warnings: list[Problem] = field(default_factory=list)


def inspect(sources: Sources) -> tuple[Bundle | None, list[Problem]]:
    """Load and validate everything; the bundle (None on errors) and every problem found. Never raises."""
    try:
        return _inspect(sources)
    except Exception as exc:  # an edit must never take the line down, whatever it breaks
        log.exception("loading the ops files failed")
        fix = "undo the last edit, then run `flask --app app ivr check`"
        return None, [Problem(sources.display(), 1, 1, f"the flow cannot be loaded ({exc!r})", fix)]


def _inspect(sources: Sources) -> tuple[Bundle | None, list[Problem]]:
    problems: list[Problem] = []
    doc = yamlpos.load(sources.flows, sources.display())
    flow = schema.build(doc) if not doc.problems or doc.data is not None else None
    texts = prompts.load(sources.prompts, problems)
    bundle = None
    if flow is not None:
        rules.check(flow, texts, doc)
    problems.extend(doc.problems)
    if flow is not None and not blocking(problems):
        catalog, missing_ids = build(flow, texts)
        for prompt_id in missing_ids:
            problems.append(
                Problem(
                    f"{sources.prompts.name}/system.yaml",
                    1,
                    1,
                    f"prompt '{prompt_id}' is needed but not defined in prompts/",
                    f'add a line {prompt_id}: "…" (文言を追加してください)',
                )
            )
        entries = manifest.read(sources.audio, problems)
        fresh, stale, missing = manifest.match(catalog, entries, sources.audio)
        if not blocking(problems):
            bundle = Bundle(flow, catalog, fresh, stale, missing, _digest(sources), texts, warnings(problems))
    return bundle, ordered(fold(problems, texts.unloaded))


def load(sources: Sources) -> Bundle:
    """The bundle, or FlowInvalid listing every error."""
    bundle, problems = inspect(sources)
    if bundle is None:
        raise FlowInvalid(blocking(problems) or problems)
    return bundle


def _digest(sources: Sources) -> str:
    sha = hashlib.sha256()
    for path in sources.files():
        if path.is_file():
            sha.update(path.name.encode() + b"\0" + path.read_bytes())
    return sha.hexdigest()[:16]
