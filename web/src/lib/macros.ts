// Macros: named lists of actions (the same as automation rules', plus `assign_agent: ["self"]`,
// whoever runs it) that agents run on a conversation with one click. The API's shapes, who may
// change one, the list's order and what a run did: what the conversation view needs, so nothing
// but types from ./automation (whose code stays in the settings chunk, with the macro form's
// functions). Pure functions, unit-tested in tests/unit/macros.test.mjs.
import type { RuleAction } from './automation';

export type Visibility = 'personal' | 'global';
export const VISIBILITIES: readonly Visibility[] = ['personal', 'global'];

/** An author or editor (the agent view), the fields read here. */
export interface MacroUser {
  id: number;
  name: string;
  available_name?: string;
  email?: string;
}

export interface Macro {
  id: number;
  account_id: number;
  name: string;
  visibility: Visibility;
  actions: RuleAction[];
  created_by?: MacroUser;
  updated_by?: MacroUser;
  created_at: number;
  updated_at: number;
}

/** One action's outcome in a run. */
export interface Step {
  action: string;
  ok: boolean;
  error?: string;
}

/** `POST /macros/{id}/execute`'s answer, per conversation. */
export interface Executed {
  conversation_id: number;
  results: Step[];
}

/** May `userId` change or delete the macro: a global one administrators, a personal one its
 * author (as the server decides). */
export function mayChange(m: Macro, userId: number | undefined, admin: boolean): boolean {
  return m.visibility === 'global' ? admin : userId !== undefined && m.created_by?.id === userId;
}

/** Global ones first, then by name. */
export function sorted(list: readonly Macro[]): Macro[] {
  return [...list].sort((a, b) => Number(b.visibility === 'global') - Number(a.visibility === 'global') || a.name.localeCompare(b.name) || a.id - b.id);
}

/** The steps that failed in a run: the conversation each was on and its place in the macro
 * (`index`, from 0). */
export function failures(executed: readonly Executed[]): (Step & { conversation_id: number; index: number })[] {
  return executed.flatMap((e) => (e.results ?? []).flatMap((r, index) => (r.ok ? [] : [{ ...r, conversation_id: e.conversation_id, index }])));
}
