"""`pindah app`: the whole migration in a local web page, for artists who never open a terminal.

The app is a thin layer over the same engine as the CLI (`migrator.engine`, `aftercare`,
`marks`, the journal and its locks): a run started in the app and one started with
`pindah migrate` share journals, locks and results.

This package's `__init__` imports nothing heavy: the engine reads the artist's choices from
`pindah.migrator.app.edits` without loading the web server. `register` adds `pindah app`,
`pindah select` and `pindah alt-text` to the command group.
"""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    from .command import app_command
    from .edit_commands import alt_text_command, select_command

    group.add_command(app_command, "app")
    group.add_command(select_command, "select")
    group.add_command(alt_text_command, "alt-text")
