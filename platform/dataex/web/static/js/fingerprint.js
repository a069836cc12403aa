// The data fingerprint of contracts/FINGERPRINT.md, computed from local files in the
// browser: files are read here and hashed with WebCrypto SHA-256; no byte is sent.
import { concat, hex, sha256, utf8 } from "/static/js/dataex.js";

function compareBytes(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

// RFC 9162 section 2.1: the left subtree is the largest power of two smaller than n.
async function treeHash(leaves) {
  if (leaves.length === 1) return sha256(concat(new Uint8Array([0]), leaves[0]));
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  const [left, right] = await Promise.all([treeHash(leaves.slice(0, k)), treeHash(leaves.slice(k))]);
  return sha256(concat(new Uint8Array([1]), left, right));
}

// `files` from an <input type=file> (with webkitdirectory: paths relative to the folder).
export async function fingerprint(files, onProgress = () => {}) {
  if (!files.length) throw new Error("choose at least one file");
  const entries = Array.from(files, (file) => {
    const parts = (file.webkitRelativePath || file.name).split("/");
    const path = parts.length > 1 ? parts.slice(1).join("/") : parts[0];
    return { file, path, key: utf8(path) };
  }).sort((a, b) => compareBytes(a.key, b.key));
  const total = entries.reduce((n, e) => n + e.file.size, 0);
  const leaves = [];
  let done = 0;
  for (const entry of entries) {
    leaves.push(await sha256(new Uint8Array(await entry.file.arrayBuffer())));
    done += entry.file.size;
    onProgress(done, total, entries.length);
  }
  return { root: hex(await treeHash(leaves)), total_bytes: total, file_count: entries.length };
}
