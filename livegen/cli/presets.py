"""``livegen presets``: what each preset is and how well it plays, each listed once."""

from __future__ import annotations

from pathlib import Path

import click

from livegen.cli.errors import reports_errors


def preset_folders(folders) -> list[tuple[str, Path]]:
    """(name to show, preset directory) of every preset found, each once by resolved path.

    Bundled ones come first by name, then those in ./presets, then those in ``folders``; a
    folder named twice, or ./presets being the bundled folder, adds nothing.
    """
    from livegen.model import preset as presets

    bundled = presets.bundled_dir()
    found, seen = [], set()
    for place in [bundled, Path("presets"), *folders]:
        for directory in presets.list_folder(place):
            if directory.resolve() not in seen:
                seen.add(directory.resolve())
                found.append((directory.name if place == bundled else str(directory), directory))
    return found


@click.command(name="presets")
@click.argument("folders", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@reports_errors
def list_presets(folders):
    """List presets with what they are and how well they play: the bundled ones, those in
    ./presets (where 'livegen train --out presets/NAME' puts yours), and those in FOLDERS."""
    from livegen.model import preset as presets

    found = preset_folders(folders)
    if not presets.list_folder(presets.bundled_dir()):
        click.echo(f"no bundled presets in {presets.bundled_dir()}")
    for name, directory in found:
        try:
            line = presets.summary(directory)
        except presets.PresetError as error:
            line = f"unreadable: {error}"
        click.echo(f"{name:12s} {line}".rstrip())
