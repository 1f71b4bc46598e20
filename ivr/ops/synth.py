"""`flask --app app ivr synth`: the ops command; the engines load inside it, never in web workers."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ivr.flow import manifest
from ivr.state import get_state


@click.command("synth")
@click.option(
    "--engine", type=click.Choice(["openjtalk", "google"]), help="Override synthesis.engine in flows.yaml."
)
@click.option(
    "--dry-run", is_flag=True, help="List what would be made (and, for google, the characters billed)."
)
@click.option("--prune", is_flag=True, help="Delete audio files that no prompt uses any more.")
@click.option("--force", is_flag=True, help="Make every file again, even unchanged ones.")
@click.option(
    "--workers",
    type=click.IntRange(1, 32),
    help="Parallel syntheses (default: CPUs for openjtalk, 4 for google).",
)
@with_appcontext
def synth(engine: str | None, dry_run: bool, prune: bool, force: bool, workers: int | None) -> None:
    """Synthesize the audio of every prompt the flow can play; only what changed is made again."""
    from ivr.synth import SynthesisError, make_engine, run

    state = get_state()
    if state.loaded is None:
        problems = "\n".join(str(p) for p in state.last_error)
        raise click.UsageError(
            f"the flow has errors; fix them first (flask --app app ivr check):\n{problems}"
        )
    bundle = state.loaded.bundle
    settings = bundle.flow.synthesis
    name = engine or settings.engine
    options = settings.engines.get(name, {})
    try:
        voice = make_engine(name, options)
    except ValueError as exc:
        raise click.UsageError(f"flows.yaml synthesis.{name}: {exc}") from exc
    audio_dir = Path(current_app.config["IVR_AUDIO"])
    audio_dir.mkdir(parents=True, exist_ok=True)
    plan = run.plan(bundle.prompts, voice, settings.target_db, audio_dir, force=force)
    billed = sum(voice.billable_characters(job.prompt.speech) for job in plan.make)
    click.echo(
        f"{len(bundle.prompts)} prompts: {len(plan.keep)} up to date, {len(plan.adopt)} found whole from an "
        f"interrupted run, {len(plan.make)} to synthesize with {name} ({voice.voice})"
        + (f", {billed} characters billed" if name == "google" else "")
    )
    if dry_run:
        for job in plan.make:
            chars = f"  ({voice.billable_characters(job.prompt.speech)} chars)" if name == "google" else ""
            click.echo(f"  would make {job.file}{chars}")
        for orphan in plan.orphans if prune else []:
            click.echo(f"  would delete {orphan}")
        return
    entries = dict(plan.keep)
    for job in plan.adopt:
        entries[job.file] = run.entry_for(job, voice, (audio_dir / job.file).read_bytes())
    count = workers or (os.cpu_count() or 1 if name == "openjtalk" else 4)
    started = time.monotonic()
    try:
        with click.progressbar(
            length=len(plan.make), label="synthesizing", show_pos=True, item_show_func=lambda item: item
        ) as bar:
            for job, data in run.execute(plan.make, name, options, settings.target_db, workers=count):
                manifest.write_atomic(audio_dir / job.file, data)
                entries[job.file] = run.entry_for(job, voice, data)
                bar.update(1, job.prompt.id)
    except SynthesisError as exc:
        raise click.ClickException(
            f"{exc}\n(the {len(entries)} files finished so far are kept; run again to go on)"
        ) from exc
    finally:
        manifest.write(audio_dir, entries)  # last: it only ever names whole files
    if prune:
        for orphan in plan.orphans:
            (audio_dir / orphan).unlink(missing_ok=True)
    seconds = sum(e.duration_s for e in entries.values())
    click.echo(
        f"done in {time.monotonic() - started:.1f} s: {len(plan.make)} made, {len(entries)} files, "
        f"{seconds:.0f} s of audio" + (f", {len(plan.orphans)} unused files deleted" if prune else "")
    )
