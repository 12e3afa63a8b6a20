// src/lib/surveys.ts (the survey card of the timeline and its answer, the automatic replies'
// labels, the Satisfaction report's figures and filters), loaded by transpiling it with the
// project's TypeScript (it imports nothing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const source = readFileSync(new URL('../../src/lib/surveys.ts', import.meta.url), 'utf8');
const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
const m = await import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);

test('a survey message, before and after its answer', () => {
  const sent = { message_type: 3, content_type: 'input_csat', content_attributes: { auto_reply: 'survey', survey_type: 'nps', survey_url: 'https://x/survey/responses/u' } };
  assert.deepEqual(m.surveyOf(sent), { type: 'nps', url: 'https://x/survey/responses/u', answer: null });
  const answered = {
    ...sent,
    content_attributes: { ...sent.content_attributes, survey_type: 'csat', submitted_values: { csat_survey_response: { rating: 4, feedback_message: ' Good ', late: true, answered_via: 'link' } } },
  };
  assert.deepEqual(m.surveyOf(answered).answer, { rating: 4, feedback: 'Good', late: true, via: 'link' });
  const bare = { content_type: 'input_csat', content_attributes: { submitted_values: { csat_survey_response: { rating: '5', feedback_message: null } } } };
  assert.deepEqual(m.surveyOf(bare), { type: 'csat', url: null, answer: { rating: 5, feedback: '', late: false, via: null } }, 'CSAT by default, the rating as text');
  assert.equal(m.surveyOf({ content_type: 'input_csat', content_attributes: { submitted_values: { csat_survey_response: {} } } }).answer, null, 'no rating: no answer');
  assert.equal(m.surveyOf({ content_type: 'text', message_type: 3 }), null);
  assert.equal(m.surveyOf({ content_type: 'input_csat', content_attributes: null }).type, 'csat');
});

test('automatic replies: the greeting and the out-of-office reply', () => {
  assert.equal(m.autoReplyOf({ message_type: 3, content_attributes: { auto_reply: 'greeting' } }), 'greeting');
  assert.equal(m.autoReplyOf({ message_type: 3, content_attributes: { auto_reply: 'out_of_office' } }), 'out_of_office');
  assert.equal(m.autoReplyOf({ message_type: 3, content_attributes: { auto_reply: 'survey' } }), null, 'the survey has its card');
  assert.equal(m.autoReplyOf({ message_type: 1, content_attributes: { auto_reply: 'greeting' } }), null, 'only templates');
  assert.equal(m.autoReplyOf({ message_type: 3 }), null);
});

test('stars', () => {
  assert.equal(m.stars(4), '★★★★☆');
  assert.equal(m.stars(1), '★☆☆☆☆');
  assert.equal(m.stars(9), '★★★★★');
});

test('the report’s figures: response rate, CSAT score, NPS', () => {
  assert.equal(m.responseRate(3, 12), 0.25);
  assert.equal(m.responseRate(0, 0), null);
  assert.equal(m.responseRate(5, 4), 1, 'never above 100 %');
  assert.equal(m.csatScore({ 5: 6, 4: 2, 3: 1, 1: 1 }), 0.8);
  assert.equal(m.csatScore({}), null);
  assert.equal(m.csatScore(null), null);
  assert.equal(m.csatScore({ 0: 3 }), null, 'no 1–5 answers');
  // 5 promoters, 3 passives, 2 detractors of 10: 50 % − 20 % = 30.
  assert.equal(m.npsScore({ 10: 3, 9: 2, 8: 2, 7: 1, 6: 1, 0: 1 }), 30);
  assert.equal(m.npsScore({ 3: 2 }), -100);
  assert.equal(m.npsScore({ 9: 1 }), 100);
  assert.equal(m.npsScore({}), null);
});

test('the distribution covers the whole scale, highest first', () => {
  const csat = m.distribution({ 5: 3, 1: 1 }, 'csat');
  assert.deepEqual(csat.map((r) => r.rating), [5, 4, 3, 2, 1]);
  assert.deepEqual(csat[0], { rating: 5, count: 3, share: 0.75 });
  assert.deepEqual(csat[1], { rating: 4, count: 0, share: 0 });
  assert.equal(m.distribution({}, 'nps').length, 11);
  assert.equal(m.ratingTone(4, 'csat'), 'good');
  assert.equal(m.ratingTone(3, 'csat'), 'neutral');
  assert.equal(m.ratingTone(2, 'csat'), 'bad');
  assert.equal(m.ratingTone(9, 'nps'), 'good');
  assert.equal(m.ratingTone(7, 'nps'), 'neutral');
  assert.equal(m.ratingTone(6, 'nps'), 'bad');
});

test('the report’s query: type, inbox, period, page', () => {
  const now = 1_750_000_000;
  assert.equal(m.reportQuery({ type: 'csat', inbox: '', period: 'all' }, now), 'survey_type=csat');
  assert.equal(m.reportQuery({ type: 'nps', inbox: '4', period: '7' }, now, 2), `survey_type=nps&inbox_id=4&since=${now - 7 * 86_400}&page=2`);
});
