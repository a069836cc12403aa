// A product page: live trades and book from the stream (gaps detected, then resynced from
// a snapshot), candles and volume (uPlot), order entry signed in the browser, own orders.
import {
  Problem, buildDocument, fen, getJSON, loadKey, signedGet, submit,
} from "/static/js/dataex.js";
import { $, problemText } from "/static/js/ui.js";
const root = $("product");
const symbol = root.dataset.symbol;
const tick = Number(root.dataset.tick);
const book = { bids: new Map(), asks: new Map(), seq: Number(root.dataset.seq) };
let key = null;

// ---- the book -------------------------------------------------------------------------------

function setLevels(side, levels) {
  for (const { price, quantity } of levels) {
    if (quantity === 0) book[side].delete(price); else book[side].set(price, quantity);
  }
}

function drawBook() {
  const bids = [...book.bids].sort((a, b) => b[0] - a[0]);
  const asks = [...book.asks].sort((a, b) => a[0] - b[0]);
  const rows = $("book").tBodies[0].rows;
  for (let i = 0; i < rows.length; i++) {
    const [b, a] = [bids[i], asks[i]];
    const cells = rows[i].cells;
    cells[0].textContent = b ? b[1] : "";
    cells[1].textContent = b ? fen(b[0]) : "";
    cells[2].textContent = a ? fen(a[0]) : "";
    cells[3].textContent = a ? a[1] : "";
  }
}

async function snapshot() {
  const depth = await getJSON(`/v1/market/products/${symbol}/depth?levels=50`);
  book.bids.clear(); book.asks.clear(); book.seq = depth.seq;
  setLevels("bids", depth.bids); setLevels("asks", depth.asks);
  drawBook();
  const { trades } = await getJSON(`/v1/market/products/${symbol}/trades?limit=30`);
  $("trades").tBodies[0].replaceChildren();
  for (const trade of trades.reverse()) addTrade(trade);
}

// ---- trades -----------------------------------------------------------------------------------

function addTrade(trade) {
  const body = $("trades").tBodies[0];
  if (body.querySelector(`[data-trade="${trade.trade_id}"]`)) return;
  const row = body.insertRow(0);
  row.dataset.trade = trade.trade_id;
  for (const [text, cls] of [[trade.time.slice(11, 19)], [fen(trade.price), "num"],
    [String(trade.quantity), "num"], [trade.taker_side, trade.taker_side === "buy" ? "up" : "down"]]) {
    const td = row.insertCell(); td.textContent = text; if (cls) td.className = cls;
  }
  while (body.rows.length > 30) body.deleteRow(-1);
  $("last").textContent = fen(trade.price);
}

// ---- the stream -------------------------------------------------------------------------------

let lastId = null;
let reconnected = false;
let chartTimer = null;

function connect() {
  const source = new EventSource("/v1/market/stream");
  // After a reconnection, what was missed meanwhile comes from a snapshot (a server ends its
  // streams whenever its state jumps: a failover, or a standby catching up).
  source.addEventListener("hello", async () => {
    if (reconnected) { reconnected = false; await snapshot(); }
    $("live").textContent = "live";
  });
  const onMessage = async (event) => {
    const id = Number(event.lastEventId);
    const gap = lastId !== null && id !== lastId + 1;
    lastId = id;
    if (gap) {
      $("live").textContent = "resynced after a gap";
      await snapshot();
      return;
    }
    const message = JSON.parse(event.data);
    if (message.symbol !== symbol || message.seq <= book.seq && message.type === "book") return;
    if (message.type === "trade") {
      addTrade(message);
      clearTimeout(chartTimer);
      chartTimer = setTimeout(drawChart, 500);
    } else if (message.type === "book") {
      setLevels("bids", message.bids); setLevels("asks", message.asks); drawBook();
    } else if (message.type === "product") {
      $("status").textContent = message.status;
      $("status").className = `badge ${message.status}`;
    }
    if (key && message.type === "trade") refreshMine();
  };
  for (const type of ["trade", "book", "product"]) source.addEventListener(type, onMessage);
  source.onerror = () => { $("live").textContent = "reconnecting…"; lastId = null; reconnected = true; };
}

// ---- the chart --------------------------------------------------------------------------------

let chart = null;

async function drawChart() {
  const interval = $("interval").value;
  const { candles } = await getJSON(`/v1/market/products/${symbol}/candles?interval=${interval}&limit=200`);
  $("chart-empty").hidden = candles.length > 0;
  const data = [
    candles.map((c) => Date.parse(c.start) / 1000),
    candles.map((c) => c.close / 100),
    candles.map((c) => c.high / 100),
    candles.map((c) => c.low / 100),
    candles.map((c) => c.volume),
  ];
  const width = $("chart").clientWidth || 600;
  if (chart) chart.destroy();
  // At least 60 intervals up to now, so one candle is not stretched over years.
  // (From the data itself: uPlot widens a single point's range by a day of milliseconds.)
  const step = Number($("interval").selectedOptions[0].dataset.seconds);
  const range = (u) => {
    const now = Date.now() / 1000, xs = u.data[0];
    const first = xs.length ? xs[0] : now, last = xs.length ? xs[xs.length - 1] : now;
    return [Math.min(first, now - 60 * step), Math.max(last, now) + step];
  };
  chart = new uPlot({
    width, height: 260,
    scales: { x: { time: true, range }, units: { auto: true } },
    axes: [{}, { label: "CNY", size: 60 }, { scale: "units", side: 1, label: "units", grid: { show: false } }],
    series: [
      {},
      { label: "close", stroke: "#1f5fbf", width: 2 },
      { label: "high", stroke: "#7aa7e0", dash: [4, 4] },
      { label: "low", stroke: "#7aa7e0", dash: [4, 4] },
      { label: "volume", scale: "units", stroke: "#999", fill: "rgba(120,120,120,0.25)", paths: uPlot.paths.bars({ size: [0.6, 20] }) },
    ],
  }, data, $("chart"));
}

// ---- orders -----------------------------------------------------------------------------------

function fenFrom(text) {
  if (!/^\d+(\.\d{1,2})?$/.test(text.trim())) return null;
  const [whole, cents = ""] = text.trim().split(".");
  return Number(whole) * 100 + Number(cents.padEnd(2, "0"));
}

function fieldError(field, message) {
  $(`${field}-error`).textContent = message || "";
  $(field).setAttribute("aria-invalid", message ? "true" : "false");
}

// A problem from the server, shown next to the field it concerns when it names one.
function showProblem(error) {
  const text = problemText(error);
  const about = JSON.stringify(error instanceof Problem ? error.problem : {});
  if (/price|tick|band/i.test(about)) fieldError("price", text);
  else if (/quantity|lot|units|insufficient/i.test(about)) fieldError("quantity", text);
  $("order-result").textContent = `Refused: ${text}`;
  $("order-result").className = "form-result bad";
}

async function placeOrder(event) {
  event.preventDefault();
  fieldError("price"); fieldError("quantity");
  if (!key) { $("order-result").textContent = "Load your key on My account first."; return; }
  const form = new FormData($("order-form"));
  const price = fenFrom(form.get("price"));
  const quantity = /^\d+$/.test(form.get("quantity").trim()) ? Number(form.get("quantity")) : null;
  if (price === null || price <= 0 || price % tick !== 0) return fieldError("price", `a price in CNY, a multiple of ${fen(tick)}`);
  if (!quantity) return fieldError("quantity", "a whole number of units, at least 1");
  const body = {
    client_order_ref: `web-${Date.now()}`, symbol, side: form.get("side"),
    order_type: form.get("order_type"), price, quantity,
  };
  if (form.get("stp")) body.stp = form.get("stp");
  $("order-result").textContent = "Signing…";
  try {
    const receipt = await submit(await buildDocument(key, "dataex.market.order.place.v1", body));
    const placed = receipt.events.find((e) => e.order_id) || {};
    const traded = receipt.events.filter((e) => e.type === "trade");
    $("order-result").textContent = `Placed ${placed.order_id || ""} (log entry ${receipt.seq})` +
      (traded.length ? `: ${traded.reduce((n, t) => n + t.quantity, 0)} traded` : "");
    $("order-result").className = "form-result good";
    refreshMine();
  } catch (error) {
    showProblem(error);
  }
}

async function cancelOrder(orderId) {
  try {
    await submit(await buildDocument(key, "dataex.market.order.cancel.v1", { order_id: orderId }));
    $("order-result").textContent = `Cancelled ${orderId}`;
    refreshMine();
  } catch (error) { showProblem(error); }
}

async function refreshMine() {
  const [{ orders }, { balances }] = await Promise.all([
    signedGet(key, "/v1/market/me/orders?status=open"), signedGet(key, "/v1/market/me/balances"),
  ]);
  const cash = balances.CNY || { available: 0, held: 0 };
  const units = balances[symbol] || { available: 0, held: 0 };
  $("mine-balance").hidden = false;
  $("mine-balance").textContent = `Cash ${fen(cash.available)} CNY available (${fen(cash.held)} held) · ` +
    `${units.available} ${symbol} units available (${units.held} held)`;
  const mine = orders.filter((o) => o.symbol === symbol);
  $("mine").hidden = false; $("mine-hint").hidden = true;
  const body = $("mine").tBodies[0];
  body.replaceChildren();
  for (const order of mine) {
    const row = body.insertRow();
    for (const [text, cls] of [[order.order_id], [order.side], [fen(order.price), "num"], [String(order.remaining), "num"]]) {
      const td = row.insertCell(); td.textContent = text; if (cls) td.className = cls;
    }
    const button = document.createElement("button");
    button.type = "button"; button.className = "secondary small";
    button.textContent = "Cancel"; button.setAttribute("aria-label", `Cancel ${order.order_id}`);
    button.addEventListener("click", () => cancelOrder(order.order_id));
    row.insertCell().append(button);
  }
  if (!mine.length) { const td = body.insertRow().insertCell(); td.colSpan = 5; td.textContent = "None."; td.className = "muted"; }
}

// ---- start ------------------------------------------------------------------------------------

$("order-form").addEventListener("submit", placeOrder);
$("interval").addEventListener("change", drawChart);
window.addEventListener("resize", () => { if (chart) chart.setSize({ width: $("chart").clientWidth, height: 260 }); });
snapshot().then(connect);
drawChart();
loadKey().then((entry) => { if (entry && entry.participant) { key = entry; refreshMine(); } });
