// Mentions in private notes, in Chatwoot's markup: `[@Ana Souza](mention://user/12/Ana%20Souza)`.
// The composer shows plain `@Ana Souza` while the agent types and writes the markup on send for
// the agents picked from the list; messages show the markup back as `@Ana Souza`. Imports
// nothing (tested in node).

export type Picked = { id: number; name: string };

/** A message's text as plain runs and mentions. */
export type Part = { text: string } | { mention: 'user' | 'team'; id: number; name: string };

const MARKUP = /\[@([^\]\n]+)\]\(mention:\/\/(user|team)\/(\d+)\/[^)\s]*\)/g;

/** `@Name` of each picked agent still in the text becomes their mention (the first of each). */
export function encodeMentions(text: string, picked: Picked[]): string {
  let out = text;
  const done = new Set<number>();
  for (const p of picked) {
    if (done.has(p.id)) continue;
    const plain = `@${p.name}`;
    const at = out.indexOf(plain);
    if (at < 0) continue;
    // Not inside markup written already.
    if (out[at - 1] === '[') continue;
    const markup = `[@${p.name}](mention://user/${p.id}/${encodeURIComponent(p.name)})`;
    out = out.slice(0, at) + markup + out.slice(at + plain.length);
    done.add(p.id);
  }
  return out;
}

/** Splits a message into plain runs and mentions. */
export function mentionParts(content: string): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const m of content.matchAll(MARKUP)) {
    const at = m.index ?? 0;
    if (at > last) parts.push({ text: content.slice(last, at) });
    parts.push({ mention: m[2] as 'user' | 'team', id: Number(m[3]), name: m[1] ?? '' });
    last = at + m[0].length;
  }
  if (last < content.length) parts.push({ text: content.slice(last) });
  return parts;
}

/** The text with mentions as `@Name` (notification lines, previews). */
export function plainMentions(content: string): string {
  return mentionParts(content)
    .map((p) => ('text' in p ? p.text : `@${p.name}`))
    .join('');
}
