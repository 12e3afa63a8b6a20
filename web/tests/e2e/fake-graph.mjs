// A tiny fake of Meta's Graph API for the browser tests, started by scripts/browser-tests
// before the server (which reaches it through THROUGHLINE_META_GRAPH_URL):
//   GET  /{media_id}                  → { url, mime_type, file_size, id } (a phone number id —
//                                        digits only — answers as Meta does for the number;
//                                        an id starting `gone-` is unknown: 404, Meta's error)
//   GET  /media/{id}                  → a real PNG (64×40)
//   GET  /{waba_id}/message_templates → a fixed list: two APPROVED (one with two body
//                                        parameters), one REJECTED
//   POST /{phone_number_id}/messages  → { messages: [{ id: "wamid.fake…" }] }, recording the body
//   anything else                     → { id }
// and, for the tests: GET /__health, GET /__sent?count=N (answers once N sends were recorded:
// the test waits on the event, not on a clock).
// Usage: node fake-graph.mjs <port>
import { createServer } from 'node:http';
import { deflateSync } from 'node:zlib';

const port = Number(process.argv[2] ?? 0);

/** A 64×40 PNG: a blue-to-green gradient with a white band, so the screenshot shows it. */
function png(width, height) {
  const table = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = table[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'ascii');
    data.copy(out, 8);
    out.writeUInt32BE(crc(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      const band = y >= height / 2 - 3 && y < height / 2 + 3;
      rows.set(band ? [255, 255, 255] : [20, Math.round((x / width) * 200), 200 - Math.round((x / width) * 150)], row + 1 + x * 3);
    }
  }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

const PICTURE = png(64, 40);
const TEMPLATES = [
  {
    id: '900001', name: 'order_update', language: 'en_US', category: 'UTILITY', status: 'APPROVED',
    components: [
      { type: 'HEADER', format: 'TEXT', text: 'Order update' },
      { type: 'BODY', text: 'Hello {{1}}, your order {{2}} is on its way.' },
      { type: 'FOOTER', text: 'Acme shop' },
    ],
  },
  { id: '900002', name: 'hello_world', language: 'en_US', category: 'UTILITY', status: 'APPROVED', components: [{ type: 'BODY', text: 'Hello World' }] },
  { id: '900003', name: 'spring_sale', language: 'en_US', category: 'MARKETING', status: 'REJECTED', components: [{ type: 'BODY', text: 'Spring sale: {{1}} off!' }] },
];

/** What the server sent: { path, authorization, body }. */
const sent = [];
/** Tests waiting for the count of sends to reach a number. */
let waiting = [];
let counter = 0;

function json(res, status, value) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://fake');
  const parts = url.pathname.split('/').filter(Boolean);
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    if (url.pathname === '/__health') return json(res, 200, { ok: true });
    if (url.pathname === '/__sent') {
      const count = Number(url.searchParams.get('count') ?? 0);
      if (sent.length >= count) return json(res, 200, sent);
      return waiting.push({ count, answer: () => json(res, 200, sent) });
    }
    if (req.method === 'GET' && parts[0] === 'media' && parts.length === 2) {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': PICTURE.length });
      return res.end(PICTURE);
    }
    if (req.method === 'GET' && parts.length === 2 && parts[1] === 'message_templates') {
      return json(res, 200, { data: TEMPLATES, paging: { cursors: { before: 'b', after: 'a' } } });
    }
    if (req.method === 'POST' && parts.length === 2 && parts[1] === 'messages') {
      let parsed = null;
      try {
        parsed = JSON.parse(body);
      } catch {
        return json(res, 400, { error: { code: 100, message: 'Invalid JSON', type: 'OAuthException' } });
      }
      sent.push({ path: url.pathname, authorization: req.headers.authorization ?? '', body: parsed });
      const ready = waiting.filter((w) => sent.length >= w.count);
      waiting = waiting.filter((w) => sent.length < w.count);
      for (const w of ready) w.answer();
      counter += 1;
      return json(res, 200, { messaging_product: 'whatsapp', contacts: [{ input: parsed?.to, wa_id: parsed?.to }], messages: [{ id: `wamid.fake${counter}` }] });
    }
    if (req.method === 'GET' && parts.length === 1) {
      const id = parts[0];
      if (id.startsWith('gone-')) return json(res, 404, { error: { message: `Unsupported get request. Object with ID '${id}' does not exist`, type: 'GraphMethodException', code: 100 } });
      if (/^\d+$/.test(id)) return json(res, 200, { id, verified_name: 'Acme Shop', display_phone_number: '+55 11 98765-4321', quality_rating: 'GREEN' });
      return json(res, 200, { messaging_product: 'whatsapp', id, url: `http://127.0.0.1:${server.address().port}/media/${id}`, mime_type: 'image/png', file_size: PICTURE.length, sha256: 'fake' });
    }
    return json(res, 200, { id: parts.at(-1) ?? 'fake' });
  });
});

server.listen(port, '127.0.0.1', () => console.log(`fake Graph API on http://127.0.0.1:${server.address().port}`));
