// A tiny fake of an OpenAI-compatible model server for the browser tests, started by
// scripts/browser-tests (its address reaches the tests as FAKE_MODEL_URL; an administrator
// points the AI assistant at `${FAKE_MODEL_URL}/v1`):
//   POST /v1/chat/completions → OpenAI's answer, its text chosen by what the request's messages
//                               say (the first rule that matches; "OK" otherwise)
//   POST /v1/embeddings       → one deterministic vector per input (words hashed into 32 dims)
// and, for the tests: GET /__health, GET /__requests (what it received: method, path, the
// Authorization header and the JSON body, oldest first).
// Usage: node fake-model.mjs <port>
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 0);

/** [what the messages contain, the answer]: the first match wins. */
const ANSWERS = [
  ['Suggest the next reply', 'Claro! Você pode devolver o pedido em até 30 dias pela página Meus pedidos [1].'],
  ['Summarize', '- The customer wants to return an order.\n- They were told how; nothing is open.'],
  ['into English', 'Hello, I would like to return my order. How do I do it?'],
  ['into Brazilian Portuguese', 'Obrigado por escrever! Você pode devolver o pedido em até 30 dias.'],
  ['into Portuguese', 'Obrigado por escrever! Você pode devolver o pedido em até 30 dias.'],
  ['into Polish', 'Dzień dobry, chciałabym zwrócić zamówienie. Jak to zrobić?'],
  ['Fix the spelling and grammar', 'Thank you for writing! You can return the order within 30 days.'],
  ['shorter', 'You can return it within 30 days.'],
  ['formal', 'Thank you for contacting us. You may return the order within 30 days.'],
];

const received = [];

function vector(text) {
  const v = new Array(32).fill(0);
  for (const word of String(text).toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean)) {
    let h = 2166136261;
    for (const c of word) h = Math.imul(h ^ c.codePointAt(0), 16777619) >>> 0;
    v[h % 32] += 1;
  }
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = createServer((req, res) => {
  let raw = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => (raw += chunk));
  req.on('end', () => {
    const path = new URL(req.url, 'http://fake').pathname;
    if (req.method === 'GET' && path === '/__health') return json(res, 200, { ok: true });
    if (req.method === 'GET' && path === '/__requests') return json(res, 200, received);
    let body = null;
    try {
      body = raw ? JSON.parse(raw) : null;
    } catch {
      return json(res, 400, { error: { message: 'the body is not JSON' } });
    }
    received.push({ method: req.method, path, authorization: req.headers.authorization ?? null, body });
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      const said = (body?.messages ?? []).map((m) => String(m.content ?? '')).join('\n');
      const content = ANSWERS.find(([cue]) => said.includes(cue))?.[1] ?? 'OK';
      return json(res, 200, {
        id: `chatcmpl-fake-${received.length}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: body?.model ?? 'fake',
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: { prompt_tokens: said.length, completion_tokens: content.length, total_tokens: said.length + content.length },
      });
    }
    if (req.method === 'POST' && path === '/v1/embeddings') {
      const inputs = Array.isArray(body?.input) ? body.input : [body?.input ?? ''];
      return json(res, 200, {
        object: 'list', model: body?.model ?? 'fake',
        data: inputs.map((input, index) => ({ object: 'embedding', index, embedding: vector(input) })),
        usage: { prompt_tokens: 0, total_tokens: 0 },
      });
    }
    json(res, 404, { error: { message: `no ${req.method} ${path} here` } });
  });
});

server.listen(port, '127.0.0.1', () => console.log(`fake model on 127.0.0.1:${server.address().port}`));
