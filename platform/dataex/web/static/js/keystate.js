// The header's key indicator: which key this browser holds, and whose it is.
import { loadKey } from "/static/js/dataex.js";

const state = document.getElementById("keystate");
loadKey().then((entry) => {
  if (entry) state.textContent = `Signing as ${entry.participant ? entry.participant.display_name + " (" + entry.participant.participant_id + ")" : entry.keyId}`;
}).catch(() => { state.textContent = "Key storage unavailable"; });
