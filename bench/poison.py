"""Poison documents beside honest orders: honest throughput with poison / alone.

Run from the repository root:

    .venv/bin/python bench/poison.py [--rounds 20] [--per-round 1000]

Starts `dataex serve --demo` on a fresh embedded PostgreSQL and runs the
measurement of tests/e2e/test_poison_e2e.py with more rounds: honest signed
orders from 16 keep-alive clients, rounds alternating alone and with every kind
of poison document (tests/poison.py) sent at about 50/s by a separate process;
each poisoned round is compared with the two alone rounds around it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._server import free_port  # noqa: E402
from tests.e2e.conftest import Server  # noqa: E402
from tests.e2e.test_poison_e2e import measure, poisoned_to_alone  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--per-round", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dataex-poison-") as folder:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k != "DATAEX_DATABASE_URL"}
        env.update(DATAEX_DATA_DIR=str(Path(folder) / "data"), DATAEX_PORT=str(port))
        server = Server(f"http://127.0.0.1:{port}", env, Path(folder) / "data")
        server.start("--demo")
        try:
            alone, poisoned, statuses, refusals = asyncio.run(
                measure(server, args.rounds, args.per_round))
        finally:
            server.stop()
    print(f"honest orders/s alone:       median {statistics.median(alone):7.0f} "
          f"(min {min(alone):.0f}, max {max(alone):.0f}) over {len(alone)} rounds")
    print(f"honest orders/s with poison: median {statistics.median(poisoned):7.0f} "
          f"(min {min(poisoned):.0f}, max {max(poisoned):.0f}) over {len(poisoned)} rounds")
    print(f"ratio (each poisoned round / its neighbours alone, median): "
          f"{poisoned_to_alone(alone, poisoned):.3f}")
    print(f"honest answers: {dict((s, statuses.count(s)) for s in sorted(set(statuses)))}; "
          f"poison refused: {len(refusals)} ({len({name for name, _, _ in refusals})} kinds), "
          f"statuses {sorted({(st, slug) for _, st, slug in refusals})}")


if __name__ == "__main__":
    main()
