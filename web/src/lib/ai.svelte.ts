// The AI assistant as the screens see it during a session: the account's hook, read once
// (any agent may) and replaced when an administrator saves it, and the inboxes whose
// conversations the server said may not be sent to the model — there the controls that read a
// conversation (suggest, summarize, translate a message) are put away after the note is shown.
import { loadHook, type Hook } from './assistant';
import { session } from './state.svelte';

export const ai = $state({ hook: null as Hook | null, off: [] as number[] });
let loadedFor = 0;

/** Reads the account's hook once per account (the composer, the messages and the header ask). */
export function ensureAssistant() {
  if (!session.accountId || loadedFor === session.accountId) return;
  const account = (loadedFor = session.accountId);
  ai.hook = null;
  ai.off = [];
  loadHook()
    .then((hook) => {
      if (loadedFor === account) ai.hook = hook;
    })
    .catch(() => {
      // Read again next time a screen asks.
      if (loadedFor === account) loadedFor = 0;
    });
}

/** The hook an administrator just saved (or deleted: null). */
export function useHook(hook: Hook | null) {
  loadedFor = session.accountId;
  ai.hook = hook;
  ai.off = [];
}

export function aiEnabled(): boolean {
  return ai.hook?.status === true;
}

/** Whether the controls that send this inbox's conversations to the model are shown. */
export function aiReads(inboxId: number | undefined): boolean {
  return aiEnabled() && (inboxId === undefined || !ai.off.includes(inboxId));
}

export function markCustomerDataOff(inboxId: number | undefined) {
  if (inboxId !== undefined && !ai.off.includes(inboxId)) ai.off = [...ai.off, inboxId];
}
