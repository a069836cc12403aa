// Regulators: daily statistics with charts and CSV, registrations, checkpoints and their
// cosignatures, surveillance flags; halt or resume a product, freeze or unfreeze a member.
import {
  authHeader, buildDocument, fen, getJSON, signedGet, submit,
} from "/static/js/dataex.js";
import { $, currentKey, fillTable, problemText } from "/static/js/ui.js";

let key = null;
const charts = {};

function report(text, ok) {
  $("status").textContent = text;
  $("status").className = `form-result ${ok ? "good" : "bad"}`;
}

function day(offset) {
  return new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);
}

const sum = (values) => values.reduce((n, v) => n + v, 0);
const tokens = (d, field) => sum(Object.values(d.tokens).map((t) => t[field]));

// Bars per UTC day; a series with `scale: "right"` is drawn against a second axis.
function chart(id, series, data) {
  if (charts[id]) charts[id].destroy();
  const element = $(id);
  const dayLabels = (u, values) => values.map((v) => new Date(v * 1000).toISOString().slice(5, 10));
  const axes = [{ incrs: [86400], values: dayLabels }, { size: 70 }];
  if (series.some((s) => s.scale === "right")) axes.push({ scale: "right", side: 1, size: 80, grid: { show: false } });
  charts[id] = new uPlot({
    width: element.clientWidth || 500, height: 220,
    scales: { x: { time: true } },
    axes,
    series: [{}, ...series.map((s, i) => ({ ...s, paths: uPlot.paths.bars({ size: [0.35, 30], align: i === 0 ? -1 : 1 }) }))],
  }, data, element);
}

async function show(event) {
  if (event) event.preventDefault();
  const range = new URLSearchParams({ from: $("from").value, to: $("to").value });
  try {
    const stats = await signedGet(key, `/v1/regulator/statistics?${range}`);
    const days = stats.days;
    fillTable($("stats"), days, [
      [(d) => d.date], [(d) => String(d.trades.count), "num"], [(d) => fen(d.trades.turnover_fen), "num"],
      [(d) => String(tokens(d, "traded_units")), "num"], [(d) => String(tokens(d, "consumed_units")), "num"],
      [(d) => String(d.new_certificates), "num"],
    ]);
    const x = days.map((d) => Date.parse(d.date) / 1000);
    chart("chart-trades", [
      { label: "trades", stroke: "#1f5fbf", fill: "rgba(31,95,191,0.3)" },
      { label: "turnover (CNY)", scale: "right", stroke: "#8a5300", fill: "rgba(138,83,0,0.25)" },
    ], [x, days.map((d) => d.trades.count), days.map((d) => d.trades.turnover_fen / 100)]);
    chart("chart-tokens", [
      { label: "traded", stroke: "#0b7a3b", fill: "rgba(11,122,59,0.3)" },
      { label: "consumed", stroke: "#b3261e", fill: "rgba(179,38,30,0.3)" },
    ], [x, days.map((d) => tokens(d, "traded_units")), days.map((d) => tokens(d, "consumed_units"))]);
    const byStatus = {};
    for (const d of days) for (const [s, n] of Object.entries(d.registrations.by_status)) byStatus[s] = (byStatus[s] || 0) + n;
    fillTable($("registrations"), Object.entries(byStatus), [[([s]) => s], [([, n]) => String(n), "num"]]);

    const target = `/v1/regulator/statistics?${range}&format=csv`;
    const header = await authHeader(key, "GET", target, Math.floor(Date.now() / 1000), crypto.randomUUID());
    const csv = await (await fetch(target, { headers: { "Dataex-Auth": header } })).blob();
    $("csv").href = URL.createObjectURL(csv);

    const survey = await signedGet(key, `/v1/regulator/surveillance?${range}`);
    const rows = [
      ...survey.flags.map((f) => ({ flag: f.kind || f.flag || "flag", who: f.participant_id || "", detail: JSON.stringify(f) })),
      ...survey.self_trades_prevented.map((s) => ({ flag: "self-trade prevented", who: s.participant_id, detail: `${s.orders_cancelled} orders in ${s.symbol}` })),
    ];
    fillTable($("flags"), rows, [[(r) => r.flag], [(r) => r.who], [(r) => r.detail]], "Nothing flagged.");
    report(`Statistics ${stats.from} to ${stats.to}`, true);
  } catch (error) {
    report(`Refused: ${problemText(error)}`, false);
  }
}

async function checkpoint() {
  const note = await (await fetch("/v1/audit/checkpoint")).text();
  $("checkpoint").textContent = note;
  const signatures = note.split("\n\n")[1].split("\n").filter(Boolean);
  $("cosigners").textContent = `${signatures.length} signature${signatures.length === 1 ? "" : "s"}: ` +
    signatures.map((line) => line.split(" ")[1]).join(", ");
}

async function act(contract, body, what) {
  if (!key) { report("Load a regulator's key on My account first.", false); return; }
  try {
    const receipt = await submit(await buildDocument(key, contract, body));
    report(`${what}: done (log entry ${receipt.seq})`, true);
  } catch (error) {
    report(`${what}: refused: ${problemText(error)}`, false);
  }
}

$("from").value = day(-6);
$("to").value = day(0);
$("range-form").addEventListener("submit", show);
$("halt-form").addEventListener("submit", (e) => { e.preventDefault(); act("dataex.market.product.halt.v1", { symbol: $("halt-symbol").value, reason: $("halt-reason").value }, `Halt ${$("halt-symbol").value}`); });
$("resume").addEventListener("click", () => act("dataex.market.product.resume.v1", { symbol: $("halt-symbol").value }, `Resume ${$("halt-symbol").value}`));
$("freeze-form").addEventListener("submit", (e) => { e.preventDefault(); act("dataex.regulator.participant.freeze.v1", { participant_id: $("freeze-who").value.trim(), reason: $("freeze-reason").value }, `Freeze ${$("freeze-who").value}`); });
$("unfreeze").addEventListener("click", () => act("dataex.regulator.participant.unfreeze.v1", { participant_id: $("freeze-who").value.trim(), reason: $("freeze-reason").value }, `Unfreeze ${$("freeze-who").value}`));
getJSON("/v1/market/products").then(({ products }) => $("halt-symbol").replaceChildren(...products.map((p) => new Option(p.symbol, p.symbol))));
checkpoint();
currentKey($("need-key")).then((entry) => { key = entry; if (key) show(); });
