"""Offline verification speed on a log of 1M entries, beside the raw Ed25519 verify rate.

Run from the repository root:

    .venv/bin/python bench/verify.py                    # 1M entries; builds the log once
    .venv/bin/python bench/verify.py --entries 50000    # smaller, for a smoke run

What it does
  * builds (once, kept at --file) a signed log of --entries entries straight
    through core/ with pre-generated keys, no server (bench/verify_log.py:
    admissions, products, deposits, limit orders that cross and rest,
    cancels, mints), with a signed checkpoint every 10,000 entries; the build
    time is printed;
  * times the raw Ed25519 verify rate of this machine on one core
    (cryptography, the library the verifier uses, on a document of the log's
    median size);
  * times dataex.verify.verify_stream on the whole file: inline (one process)
    and with one signature worker per core, --runs times each, medians.
    Everything is checked: chain, hashes, the RFC 9162 root against every
    checkpoint and its signature, every document signature, and the replay.

Rates: entries/s of wall time; "per core" = wall rate / cores the run used;
and entries per CPU-second (main process + workers, from os.times), which is
what a core delivers when the machine is shared. Medians, shared machine:
read the ratios.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.verify_log import build_log
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataex.verify import TrustedKeys, verify_stream
from dataex.verify.signatures import default_workers


def ed25519_rate(message_bytes: int, n: int = 20_000) -> float:
    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    message = os.urandom(message_bytes)
    signature = key.sign(message)
    start = time.process_time()
    for _ in range(n):
        public.verify(signature, message)
    return n / (time.process_time() - start)


def median_document_bytes(path: Path, sample: int = 5000) -> int:
    sizes = []
    with path.open("rb") as f:
        for line in f:
            if line.startswith(b'{"seq"'):
                sizes.append(len(line) // 2)  # about half an entry is its signed document
            if len(sizes) >= sample:
                break
    return int(statistics.median(sizes))


def time_verify(path: Path, keys: TrustedKeys, workers: int) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of this process and its workers, entries verified)."""
    before = os.times()
    start = time.perf_counter()
    with path.open("rb") as handle:
        report = verify_stream(handle, keys=keys, workers=workers)
    wall = time.perf_counter() - start
    after = os.times()
    if not report.ok:
        raise SystemExit(f"the bench log does not verify: {report.fault}")
    cpu = sum(getattr(after, f) - getattr(before, f)
              for f in ("user", "system", "children_user", "children_system"))
    return wall, cpu, report.verified


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--file", type=Path, default=None,
                        help="the log (built if missing); default /tmp/dataex-verify-N.jsonl")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--modes", default="inline,pool",
                        help="which runs: inline (one process), pool (signature workers)")
    args = parser.parse_args()
    path = args.file or Path(f"/tmp/dataex-verify-{args.entries}.jsonl")
    vkey_path = path.with_suffix(".vkey")
    cores = default_workers()
    print(f"python {platform.python_version()}, {platform.machine()}, {cores} cores")
    if not path.exists() or not vkey_path.exists():
        start = time.perf_counter()
        built = build_log(path, args.entries)
        took = time.perf_counter() - start
        vkey_path.write_text(built.log_vkey + "\n")
        print(f"built {built.entries:,} entries + {built.checkpoints} checkpoints in "
              f"{took:,.0f} s ({built.entries / took:,.0f} entries/s), "
              f"{path.stat().st_size / 1e6:,.0f} MB")
    keys = TrustedKeys().add_all([vkey_path.read_text()])

    doc = median_document_bytes(path)
    raw = statistics.median(ed25519_rate(doc) for _ in range(3))
    print(f"raw Ed25519 verify, one core: {raw:,.0f} /s ({doc} B messages)")

    modes = {"inline": (0, 1), "pool": (args.workers, min(cores, args.workers + 1))}
    for workers, used in (modes[m] for m in args.modes.split(",")):
        runs = [time_verify(path, keys, workers) for _ in range(args.runs)]
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        n = runs[0][2]
        label = "inline, 1 process" if workers == 0 else f"{workers} signature workers"
        print(f"verify {n:,} entries, {label}: median {wall:,.1f} s wall -> "
              f"{n / wall:,.0f} entries/s, {n / wall / used:,.0f} /s per core ({used} cores); "
              f"{n / cpu:,.0f} entries per CPU-second; "
              f"{n / wall / raw:.2f}x the one-core raw Ed25519 rate")


if __name__ == "__main__":
    main()
