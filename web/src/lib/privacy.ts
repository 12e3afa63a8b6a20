// Privacy tools shared by the contact panel and Settings → Account: an erasure receipt's counts
// as labelled numbers, and a file size.
import { t, formatNumber, i18n } from './i18n.svelte';

/** The kinds of records an erasure or a retention pass counts (crates/store/src/privacy.rs),
 * in the order a reader expects them; a kind the server adds later shows under its own name. */
const KINDS = [
  'contacts', 'merged_contacts', 'contacts_anonymised', 'conversations', 'conversations_anonymised',
  'messages', 'private_notes', 'messages_anonymised', 'attachments', 'attachments_anonymised', 'files',
  'raw_emails', 'email_thread_keys', 'identities', 'contact_labels', 'contact_notes', 'business_events',
  'merge_records', 'merge_suggestions', 'conversation_moves', 'exports', 'pending_media',
  'provider_receipts', 'outbox_events', 'deliveries',
];

export interface ReceiptCount {
  kind: string;
  label: string;
  count: string;
}

/** A receipt's counts, known kinds first in their order, as "label: number" pieces. */
export function receiptCounts(counts: Record<string, number>): ReceiptCount[] {
  const rank = (k: string) => (KINDS.includes(k) ? KINDS.indexOf(k) : KINDS.length);
  return Object.entries(counts)
    .filter(([, n]) => n !== 0)
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([kind, n]) => ({
      kind,
      label: KINDS.includes(kind) ? t(`privacy.count.${kind}`) : kind.replaceAll('_', ' '),
      count: formatNumber(n),
    }));
}

/** Bytes as kB or MB in the reader's language. */
export function formatBytes(bytes: number): string {
  const [value, unit] = bytes < 1024 * 1024 ? [bytes / 1024, 'kilobyte'] : [bytes / 1024 / 1024, 'megabyte'];
  return new Intl.NumberFormat(i18n.locale, { style: 'unit', unit, maximumFractionDigits: 1 }).format(value);
}
