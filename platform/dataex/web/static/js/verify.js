// What a browser checks without trusting the server: RFC 9162 inclusion proofs, C2SP
// signed-note checkpoints, a certificate from its registrar signature to the log, and a
// licence's platform signature.
// The same rules as dataex.core.log and dataex.verify.certificates, in JavaScript.
import {
  CERTIFICATE_PREFIX, DOCUMENT_PREFIX, b64Decode, canonicalJSON, concat, fromHex, getJSON, hex,
  keyId, sha256, utf8, verifyEd25519,
} from "/static/js/dataex.js";

const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const nodeHash = (left, right) => sha256(concat(new Uint8Array([1]), left, right));
export const leafHash = (data) => sha256(concat(new Uint8Array([0]), data));

// RFC 9162 section 2.1.3.2 (arithmetic, not 32-bit bit operations, so sizes may pass 2^32).
export async function verifyInclusion(leaf, index, size, proof, root) {
  if (index >= size) return false;
  let fn = index, sn = size - 1, r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(r, root);
}

// A vkey "<name>+<hex key hash>+<base64(0x01 || public key)>", its hash checked.
export async function parseVkey(vkey) {
  const first = vkey.indexOf("+"), second = vkey.indexOf("+", first + 1);
  const [name, hashHex, keyB64] = [vkey.slice(0, first), vkey.slice(first + 1, second), vkey.slice(second + 1)];
  const raw = b64Decode(keyB64);
  if (raw[0] !== 1 || raw.length !== 33) throw new Error("not an Ed25519 note key");
  const expected = (await sha256(concat(utf8(name + "\n"), raw))).slice(0, 4);
  if (hex(expected) !== hashHex) throw new Error("the vkey's hash does not match its key");
  return { name, keyHash: expected, publicKey: raw.slice(1) };
}

// The checkpoint's text if one signature by `key` verifies over it, else an Error.
export async function openCheckpoint(note, key) {
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw new Error("the checkpoint is not a signed note");
  const text = note.slice(0, split + 1);
  for (const line of note.slice(split + 2).split("\n").filter(Boolean)) {
    const match = /^— (\S+) (\S+)$/.exec(line);
    if (!match || match[1] !== key.name) continue;
    const raw = b64Decode(match[2]);
    if (!equal(raw.slice(0, 4), key.keyHash)) continue;
    if (await verifyEd25519(key.publicKey, raw.slice(4), utf8(text))) {
      const [origin, size, rootB64] = text.split("\n");
      return { origin, size: Number(size), root: b64Decode(rootB64) };
    }
    throw new Error("the log's signature on the checkpoint does not verify");
  }
  throw new Error("the checkpoint carries no signature by the log key");
}

// Each check: {name, ok, why}. Stops where a later check would mean nothing.
export async function checkCertificate(number, fetchJSON = getJSON, fetchText = (u) => fetch(u).then((r) => r.text())) {
  const checks = [];
  const check = (name, ok, why = "") => { checks.push({ name, ok: Boolean(ok), why: ok ? "" : why }); return ok; };
  const claim = await fetchJSON(`/v1/registry/certificates/${number}/verify`);
  const { document, signature } = claim;
  if (!check("the document is the certificate asked for", document.number === number, `it is ${document.number}`)) return checks;

  const { participants } = await fetchJSON("/v1/participants?role=registrar");
  const registrar = participants.find((p) => p.participant_id === claim.registrar);
  const keyRecord = registrar && registrar.keys.find((k) => k.key_id === claim.registrar_key_id);
  const publicKey = keyRecord ? b64Decode(keyRecord.public_key) : null;
  if (!check("the registrar's key is on record and its id is its hash",
    publicKey && (await keyId(publicKey)) === claim.registrar_key_id,
    `no key ${claim.registrar_key_id} of ${claim.registrar}`)) return checks;
  check("the registrar's signature verifies over the document",
    await verifyEd25519(publicKey, b64Decode(signature), utf8(CERTIFICATE_PREFIX + canonicalJSON(document))),
    "the signature does not match the document");

  const logged = await fetchJSON(`/v1/audit/entries/${claim.seq}`);
  const entry = logged.entry;
  const leaf = await leafHash(utf8(canonicalJSON(entry)));
  check("the log entry hashes to its entry hash", entry.seq === claim.seq && hex(leaf) === logged.entry_hash,
    "the entry's bytes do not hash to the entry hash given");
  const decided = entry.envelope.document;
  check("the entry is the registrar's decision, signed by the same key",
    decided.signer === claim.registrar_key_id &&
    await verifyEd25519(publicKey, b64Decode(entry.envelope.signature), utf8(DOCUMENT_PREFIX + canonicalJSON(decided))),
    "the decision in the entry is not signed by this registrar key");
  check("the entry's event holds exactly this document and signature",
    entry.events.some((e) => e.certificate_number === number && e.signature === signature &&
      e.document && canonicalJSON(e.document) === canonicalJSON(document)),
    "no event of the entry carries this document");

  const { keys } = await fetchJSON("/.well-known/dataex/log-keys");
  let checkpoint = null, logKey = null;
  for (const published of keys) {
    try {
      logKey = await parseVkey(published.vkey);
      checkpoint = await openCheckpoint(await fetchText("/v1/audit/checkpoint"), logKey);
      checks.logKey = published.vkey;
      break;
    } catch (error) { checks.noteError = error.message; }
  }
  if (!check("the latest checkpoint is signed by the log key", checkpoint, checks.noteError)) return checks;
  if (!check("the checkpoint covers the entry", claim.seq <= checkpoint.size,
    `the checkpoint has ${checkpoint.size} entries; the entry is ${claim.seq} (wait for the next checkpoint)`)) return checks;
  const proof = await fetchJSON(`/v1/audit/proof/inclusion?seq=${claim.seq}&size=${checkpoint.size}`);
  check("the inclusion proof leads from the entry to the checkpoint's root",
    await verifyInclusion(leaf, claim.seq - 1, checkpoint.size, proof.proof.map(fromHex), checkpoint.root),
    "the proof does not lead to the signed root: the entry is not in the log everyone sees");
  checks.checkpoint = checkpoint;
  return checks;
}

// A licence document signed by the platform's log key (SPEC §11): the signature, the key
// the log publishes, and the document hash. Returns {ok, why}.
export async function checkLicence(licence, fetchJSON = getJSON) {
  const { keys } = await fetchJSON("/.well-known/dataex/log-keys");
  const bytes = utf8("dataex-licence-v1\n" + canonicalJSON(licence.document));
  if (hex(await sha256(utf8(canonicalJSON(licence.document)))) !== licence.document_hash) {
    return { ok: false, why: "the document does not hash to its document hash" };
  }
  for (const published of keys) {
    const key = await parseVkey(published.vkey);
    if ((await keyId(key.publicKey)) !== licence.platform_key_id) continue;
    return (await verifyEd25519(key.publicKey, b64Decode(licence.platform_signature), bytes))
      ? { ok: true, why: "" } : { ok: false, why: "the platform signature does not verify" };
  }
  return { ok: false, why: `no published log key is ${licence.platform_key_id}` };
}
