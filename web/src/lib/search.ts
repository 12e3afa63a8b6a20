// The top bar's search: how found text is highlighted. A word matches as the server matches it —
// a prefix of a word, case and diacritics aside ("zamowienie" lights up "zamówienie", "lodz"
// lights up "Łódź"). Imports nothing (tested in node).

/** One letter without its diacritic, lower case: what decomposes loses its marks; ł, ø and
 * đ, which do not, are mapped. */
function foldChar(c: string): string {
  const lower = c.toLowerCase();
  const special: Record<string, string> = { 'ł': 'l', 'ø': 'o', 'đ': 'd' };
  if (special[lower]) return special[lower];
  return lower.normalize('NFD').replace(/\p{M}/gu, '');
}

/** The words searched for: runs of letters and digits, folded. */
export function queryWords(q: string): string[] {
  return (q.match(/[\p{L}\p{N}]+/gu) ?? []).map((w) => [...w].map(foldChar).join('')).filter(Boolean).slice(0, 8);
}

export type Run = { text: string; hit: boolean };

/** `text` in runs, the starts of its words that match a query word marked as hits. */
export function highlight(text: string, q: string): Run[] {
  const words = queryWords(q);
  const runs: Run[] = [];
  const push = (part: string, hit: boolean) => {
    if (!part) return;
    const last = runs[runs.length - 1];
    if (last && last.hit === hit) last.text += part;
    else runs.push({ text: part, hit });
  };
  let rest = 0;
  for (const m of text.matchAll(/[\p{L}\p{N}]+/gu)) {
    const at = m.index ?? 0;
    const word = m[0];
    const letters = [...word];
    const folded = letters.map(foldChar);
    // The longest query word this word starts with, in the word's own letters.
    let best = 0;
    for (const w of words) {
      const wl = [...w];
      let i = 0;
      let matched = 0;
      while (i < folded.length && matched < wl.length) {
        const f = folded[i] ?? '';
        if (wl.slice(matched, matched + f.length).join('') !== f) break;
        matched += [...f].length;
        i += 1;
      }
      if (matched >= wl.length && i > best) best = i;
    }
    push(text.slice(rest, at), false);
    if (best > 0) {
      const head = letters.slice(0, best).join('');
      push(head, true);
      push(word.slice(head.length), false);
    } else {
      push(word, false);
    }
    rest = at + word.length;
  }
  push(text.slice(rest), false);
  return runs;
}
