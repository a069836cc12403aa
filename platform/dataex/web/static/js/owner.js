// Owners: register an asset fingerprinted in the browser, follow and withdraw registrations,
// issue licence units of one's own data-licence products.
import { buildDocument, getJSON, submit } from "/static/js/dataex.js";
import { fingerprint } from "/static/js/fingerprint.js";
import { $, actionButton, currentKey, fillTable, problemText } from "/static/js/ui.js";

let key = null;
let computed = null;

async function onFiles() {
  computed = null;
  $("fp-root").textContent = "–";
  const files = $("files").files;
  if (!files.length) return;
  $("fp-progress").hidden = false;
  try {
    computed = await fingerprint(files, (done, total, count) => {
      $("fp-progress").value = total ? done / total : 1;
      $("fp-status").textContent = `Hashing ${count} file${count === 1 ? "" : "s"} here: ${Math.round(100 * done / (total || 1))}%`;
    });
    $("fp-root").textContent = computed.root;
    $("fp-status").textContent = `${computed.file_count} files, ${computed.total_bytes.toLocaleString("en")} bytes, hashed in this browser`;
  } catch (error) {
    $("fp-status").textContent = error.message;
  }
}

function value(id) { return $(id).value.trim(); }

async function register(event) {
  event.preventDefault();
  const result = $("register-result");
  if (!key) { result.textContent = "Load your key on My account first."; return; }
  if (!computed) { result.textContent = "Choose the data's files first: the fingerprint is needed."; result.className = "form-result bad"; return; }
  const application = {
    kind: "initial",
    asset: {
      title: value("title"), description: value("description"), fingerprint: computed,
      product_form: value("product_form"), industry: value("industry"), scenario: value("scenario"),
      update_frequency: value("update_frequency"), source_type: value("source_type"),
      personal_information: $("personal_information").checked, classification: value("classification"),
      authorisation_proofs: [],
    },
    rights: [...document.querySelectorAll("input[name=rights]:checked")].map((box) => box.value),
    term_days: Number(value("term_days")),
  };
  try {
    const receipt = await submit(await buildDocument(key, "dataex.registry.register.v1", { application }));
    const submitted = receipt.events.find((e) => e.registration_id) || {};
    result.textContent = `Applied: ${submitted.registration_id} (log entry ${receipt.seq}); a registrar reviews it next.`;
    result.className = "form-result good";
    await refresh();
  } catch (error) {
    result.textContent = `Refused: ${problemText(error)}`;
    result.className = "form-result bad";
  }
}

async function refresh() {
  const me = key.participant.participant_id;
  const { registrations } = await getJSON(`/v1/registry/registrations?applicant=${me}&limit=100`);
  const open = new Set(["awaiting_acceptance", "submitted", "under_review", "public_notice"]);
  fillTable($("mine"), registrations, [
    [(r) => r.registration_id],
    [(r) => (r.application.asset ? r.application.asset.title : r.application.certificate_number || "")],
    [(r) => r.kind], [(r) => r.status],
    [(r) => (r.objections || []).map((o) => `${o.objection_id} (${o.status}): ${o.grounds}`).join("; ") || "none"],
    [(r) => r.issued_certificate || ""],
    [(r) => (open.has(r.status)
      ? actionButton("Withdraw", key, $("mine-result"), "dataex.registry.withdraw.v1",
        () => ({ registration_id: r.registration_id }), refresh)
      : "")],
  ], "No registrations yet.");
  const { products } = await getJSON("/v1/market/products?kind=data_licence");
  const mine = products.filter((p) => p.issuer === me);
  $("issue-symbol").replaceChildren(...mine.map((p) => new Option(p.symbol, p.symbol)));
}

async function issue(event) {
  event.preventDefault();
  const result = $("issue-result");
  if (!key) { result.textContent = "Load your key on My account first."; return; }
  try {
    const body = { symbol: $("issue-symbol").value, quantity: Number(value("issue-quantity")) };
    const receipt = await submit(await buildDocument(key, "dataex.market.licence.issue.v1", body));
    result.textContent = `Issued (log entry ${receipt.seq})`;
    result.className = "form-result good";
  } catch (error) {
    result.textContent = `Refused: ${problemText(error)}`;
    result.className = "form-result bad";
  }
}

$("files").addEventListener("change", onFiles);
$("folder").addEventListener("change", () => { $("files").webkitdirectory = $("folder").checked; });
$("register-form").addEventListener("submit", register);
$("issue-form").addEventListener("submit", issue);
currentKey($("need-key")).then((entry) => { key = entry; if (key) refresh(); });
