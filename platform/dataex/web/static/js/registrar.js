// Registrars: take registrations for review, open their public notice, decide objections,
// and decide: the certificate preview is signed here, with the registrar's own key.
import {
  CERTIFICATE_PREFIX, b64urlEncode, buildDocument, canonicalJSON, getJSON, sign, signDocument, submit, utcNow, utf8,
} from "/static/js/dataex.js";
import { $, actionButton, currentKey, fillTable, problemText } from "/static/js/ui.js";

let key = null;
let deciding = null;

function report(text, ok) {
  $("status").textContent = text;
  $("status").className = `form-result ${ok ? "good" : "bad"}`;
}

async function listed(status) {
  return (await getJSON(`/v1/registry/registrations?status=${status}&limit=100`)).registrations;
}

async function refresh() {
  const me = key.participant.participant_id;
  const rows = [...await listed("submitted"), ...await listed("under_review"), ...await listed("public_notice")];
  const now = new Date().toISOString();
  fillTable($("queue"), rows, [
    [(r) => r.registration_id],
    [(r) => (r.application.asset ? r.application.asset.title : `${r.kind} of ${r.application.certificate_number}`)],
    [(r) => r.applicant], [(r) => r.status],
    [(r) => (r.conflicts || []).map((c) => c.registration_id || c.certificate_number || JSON.stringify(c)).join(", ")],
    [(r) => (r.notice_ends_at || "").slice(0, 16).replace("T", " ")],
    [(r) => {
      if (r.status === "submitted") {
        return actionButton("Take for review", key, $("status"), "dataex.registry.take.v1", () => ({ registration_id: r.registration_id }), refresh);
      }
      if (r.reviewer !== me) return `with ${r.reviewer}`;
      const box = document.createElement("span");
      if (r.status === "under_review") {
        box.append(actionButton("Open notice", key, $("status"), "dataex.registry.open_notice.v1", () => ({ registration_id: r.registration_id }), refresh));
      }
      if (r.status === "under_review" || (r.status === "public_notice" && r.notice_ends_at <= now)) {
        const decide = document.createElement("button");
        decide.type = "button"; decide.className = "secondary small"; decide.textContent = "Decide…";
        decide.addEventListener("click", () => preview(r.registration_id));
        box.append(" ", decide);
      }
      return box;
    }],
  ], "Nothing to review.");
  const open = rows.flatMap((r) => (r.objections || []).filter((o) => o.status === "open"));
  fillTable($("objections"), open, [
    [(o) => o.objection_id], [(o) => o.registration_id], [(o) => o.objector], [(o) => o.grounds],
    [(o) => {
      const box = document.createElement("span");
      for (const outcome of ["uphold", "dismiss"]) {
        box.append(actionButton(outcome === "uphold" ? "Uphold" : "Dismiss", key, $("status"),
          "dataex.registry.decide_objection.v1",
          () => ({ objection_id: o.objection_id, outcome, reasons: `${outcome} after review by ${me}` }), refresh), " ");
      }
      return box;
    }],
  ], "No open objections.");
}

async function preview(registrationId) {
  const issuedAt = utcNow();
  try {
    const answer = await getJSON(`/v1/registry/registrations/${registrationId}/certificate-preview?` +
      new URLSearchParams({ registrar: key.participant.participant_id, issued_at: issuedAt }));
    deciding = { registrationId, issuedAt, documents: answer.certificates.map((c) => c.document) };
    $("decide").hidden = false;
    $("decide-id").textContent = registrationId;
    $("preview").textContent = JSON.stringify(deciding.documents, null, 2);
    $("register").focus();
  } catch (error) {
    report(`Preview of ${registrationId} refused: ${problemText(error)}`, false);
  }
}

async function register() {
  const { registrationId, issuedAt, documents } = deciding;
  const certificate_signatures = [];
  for (const document of documents) {
    const signature = await sign(key, utf8(CERTIFICATE_PREFIX + canonicalJSON(document)));
    certificate_signatures.push({ number: document.number, signature: b64urlEncode(signature) });
  }
  const body = { registration_id: registrationId, outcome: "register", certificate_signatures };
  const decision = { contract: "dataex.registry.decide.v1", signer: key.keyId, nonce: crypto.randomUUID(), issued_at: issuedAt, body };
  try {
    const receipt = await submit(await signDocument(key, decision));
    const issued = documents.map((d) => d.number).join(", ");
    report(`Registered ${registrationId}: certificate ${issued} (log entry ${receipt.seq})`, true);
    $("decide").hidden = true;
    await refresh();
  } catch (error) {
    report(`Refused: ${problemText(error)}`, false);
  }
}

async function reject(event) {
  event.preventDefault();
  try {
    const receipt = await submit(await buildDocument(key, "dataex.registry.decide.v1", {
      registration_id: deciding.registrationId, outcome: "reject",
      reason_code: $("reason_code").value, reason_text: $("reason_text").value.trim(),
    }));
    report(`Rejected ${deciding.registrationId} (log entry ${receipt.seq})`, true);
    $("decide").hidden = true;
    await refresh();
  } catch (error) {
    report(`Refused: ${problemText(error)}`, false);
  }
}

$("register").addEventListener("click", register);
$("reject-form").addEventListener("submit", reject);
currentKey($("need-key")).then((entry) => { key = entry; if (key) refresh(); });
