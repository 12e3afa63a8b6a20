// Satisfaction surveys: the survey card of the timeline (sent after resolution; CSAT 1–5 or
// NPS 0–10) and its answer, the automatic replies' labels, and the Satisfaction report's
// figures — response rate, CSAT score (share of 4 and 5) and NPS (promoters minus
// detractors). Pure functions (no Svelte, no DOM: the clock is passed in), unit-tested in
// tests/unit/surveys.test.mjs.

export type SurveyType = 'csat' | 'nps';
export const SURVEY_TYPES: readonly SurveyType[] = ['csat', 'nps'];
/** The lowest and highest rating of each survey. */
export const SCALE: Record<SurveyType, readonly [number, number]> = { csat: [1, 5], nps: [0, 10] };

/** How an answer came: the widget's buttons, the survey's link page, or a reply with a number. */
export type Via = 'widget' | 'link' | 'reply';

export interface SurveyAnswer {
  rating: number;
  feedback: string;
  late: boolean;
  via: string | null;
}

export interface SurveyCard {
  type: SurveyType;
  url: string | null;
  answer: SurveyAnswer | null;
}

/** The fields of a message read here. */
export interface SurveyMessage {
  message_type?: number;
  content_type?: string | null;
  content_attributes?: Record<string, unknown> | null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const typeOf = (v: unknown): SurveyType => (v === 'nps' ? 'nps' : 'csat');

/** The survey a message is (`content_type: input_csat`), with its answer once given; null
 * for any other message. */
export function surveyOf(m: SurveyMessage): SurveyCard | null {
  if (m.content_type !== 'input_csat') return null;
  const attrs = isObject(m.content_attributes) ? m.content_attributes : {};
  const submitted = isObject(attrs.submitted_values) ? attrs.submitted_values : {};
  const response = isObject(submitted.csat_survey_response) ? submitted.csat_survey_response : null;
  const rating = response ? Number(response.rating) : NaN;
  const answer = response && Number.isInteger(rating)
    ? {
        rating,
        feedback: typeof response.feedback_message === 'string' ? response.feedback_message.trim() : '',
        late: response.late === true,
        via: typeof response.answered_via === 'string' ? response.answered_via : null,
      }
    : null;
  return { type: typeOf(attrs.survey_type), url: typeof attrs.survey_url === 'string' ? attrs.survey_url : null, answer };
}

/** The automatic reply a template message is (`greeting`, `out_of_office`), else null (the
 * survey has its own card). */
export function autoReplyOf(m: SurveyMessage): 'greeting' | 'out_of_office' | null {
  const kind = isObject(m.content_attributes) ? m.content_attributes.auto_reply : undefined;
  return m.message_type === 3 && (kind === 'greeting' || kind === 'out_of_office') ? kind : null;
}

/** A CSAT rating as five stars (`★★★★☆`). */
export function stars(rating: number): string {
  const n = Math.min(5, Math.max(0, Math.round(rating)));
  return '★'.repeat(n) + '☆'.repeat(5 - n);
}

// ------------------------------------------------------------------ the report's figures

/** `GET …/csat_survey_responses/metrics`. */
export interface SurveyMetrics {
  total_count: number;
  /** Answers per rating ("5": 12). */
  ratings_count: Record<string, number>;
  total_sent_messages_count: number;
}

const count = (ratings: Record<string, number> | null | undefined, pick: (rating: number) => boolean): number =>
  Object.entries(ratings ?? {}).reduce((sum, [r, n]) => (pick(Number(r)) && Number.isFinite(n) ? sum + n : sum), 0);

/** Answers over surveys sent, 0–1 (at most 1: a survey answered twice counts once); null
 * when none was sent. */
export function responseRate(answers: number, sent: number): number | null {
  return sent > 0 ? Math.min(1, Math.max(0, answers / sent)) : null;
}

/** CSAT: the share (0–1) of the 1–5 answers that are 4 or 5; null without answers. */
export function csatScore(ratings: Record<string, number> | null | undefined): number | null {
  const total = count(ratings, (r) => r >= 1 && r <= 5);
  return total ? count(ratings, (r) => r >= 4 && r <= 5) / total : null;
}

/** NPS: the percentage of promoters (9–10) minus that of detractors (0–6), −100 to 100;
 * null without answers. */
export function npsScore(ratings: Record<string, number> | null | undefined): number | null {
  const total = count(ratings, (r) => r >= 0 && r <= 10);
  if (!total) return null;
  return ((count(ratings, (r) => r >= 9 && r <= 10) - count(ratings, (r) => r >= 0 && r <= 6)) / total) * 100;
}

/** Every rating of the scale, highest first, with its answers and share of all (0–1). */
export function distribution(ratings: Record<string, number> | null | undefined, type: SurveyType): { rating: number; count: number; share: number }[] {
  const [low, high] = SCALE[type];
  const total = count(ratings, (r) => r >= low && r <= high);
  const rows = [];
  for (let r = high; r >= low; r--) {
    const n = count(ratings, (x) => x === r);
    rows.push({ rating: r, count: n, share: total ? n / total : 0 });
  }
  return rows;
}

/** Where a rating stands: CSAT 4–5 good, 3 neutral, 1–2 bad; NPS 9–10 good (promoter), 7–8
 * neutral (passive), 0–6 bad (detractor). */
export function ratingTone(rating: number, type: SurveyType): 'good' | 'neutral' | 'bad' {
  if (type === 'nps') return rating >= 9 ? 'good' : rating >= 7 ? 'neutral' : 'bad';
  return rating >= 4 ? 'good' : rating === 3 ? 'neutral' : 'bad';
}

// ------------------------------------------------------------------ the report's filters

export const PERIODS = ['7', '30', '90', 'all'] as const;
export type Period = (typeof PERIODS)[number];

export interface ReportFilters {
  type: SurveyType;
  /** An inbox id, or '' for every inbox. */
  inbox: string;
  period: Period;
}

/** The query of the responses and metrics calls (Unix seconds; `now` too): the survey type,
 * the inbox, and `since` for a period of days. */
export function reportQuery(f: ReportFilters, now: number, page?: number): string {
  const q = new URLSearchParams({ survey_type: f.type });
  if (f.inbox) q.set('inbox_id', f.inbox);
  if (f.period !== 'all') q.set('since', String(Math.floor(now - Number(f.period) * 86_400)));
  if (page) q.set('page', String(page));
  return q.toString();
}
