"""`dataex keys rotate-log` and `dataex keys finish-log-rotation`: rotate the checkpoint key.

Local commands on the data directory (like `dataex init`). During a rotation
every checkpoint carries both keys' signatures; see dataex/keys/log_keys.py.
"""

from __future__ import annotations

import click

from dataex.cli.common import friendly_errors, print_json, settings
from dataex.keys.log_keys import LogKeyFiles


@click.command("rotate-log")
@friendly_errors
def rotate_log() -> None:
    """Create the next log key (keys/log-next.pem); checkpoints are then signed by both."""
    s = settings()
    vkey = LogKeyFiles.of(s).start_rotation(s.log_origin)
    print_json({"next": vkey, "status": "checkpoints are now signed by the active and next keys"})


@click.command("finish-log-rotation")
@friendly_errors
def finish_log_rotation() -> None:
    """Promote the next log key; the old public key stays listed as retired."""
    s = settings()
    retired, active = LogKeyFiles.of(s).finish_rotation(s.log_origin)
    print_json({"active": active, "retired": retired})
