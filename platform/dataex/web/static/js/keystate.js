// The header's key indicator: which key this browser holds, and whose it is.
import { loadKey } from "/static/js/dataex.js";

async function show() {
  const state = document.getElementById("keystate");
  try {
    const entry = await loadKey();
    state.textContent = !entry ? "No key loaded"
      : `Signing as ${entry.participant ? `${entry.participant.display_name} (${entry.participant.participant_id})` : entry.keyId}`;
  } catch {
    state.textContent = "Key storage unavailable";
  }
}

window.addEventListener("dataex-key-changed", show);
show();
