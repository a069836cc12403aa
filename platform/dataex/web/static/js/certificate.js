// The certificate page's verdict: every check of verify.js, shown one by one.
import { checkCertificate } from "/static/js/verify.js";

const section = document.getElementById("verify");
const verdict = document.getElementById("verdict");
const list = document.getElementById("checks");

function show(checks) {
  list.replaceChildren(...checks.map((c) => {
    const item = document.createElement("li");
    item.className = c.ok ? "ok" : "bad";
    item.textContent = `${c.ok ? "✓" : "✗"} ${c.name}${c.ok ? "" : ": " + c.why}`;
    return item;
  }));
  const failed = checks.find((c) => !c.ok);
  verdict.className = `verdict ${failed ? "bad" : "good"}`;
  verdict.textContent = failed
    ? `Not verified: ${failed.name} failed (${failed.why})`
    : `Verified: signed by the registrar and in the log at checkpoint ${checks.checkpoint.size}`;
  document.getElementById("logkey").textContent = checks.logKey || "none found";
}

checkCertificate(section.dataset.number).then(show).catch((error) => {
  verdict.className = "verdict bad";
  verdict.textContent = `Not verified: ${error.message}`;
});
