"""What clients see through primary failovers: acknowledged orders and 503s per 100 ms, charted.

Run from the repository root (needs Debian's etcd-server and chromium):

    .venv/bin/python bench/failover_timeline.py [--kills 3] [--out docs/images/failover.png]

A 3-node Patroni cluster, `dataex serve --demo` on it and four clients placing
signed orders at a steady rate (tests/cluster/harness.py); every 15 s the
primary's postmaster is killed with SIGKILL. Afterwards every acknowledged
order must be in the log. It prints the time from each kill to the first new
acknowledgement and draws the timeline with the uPlot the pages use, in
headless Chromium (no charting dependency).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.cluster.harness import ClusterServer, OrderLoad  # noqa: E402

from dataex.cluster.local import LocalCluster  # noqa: E402

UPLOT = REPO / "platform" / "dataex" / "web" / "static" / "vendor" / "uplot"
BIN = 0.1  # seconds per bar


def measure(kills: int, spacing: float) -> tuple[list[tuple[float, int, str]], list[float],
                                                  list[float]]:
    """(answered at, status, slug) of every answer, the kill times, the seconds to resume."""
    cluster = LocalCluster.create()
    with tempfile.TemporaryDirectory(prefix="dataex-failover-") as folder:
        try:
            cluster.start()
            server = ClusterServer(Path(folder) / "data", cluster.url())
            server.start("--demo")
            load = OrderLoad([server.url], server.key("bob"))
            try:
                load.start()
                begun = time.monotonic()
                time.sleep(spacing / 2)
                killed, resumed = [], []
                for _ in range(kills):
                    cluster.wait_healthy()
                    leader = cluster.leader()
                    assert leader is not None
                    killed.append(time.monotonic())
                    cluster.kill_postgres(leader)
                    resumed.append(load.first_ack_sent_after(killed[-1]))
                    time.sleep(max(0.0, killed[-1] + spacing - time.monotonic()))
                load.stop()
                missing = set(load.acknowledged) - server.logged_hashes(Path(folder) / "log")
                if missing:
                    raise SystemExit(f"{len(missing)} acknowledged orders are not in the log")
                answers = [(a.answered - begun, a.status, a.slug) for a in load.answers]
                return answers, [k - begun for k in killed], resumed
            finally:
                load.stop()
                server.stop()
        finally:
            cluster.stop()


def chart(answers: list[tuple[float, int, str]], kills: list[float], out: Path,
          chromium: str) -> None:
    from playwright.sync_api import sync_playwright

    bins = int(max(t for t, _, _ in answers) / BIN) + 1
    series = {"ok": [0] * bins, "unavailable": [0] * bins, "other": [0] * bins}
    for at, status, _slug in answers:
        name = "ok" if status == 201 else "unavailable" if status == 503 else "other"
        series[name][int(at / BIN)] += 1
    xs = [round(i * BIN, 1) for i in range(bins)]
    html = f"""<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="{(UPLOT / 'uPlot.min.css').as_uri()}">
<script src="{(UPLOT / 'uPlot.iife.min.js').as_uri()}"></script>
<style>body{{font:14px system-ui,sans-serif;margin:16px;background:#fff}}</style></head><body>
<div id="chart"></div><script>
const data = {json.dumps([xs, series["ok"], series["unavailable"], series["other"]])};
const kills = {json.dumps(kills)};
new uPlot({{
  width: 1100, height: 340, title: "Orders answered per 100 ms while the primary is killed "
    + kills.length + " times (red lines)",
  scales: {{x: {{time: false}}}}, legend: {{live: false}},
  axes: [{{label: "seconds"}}, {{label: "answers per 100 ms"}}],
  series: [{{label: "s"}},
    {{label: "201 acknowledged", stroke: "#1f7a3a", fill: "rgba(31,122,58,0.25)"}},
    {{label: "503 (Retry-After)", stroke: "#c07000", fill: "rgba(192,112,0,0.25)"}},
    {{label: "anything else", stroke: "#b00020"}}],
  hooks: {{draw: [u => {{
    const ctx = u.ctx; ctx.save(); ctx.strokeStyle = "#d00"; ctx.lineWidth = 2;
    for (const k of kills) {{ const x = u.valToPos(k, "x", true);
      ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke(); }}
    ctx.restore(); }}]}},
}}, data, document.getElementById("chart"));
</script></body></html>"""
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "failover.html"
        page.write_text(html)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            tab = browser.new_page(viewport={"width": 1140, "height": 400})
            tab.goto(page.as_uri())
            tab.locator("#chart").screenshot(path=str(out))
            browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--spacing", type=float, default=15.0, help="seconds between kills")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "failover.png")
    args = parser.parse_args()
    chromium = os.environ.get("DATAEX_CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        raise SystemExit("no chromium (apt-get install chromium, or set DATAEX_CHROMIUM)")
    answers, kills, resumed = measure(args.kills, args.spacing)
    statuses: dict[str, int] = {}
    for _, status, slug in answers:
        key = f"{status} {slug}".strip()
        statuses[key] = statuses.get(key, 0) + 1
    print(f"kill -9 of the primary -> first new acknowledged order: "
          f"{', '.join(f'{s:.2f}' for s in resumed)} s (p50 {statistics.median(resumed):.2f}, "
          f"max {max(resumed):.2f})")
    print(f"answers: {statuses}; every acknowledged order is in the log")
    chart(answers, kills, args.out, chromium)
    print(f"chart: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
