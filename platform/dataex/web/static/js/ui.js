// Small DOM helpers the role pages share: tables, refusals, the loaded key, actions.
import { Problem, buildDocument, loadKey, submit } from "/static/js/dataex.js";

export const $ = (id) => document.getElementById(id);

// Rows into a table's body; columns are [text of a row, class] or functions returning nodes.
export function fillTable(table, rows, columns, empty = "None.") {
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const item of rows) {
    const row = body.insertRow();
    for (const [get, className] of columns) {
      const cell = row.insertCell();
      const value = get(item);
      if (value instanceof Node) cell.append(value); else cell.textContent = value ?? "";
      if (className) cell.className = className;
    }
  }
  if (!rows.length) {
    const cell = body.insertRow().insertCell();
    cell.colSpan = columns.length; cell.textContent = empty; cell.className = "muted";
  }
}

export function problemText(error) {
  const problem = error instanceof Problem ? error.problem : { title: error.message };
  return [problem.title, problem.detail].filter(Boolean).join(": ");
}

// The key this browser holds, with its participant, or null (and a hint shown).
export async function currentKey(hint) {
  const entry = await loadKey();
  if (entry && entry.participant) return entry;
  if (hint) hint.hidden = false;
  return null;
}

// A button that signs and submits one document, then reports in `status` and calls `after`.
export function actionButton(label, key, status, contract, body, after) {
  const button = document.createElement("button");
  button.type = "button"; button.className = "secondary small"; button.textContent = label;
  button.addEventListener("click", async () => {
    try {
      const receipt = await submit(await buildDocument(key, contract, body()));
      status.textContent = `${label}: done (log entry ${receipt.seq})`;
      status.className = "form-result good";
      if (after) await after(receipt);
    } catch (error) {
      status.textContent = `${label}: refused: ${problemText(error)}`;
      status.className = "form-result bad";
    }
  });
  return button;
}
