"""`dataex cluster`: a Patroni cluster on this machine, to try failover before production."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import click


@click.group()
def cluster() -> None:
    """A PostgreSQL cluster under Patroni and etcd on this machine (trials and tests)."""


@cluster.command("run")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Folder for etcd and the nodes (default: a new one in /tmp).")
@click.option("--nodes", type=click.IntRange(2, 9), default=3, show_default=True,
              help="PostgreSQL nodes (one primary, the rest synchronous-capable standbys).")
def run(directory: Path | None, nodes: int) -> None:
    """Start etcd and the nodes, print the URLs, stop everything on Ctrl+C.

    Needs Debian's etcd-server and Patroni (installed with dataex's lock);
    PostgreSQL comes from the embedded wheel. As root, PostgreSQL runs as the
    system user dataex-cluster.
    """
    from dataex.cluster.local import ClusterError, LocalCluster

    local = LocalCluster.create(directory, nodes)
    click.echo(f"starting etcd and {nodes} Patroni nodes in {local.directory} ...", err=True)
    try:
        local.start()
    except ClusterError as exc:
        local.stop()
        raise click.ClickException(str(exc)) from exc
    leader = local.leader()
    click.echo(f"DATAEX_DATABASE_URL='{local.url()}'")
    click.echo(f"DATAEX_READ_DATABASE_URL='{local.url('prefer-standby')}'")
    for node in local.nodes:
        role = "primary" if node is leader else "standby"
        click.echo(f"  {node.name}  {role:8}  PostgreSQL 127.0.0.1:{node.port}  "
                   f"Patroni http://127.0.0.1:{node.api_port}  {node.directory}")
    click.echo("Ctrl+C stops every process it started.", err=True)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the cluster as Ctrl+C does
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        for stop_signal in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl+C must not
            signal.signal(stop_signal, signal.SIG_IGN)  # leave half the cluster running
        click.echo("stopping ...", err=True)
        local.stop()
        click.echo("stopped", err=True)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt
