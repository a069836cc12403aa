// Run in the page by test_pages.py: the page's own modules against contracts/vectors.
async (v) => {
  const d = await import("/static/js/dataex.js");
  const bad = [];
  const key = async (name) => d.importSigningKey(d.fromHex(v.keys[name].seed_hex));
  for (const x of v.vectors) {
    const k = await key(x.key);
    if (d.canonicalJSON(x.document) !== x.canonical) bad.push("canonical " + x.name);
    const signed = await d.signDocument(k, x.document);
    if (signed.signature !== x.signature) bad.push("signature " + x.name);
    if (k.keyId !== v.keys[x.key].key_id) bad.push("key id " + x.name);
  }
  for (const c of v.certificates) {
    const k = await key(c.key);
    const bytes = d.utf8(d.CERTIFICATE_PREFIX + d.canonicalJSON(c.document));
    if (d.b64urlEncode(await d.sign(k, bytes)) !== c.signature) bad.push("certificate " + c.name);
  }
  for (const r of v.requests) {
    const k = await key(r.key);
    const body = d.fromHex(r.body_hex);
    const text = await d.requestSigningText(r.method, r.target, r.timestamp, r.nonce, body);
    if (text !== r.signed_text) bad.push("request text " + r.name);
    const header = await d.authHeader(k, r.method, r.target, r.timestamp, r.nonce);
    if (r.body_hex === "" && header !== r.header) bad.push("request header " + r.name);
  }
  return { bad, counted: v.vectors.length + v.certificates.length + v.requests.length };
}
