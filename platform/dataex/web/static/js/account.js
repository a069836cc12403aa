// My account: load a key file into this browser (it never leaves it), then read one's own
// balances, orders, fills and licences with signed requests.
import {
  fen, forgetKey, importSigningKey, loadKey, participantOf, saveKey, signedGet,
} from "/static/js/dataex.js";
import { $, fillTable } from "/static/js/ui.js";
import { checkLicence } from "/static/js/verify.js";

async function show(entry) {
  $("key-form").hidden = true;
  $("who").hidden = false;
  $("who-name").textContent = entry.participant
    ? `${entry.participant.display_name} (${entry.participant.participant_id}), ${entry.participant.roles.join(", ")}`
    : "a key this platform does not know yet";
  $("who-key").textContent = entry.keyId;
  if (!entry.participant) return;
  const key = { privateKey: entry.privateKey, keyId: entry.keyId };
  const [balances, orders, fills, licences] = await Promise.all([
    signedGet(key, "/v1/market/me/balances"),
    signedGet(key, "/v1/market/me/orders?status=open"),
    signedGet(key, "/v1/market/me/fills?limit=50"),
    signedGet(key, "/v1/market/me/licences"),
  ]);
  $("data").hidden = false;
  const assets = Object.entries(balances.balances || {}).map(([asset, b]) => ({ asset, ...b }));
  const money = (asset, n) => (asset === "CNY" ? fen(n) : String(n));
  fillTable($("balances"), assets, [[(b) => b.asset], [(b) => money(b.asset, b.available), "num"], [(b) => money(b.asset, b.held), "num"]]);
  fillTable($("orders"), orders.orders, [[(o) => o.order_id], [(o) => o.symbol], [(o) => o.side], [(o) => fen(o.price), "num"], [(o) => String(o.remaining ?? o.quantity), "num"]]);
  fillTable($("fills"), fills.fills, [[(f) => (f.time || "").slice(0, 19).replace("T", " ")], [(f) => f.symbol], [(f) => f.side], [(f) => fen(f.price), "num"], [(f) => String(f.quantity), "num"]]);
  fillTable($("licences"), licences.licences, [[(l) => l.document.licence_id], [(l) => l.document.symbol],
    [(l) => String(l.document.quantity), "num"], [(l) => l.status], [(l) => l.document.valid_until.slice(0, 10)]]);
  licences.licences.forEach((licence, i) => {
    const link = document.createElement("a");
    link.textContent = "download (signed JSON)";
    link.download = `${licence.document.licence_id}.json`;
    link.href = URL.createObjectURL(new Blob([JSON.stringify(licence, null, 2)], { type: "application/json" }));
    const verdict = document.createElement("span");
    verdict.className = "licence-check";
    verdict.textContent = " checking…";
    $("licences").tBodies[0].rows[i].insertCell().append(link, verdict);
    checkLicence(licence).then(({ ok, why }) => {
      verdict.textContent = ok ? " ✓ signed by the platform" : ` ✗ ${why}`;
      verdict.className = `licence-check ${ok ? "up" : "down"}`;
    });
  });
  await showConsumption(key, entry.participant.participant_id);
}

// Token units burned for this participant: the consumption entries of the log that name it.
async function showConsumption(key, me) {
  const burned = [];
  let from = 1;
  for (;;) {
    const page = await signedGet(key, `/v1/audit/entries?from=${from}&limit=1000`);
    for (const { seq, entry } of page.entries) {
      for (const event of entry.events) {
        if (event.type === "units.consumed" && event.holder === me) burned.push({ seq, time: entry.time, ...event });
      }
    }
    if (!page.entries.length || page.entries.length < 1000) break;
    from = page.entries[page.entries.length - 1].seq + 1;
  }
  fillTable($("consumption"), burned.reverse(), [[(c) => c.time.slice(0, 19).replace("T", " ")], [(c) => c.symbol],
    [(c) => String(c.quantity), "num"], [(c) => c.reported_by], [(c) => c.usage_reference || ""], [(c) => String(c.seq), "num"]]);
}

async function onFile(event) {
  event.preventDefault();
  const file = $("keyfile").files[0];
  $("key-error").textContent = "";
  if (!file) { $("key-error").textContent = "Choose the .pem file `dataex keys new` wrote."; return; }
  try {
    const key = await importSigningKey(await file.text());
    const participant = await participantOf(key.keyId);
    const entry = { privateKey: key.privateKey, keyId: key.keyId, participant };
    await saveKey(entry);
    window.dispatchEvent(new Event("dataex-key-changed"));
    await show(entry);
  } catch (error) {
    $("key-error").textContent = error.message;
  }
}

$("key-form").addEventListener("submit", onFile);
$("forget").addEventListener("click", async () => { await forgetKey(); location.reload(); });
loadKey().then((entry) => { if (entry) show(entry).catch((e) => { $("data-error").textContent = e.message; }); });
