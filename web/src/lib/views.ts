// Saved views: Chatwoot's custom filters (`/custom_filters`) as the conversation list and the
// contacts screen keep them. A view stores Chatwoot's filter payload (`query.payload`), so a team
// moving from Chatwoot sees its folders and Chatwoot's clients read ours; next to it,
// `query.tl_view` keeps the screen's own filters exactly (tab, channel, sort), which the filter
// language has no words for. Pure functions, unit-tested in tests/unit/views.test.mjs.

export interface SavedView {
  id: number;
  name: string;
  filter_type: string;
  query: { payload?: unknown[]; tl_view?: Record<string, string> };
}

/** The conversation list's filters, as Inbox.svelte holds them ('' for any). */
export interface ListFilters {
  tab: string;
  status: string;
  inboxId: string;
  teamId: string;
  label: string;
  channel: string;
  sort: string;
}

interface Condition {
  attribute_key: string;
  filter_operator: string;
  values: (string | number)[];
  query_operator?: 'and';
}

function joined(conditions: Condition[]): Condition[] {
  return conditions.map((c, i) => (i < conditions.length - 1 ? { ...c, query_operator: 'and' } : c));
}

/** The query a view of these filters saves: Chatwoot's conditions and the screen's own state. */
export function conversationViewQuery(f: ListFilters): SavedView['query'] {
  const conditions: Condition[] = [];
  if (f.status && f.status !== 'all') conditions.push({ attribute_key: 'status', filter_operator: 'equal_to', values: [f.status] });
  if (f.inboxId) conditions.push({ attribute_key: 'inbox_id', filter_operator: 'equal_to', values: [Number(f.inboxId)] });
  if (f.teamId) conditions.push({ attribute_key: 'team_id', filter_operator: 'equal_to', values: [Number(f.teamId)] });
  if (f.label) conditions.push({ attribute_key: 'labels', filter_operator: 'equal_to', values: [f.label] });
  return { payload: joined(conditions), tl_view: { ...f } };
}

/** The filters a saved view restores, or null for a view made elsewhere (Chatwoot's folders),
 * which the list then runs through the filter endpoint as it is. */
export function conversationViewFilters(view: SavedView): ListFilters | null {
  const v = view.query?.tl_view;
  if (!v || typeof v !== 'object') return null;
  const text = (k: string, fallback = '') => (typeof v[k] === 'string' ? v[k] : fallback);
  return {
    tab: ['me', 'unassigned', 'all'].includes(text('tab')) ? text('tab') : 'all',
    status: text('status', 'open'),
    inboxId: text('inboxId'),
    teamId: text('teamId'),
    label: text('label'),
    channel: text('channel'),
    sort: text('sort', 'latest'),
  };
}

/** The contacts screen's view: its filter payload (as `POST /contacts/filter` takes it) and
 * its own fields. */
export function contactViewQuery(payload: unknown[] | null, fields: Record<string, string>): SavedView['query'] {
  return { payload: payload ?? [], tl_view: { ...fields } };
}
