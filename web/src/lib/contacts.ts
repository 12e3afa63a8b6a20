// The contacts screen's rules, as pure functions (no Svelte, no DOM), unit-tested in
// tests/unit/contacts.test.mjs: the filters as Chatwoot's filter payload, a CSV file cut into
// parts at record boundaries (so a long import shows progress and each refused row keeps its
// row number in the whole file), and the journey timeline's items.

/** The filters the contacts screen offers besides the search box. */
export interface ContactFilters {
  label: string;
  /** Active within this many days ('' for any time); `-N` for "not active in N days". */
  activity: string;
  /** A contact attribute's key and the value it must equal. */
  attributeKey: string;
  attributeValue: string;
}

export const ACTIVITY_CHOICES = ['7', '30', '90', '-90'] as const;

export interface FilterCondition {
  attribute_key: string;
  filter_operator: string;
  values: string[];
  query_operator?: 'and' | 'or';
}

/** `YYYY-MM-DD` of the day `days` before `now` (UTC), as the filter language takes dates. */
export function dayBefore(now: Date, days: number): string {
  const d = new Date(now.getTime() - days * 86_400_000);
  return d.toISOString().slice(0, 10);
}

/** Chatwoot's `POST …/contacts/filter` payload for the filters set, or null when none is. */
export function filterPayload(f: ContactFilters, now: Date): { payload: FilterCondition[] } | null {
  const conditions: FilterCondition[] = [];
  if (f.label) conditions.push({ attribute_key: 'labels', filter_operator: 'equal_to', values: [f.label] });
  const days = Number(f.activity);
  if (f.activity && Number.isInteger(days) && days !== 0) {
    conditions.push(
      days > 0
        ? { attribute_key: 'last_activity_at', filter_operator: 'is_greater_than', values: [dayBefore(now, days)] }
        : { attribute_key: 'last_activity_at', filter_operator: 'days_before', values: [String(-days)] },
    );
  }
  if (f.attributeKey && f.attributeValue.trim()) {
    conditions.push({ attribute_key: f.attributeKey, filter_operator: 'equal_to', values: [f.attributeValue.trim()] });
  }
  if (!conditions.length) return null;
  conditions.forEach((c, i) => {
    if (i < conditions.length - 1) c.query_operator = 'and';
  });
  return { payload: conditions };
}

/** One part of an import file: the header and some records, and where they were in the file. */
export interface CsvPart {
  text: string;
  /** Records in this part (blank lines included, as the server skips them itself). */
  records: number;
  /** The file's line number of this part's first record (the header is line 1). */
  firstLine: number;
}

/**
 * Cuts a CSV file into parts of at most `perPart` records, each starting with the header. Cuts
 * fall only between records: a quoted cell may hold line breaks and the separator.
 */
export function splitCsv(text: string, perPart: number): CsvPart[] {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const ends: number[] = []; // offset just past each record's line break
  let quoted = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '"') quoted = !quoted;
    else if (c === '\n' && !quoted) ends.push(i + 1);
  }
  if ((ends[ends.length - 1] ?? 0) < body.length) ends.push(body.length);
  const header = body.slice(0, ends[0] ?? body.length);
  const lineAt = lineCounter(body);
  const parts: CsvPart[] = [];
  for (let r = 1; r < ends.length; r += perPart) {
    const start = ends[r - 1] ?? 0;
    const end = ends[Math.min(r + perPart, ends.length) - 1] ?? body.length;
    const records = Math.min(perPart, ends.length - r);
    const chunk = body.slice(start, end);
    if (!chunk.trim()) continue;
    parts.push({ text: header.endsWith('\n') ? header + chunk : `${header}\n${chunk}`, records, firstLine: lineAt(start) });
  }
  return parts;
}

/** Line numbers of offsets given in increasing order, counting as it goes. */
function lineCounter(text: string): (offset: number) => number {
  let at = 0;
  let line = 1;
  return (offset: number) => {
    for (; at < offset; at++) if (text[at] === '\n') line++;
    return line;
  };
}

/** A row number the server gave for a part (its header is row 1) as the whole file's. */
export function rowInFile(part: CsvPart, row: number): number {
  return row - 2 + part.firstLine;
}

export interface ImportFailure {
  row: number;
  field: string;
  code: string;
  message: string;
}

export interface ImportReport {
  total_rows: number;
  created: number;
  updated: number;
  failed: ImportFailure[];
}

/** Adds a part's report to the file's, with the part's rows renumbered to the file's. */
export function addReport(into: ImportReport, part: CsvPart, report: ImportReport): ImportReport {
  return {
    total_rows: into.total_rows + report.total_rows,
    created: into.created + report.created,
    updated: into.updated + report.updated,
    failed: [...into.failed, ...report.failed.map((f) => ({ ...f, row: rowInFile(part, f.row) }))],
  };
}

// ---------------------------------------------------------------------------------------------
// The journey timeline (`GET …/contacts/{id}/timeline`)

export type TimelineKind = 'conversation' | 'message' | 'event' | 'merge' | 'survey' | 'call';
export const TIMELINE_KINDS: readonly TimelineKind[] = ['message', 'conversation', 'call', 'event', 'merge', 'survey'];

export interface TimelineItem {
  kind: TimelineKind;
  id: number;
  /** Unix seconds. */
  at: number;
  conversation_id?: number;
  display_id?: number;
  inbox_id?: number;
  channel_type?: string;
  status?: string;
  message_type?: number;
  content?: string | null;
  private?: boolean;
  type?: string;
  title?: string | null;
  properties?: Record<string, unknown>;
  mergee_contact_id?: number;
  mergee_name?: string | null;
  survey_type?: string;
  rating?: number;
  feedback_message?: string | null;
  /** A call: inbound or outbound, the numbers, how it ended, seconds. A call from the website
   * widget (medium web_voice or web_video) has the visitor's name as `from_number` and the
   * inbox's name as `to_number`. */
  direction?: string;
  from_number?: string;
  to_number?: string;
  outcome?: string | null;
  duration?: number | null;
  /** phone, web_voice or web_video (absent: phone). */
  medium?: string;
  /** A call: the agent who took it (they may wrap it up), the wrap-up (disposition and notes),
   * and its recording (a same-origin path played with the session; null when not recorded). */
  agent_id?: number | null;
  disposition?: string | null;
  wrap_up_notes?: string | null;
  recording_url?: string | null;
}

/** The timeline after a call's wrap-up was saved: that call's item (`id` is the call's) with
 * the disposition and notes as the server kept them, the others as they were. */
export function afterWrapUp(
  items: readonly TimelineItem[],
  saved: { id: number; disposition: string | null; wrap_up_notes: string | null },
): TimelineItem[] {
  return items.map((i) => (i.kind === 'call' && i.id === saved.id ? { ...i, disposition: saved.disposition, wrap_up_notes: saved.wrap_up_notes } : i));
}

/** What a call on the timeline says, as a catalogue key and its number: a call from the website
 * its kind (voice or video), not the names it carries for numbers; a phone call the other
 * party's number. */
export function callLine(item: TimelineItem): { key: string; number: string } {
  if (item.medium === 'web_voice') return { key: 'timeline.web_call_voice', number: '' };
  if (item.medium === 'web_video') return { key: 'timeline.web_call_video', number: '' };
  const outbound = item.direction === 'outbound';
  return { key: outbound ? 'timeline.call_outbound' : 'timeline.call_inbound', number: (outbound ? item.to_number : item.from_number) ?? '' };
}

/** A call's length as m:ss. */
export function callLength(seconds: number | null | undefined): string {
  const s = Math.max(0, Math.round(seconds ?? 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export interface TimelinePage {
  meta: { next_cursor?: string };
  payload: TimelineItem[];
}

/** The query of a timeline page: the kinds chosen (all when every one is), and where to go on. */
export function timelineQuery(kinds: readonly TimelineKind[], cursor?: string, limit = 30): string {
  const params = new URLSearchParams();
  if (kinds.length && kinds.length < TIMELINE_KINDS.length) params.set('kinds', kinds.join(','));
  if (cursor) params.set('before', cursor);
  params.set('limit', String(limit));
  return `?${params}`;
}

/** Who wrote a message on the timeline: the customer (incoming) or the team. */
export function messageSide(item: TimelineItem): 'customer' | 'team' {
  return item.message_type === 0 ? 'customer' : 'team';
}
