"""`pindah app`: start the local app on 127.0.0.1 and open it in the browser.

It prints the address with its one-time token (the only way in), keeps running until Ctrl-C,
and then stops cleanly: a run in progress finishes the post it is sending, the journal is
consistent, and the next `pindah app` (or `pindah migrate`) continues from there.
"""

from __future__ import annotations

import socket
import threading
import webbrowser
from pathlib import Path
from typing import Any

import click


def _socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))  # loopback only, never every interface
    except OSError as exc:
        sock.close()
        raise click.ClickException(f"port {port} is taken ({exc.strerror}); choose another with --port, "
                                   "or leave it out to get a free one") from None
    sock.listen(64)
    return sock


@click.command()
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Port on 127.0.0.1 (default: a free one).")
@click.option("--no-browser", is_flag=True, help="Do not open the browser; just print the address.")
@click.pass_context
def app_command(ctx: click.Context, port: int, no_browser: bool) -> None:
    """Open pindah in your web browser: the whole move, without typing commands."""
    import uvicorn

    from .security import Keys
    from .server import build_app

    config: dict[str, Any] = ctx.obj or {}
    config_path: Path | None = ctx.find_root().params.get("config_path")
    sock = _socket(port)
    keys = Keys(sock.getsockname()[1])
    guarded, app = build_app(config, port=keys.port, config_path=config_path, keys=keys)
    address = keys.address()
    click.echo(f"pindah is open at {address}")
    click.echo("Keep this window open while you work; press Ctrl-C here to stop pindah.")
    if not no_browser:
        threading.Timer(0.5, lambda: webbrowser.open(address)).start()
    server = uvicorn.Server(uvicorn.Config(guarded, log_level="warning", access_log=False,
                                           timeout_graceful_shutdown=2, lifespan="off"))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn hands Ctrl-C back once it has shut down: quitting the app is not an error
    finally:
        app.state.closing = True
        runs = app.state.runs
        if runs.running:
            click.echo("Finishing the post being sent, then stopping…")
            runs.stop()
            runs.thread.join()
            # A Ctrl-C is a stop, not a crash: the next start does not continue by itself.
        app.state.workspace.close()
        click.echo("pindah stopped. Everything done so far is kept.")
