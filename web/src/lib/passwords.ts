// The password rule as the server checks it (core::crypto: 8 to 128 characters) and the
// confirmation, for the page that sets one. Imports nothing (tested in node).

export const MIN_PASSWORD = 8;
export const MAX_PASSWORD = 128;

/** The first problem with a new password, as a field and a catalogue key; `null` when fine. */
export function passwordProblem(password: string, confirmation: string): { field: string; key: string } | null {
  const length = [...password].length;
  if (length < MIN_PASSWORD || length > MAX_PASSWORD) return { field: 'password', key: 'password.rule' };
  if (password !== confirmation) return { field: 'password_confirmation', key: 'password.mismatch' };
  return null;
}
