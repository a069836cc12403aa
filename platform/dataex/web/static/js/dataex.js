// The browser's dataex client: RFC 8785 canonical JSON, Ed25519 in WebCrypto, signed
// documents and signed reads exactly as the CLI builds them (contracts/SPEC.md), and the
// user's key kept non-extractable in IndexedDB. No private key byte ever leaves the page.

export const DOCUMENT_PREFIX = "dataex-document-v1\n";
export const CERTIFICATE_PREFIX = "dataex-certificate-v1\n";
export const REQUEST_PREFIX = "dataex-request-v2";

const encoder = new TextEncoder();
export const utf8 = (text) => encoder.encode(text);

// ---- RFC 8785 (JCS) ---------------------------------------------------------------------

// Keys sorted by UTF-16 code units (JavaScript's default sort), strings and numbers as
// ECMAScript's JSON.stringify writes them: that is RFC 8785's definition.
export function canonicalJSON(value) {
  if (value === null || typeof value === "boolean" || typeof value === "string") {
    return JSON.stringify(value);
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error("RFC 8785 has no NaN or Infinity");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return "[" + value.map(canonicalJSON).join(",") + "]";
  if (typeof value === "object") {
    const keys = Object.keys(value).sort();
    return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonicalJSON(value[k])).join(",") + "}";
  }
  throw new Error(`no canonical form for ${typeof value}`);
}

// ---- encodings ------------------------------------------------------------------------

export function b64urlEncode(bytes) {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function b64Decode(text) {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

export const b64Encode = (bytes) => btoa(String.fromCharCode(...bytes));
export const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
export const fromHex = (text) => Uint8Array.from(text.match(/../g) || [], (h) => parseInt(h, 16));

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

// ---- Ed25519 ------------------------------------------------------------------------------

export async function keyId(publicKey) {
  return "ed25519:" + b64urlEncode((await sha256(publicKey)).slice(0, 16));
}

export async function verifyEd25519(publicKey, signature, message) {
  const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
}

function pemBody(pem) {
  const match = /-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/.exec(pem);
  if (!match) throw new Error("not a PKCS#8 PEM private key (dataex keys new makes one)");
  return b64Decode(match[1].replace(/\s+/g, ""));
}

// Import a PKCS#8 key (PEM text, or the raw 32-byte seed for tests) as a non-extractable
// signing key plus its public key. The extractable copy used to learn the public key is
// dropped at once; only the non-extractable key is kept.
export async function importSigningKey(pemOrSeed) {
  const der = typeof pemOrSeed === "string"
    ? pemBody(pemOrSeed)
    : concat(fromHex("302e020100300506032b657004220420"), pemOrSeed);
  let jwk;
  try {
    const temporary = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, true, ["sign"]);
    jwk = await crypto.subtle.exportKey("jwk", temporary);
  } catch (error) {
    throw new Error("this file is not an Ed25519 private key (dataex keys new makes one)");
  }
  const privateKey = await crypto.subtle.importKey("jwk", jwk, { name: "Ed25519" }, false, ["sign"]);
  const publicKey = b64Decode(jwk.x);
  return { privateKey, publicKey, keyId: await keyId(publicKey) };
}

export async function sign(key, bytes) {
  return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key.privateKey, bytes));
}

// ---- documents and signed reads (SPEC sections 4 and 12) ----------------------------------

export function utcNow() {
  return new Date().toISOString(); // 2026-12-04T10:00:00.123Z: RFC 3339 UTC, as SPEC asks
}

export async function signDocument(key, document) {
  const signature = await sign(key, utf8(DOCUMENT_PREFIX + canonicalJSON(document)));
  return { document, signature: b64urlEncode(signature) };
}

export async function buildDocument(key, contract, body) {
  const document = { contract, signer: key.keyId, nonce: crypto.randomUUID(), issued_at: utcNow(), body };
  return signDocument(key, document);
}

export async function requestSigningText(method, target, timestamp, nonce, body = new Uint8Array()) {
  const digest = hex(await sha256(body));
  return [REQUEST_PREFIX, method.toUpperCase(), target, String(timestamp), nonce, digest].join("\n");
}

export async function authHeader(key, method, target, timestamp, nonce) {
  const text = await requestSigningText(method, target, timestamp, nonce);
  const signature = b64urlEncode(await sign(key, utf8(text)));
  return `key_id=${key.keyId};timestamp=${timestamp};nonce=${nonce};signature=${signature}`;
}

// ---- the key kept in this browser ---------------------------------------------------------

const DB = "dataex", STORE = "keys", SLOT = "current";

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function withStore(mode, action) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const request = action(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(request.result);
    tx.onerror = () => reject(tx.error);
  });
}

export const saveKey = (entry) => withStore("readwrite", (s) => s.put(entry, SLOT));
export const loadKey = () => withStore("readonly", (s) => s.get(SLOT));
export const forgetKey = () => withStore("readwrite", (s) => s.delete(SLOT));

// ---- talking to this server ----------------------------------------------------------------

export class Problem extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

async function answer(response) {
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new Problem(response.status, typeof body === "object" ? body : { title: body });
  return body;
}

export async function getJSON(target) {
  return answer(await fetch(target, { headers: { accept: "application/json" } }));
}

export async function signedGet(key, target) {
  const header = await authHeader(key, "GET", target, Math.floor(Date.now() / 1000), crypto.randomUUID());
  return answer(await fetch(target, { headers: { accept: "application/json", "Dataex-Auth": header } }));
}

export async function submit(envelope) {
  return answer(await fetch("/v1/documents", {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(envelope),
  }));
}

// Who the key belongs to, from the public directory (display names, roles and keys).
export async function participantOf(keyIdText) {
  const { participants } = await getJSON("/v1/participants");
  return participants.find((p) => p.keys.some((k) => k.key_id === keyIdText && k.status === "active")) || null;
}

export const fen = (amount) => (amount / 100).toLocaleString("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
