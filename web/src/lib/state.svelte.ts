// Application state shared by the screens: the signed-in profile, the current account and its
// reference data, the route, preferences (theme, notifications) and the realtime socket.
import { get, del, whenEnrollmentRequired } from './api';
import { setLocale } from './i18n.svelte';
import { Realtime } from './realtime';
import type { SlaPolicy } from './sla';
import { listOf, type Agent, type CannedResponse, type ErasureReceipt, type Inbox, type Label, type Listing, type Profile, type Team, type UserAccount } from './types';

export const session = $state({
  profile: null as Profile | null,
  accountId: 0,
  loading: true,
});

export const refs = $state({
  inboxes: [] as Inbox[],
  agents: [] as Agent[],
  teams: [] as Team[],
  labels: [] as Label[],
  canned: [] as CannedResponse[],
  /** Every member reads them (automation's add_sla picks one). */
  slaPolicies: [] as SlaPolicy[],
});

/** A clock for countdowns that need no second hand (the SLA badges): milliseconds, moved on
 * every 30 seconds. */
export const clock = $state({ now: Date.now() });
setInterval(() => (clock.now = Date.now()), 30_000);

export const route = $state({ path: location.pathname });

/** What the shell shows above the screens until dismissed: the receipt of an erasure just done
 * (the contact's view is gone with the contact). */
export const notice = $state({ erased: null as ErasureReceipt | null });

export const prefs = $state({
  theme: (localStorage.getItem('tl.theme') as 'light' | 'dark' | 'system') || 'system',
  notify: localStorage.getItem('tl.notify') === '1',
});

export const realtime = new Realtime();

export function navigate(path: string, replace = false) {
  if (path === location.pathname) return;
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  route.path = path;
}

addEventListener('popstate', () => (route.path = location.pathname));

export function acc(rest = ''): string {
  return `/api/v1/accounts/${session.accountId}${rest}`;
}

export function applyTheme() {
  const dark =
    prefs.theme === 'dark' || (prefs.theme === 'system' && matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
  localStorage.setItem('tl.theme', prefs.theme);
}

export function isAdmin(): boolean {
  return currentAccount()?.role === 'administrator';
}

/** May watch the live view and change agents' routing profiles and presence: supervisors and
 * administrators. */
export function canSupervise(): boolean {
  const role = currentAccount()?.role;
  return role === 'supervisor' || role === 'administrator';
}

/** My membership of the current account. */
export function currentAccount(): UserAccount | undefined {
  return session.profile?.accounts?.find((x) => x.id === session.accountId);
}

export async function loadProfile(): Promise<boolean> {
  try {
    const profile = await get<Profile>('/api/v1/profile');
    useProfile(profile);
    return true;
  } catch {
    session.profile = null;
    return false;
  } finally {
    session.loading = false;
  }
}

export function useProfile(profile: Profile) {
  session.profile = profile;
  if (profile.locale) setLocale(profile.locale);
  const fromPath = Number(/^\/app\/accounts\/(\d+)/.exec(location.pathname)?.[1]);
  const ids = (profile.accounts ?? []).map((a) => a.id);
  session.accountId = ids.includes(fromPath) ? fromPath : (profile.account_id ?? ids[0] ?? 0);
  // A user who must enrol in two-factor authentication may do nothing else yet.
  if (profile.mfa_enrollment_required) realtime.stop();
  else realtime.start();
}

/** A profile the server answered after a change (an invitation accepted or declined): the
 * accounts may have changed, so the current one is kept only if still mine, and the socket
 * reconnects to hear the accounts it now covers. */
export function updateProfile(profile: Profile) {
  const before = (session.profile?.accounts ?? []).map((a) => a.id).join();
  session.profile = profile;
  const ids = (profile.accounts ?? []).map((a) => a.id);
  if (!ids.includes(session.accountId)) session.accountId = profile.account_id ?? ids[0] ?? 0;
  if (ids.join() !== before && !profile.mfa_enrollment_required) realtime.restart();
}

whenEnrollmentRequired(() => {
  if (!session.profile) return;
  session.profile.mfa_enrollment_required = true;
  realtime.stop();
});

export async function loadRefs() {
  const [inboxes, agents, teams, labels, canned, slaPolicies] = await Promise.all([
    get<Listing<Inbox>>(acc('/inboxes')).catch(() => ({ payload: [] })),
    get<Listing<Agent>>(acc('/agents')).catch(() => []),
    get<Listing<Team>>(acc('/teams')).catch(() => []),
    get<Listing<Label>>(acc('/labels')).catch(() => ({ payload: [] })),
    get<Listing<CannedResponse>>(acc('/canned_responses')).catch(() => []),
    get<Listing<SlaPolicy>>(acc('/sla_policies')).catch(() => []),
  ]);
  refs.inboxes = listOf(inboxes);
  refs.agents = listOf(agents);
  refs.teams = listOf(teams);
  refs.labels = listOf(labels);
  refs.canned = listOf(canned);
  refs.slaPolicies = listOf(slaPolicies);
}

/** The teams I belong to in the current account (ids). */
export function myTeamIds(): number[] {
  return refs.teams.filter((tm) => tm.is_member).map((tm) => tm.id);
}

export function inboxById(id: number | undefined): Inbox | undefined {
  return refs.inboxes.find((i) => i.id === id);
}

export async function signOut() {
  realtime.stop();
  await del('/auth/sign_out').catch(() => {});
  session.profile = null;
  navigate('/login');
}

// Opt-in notification and a short tone for new incoming messages on my conversations.
export function notifyIncoming(title: string, body: string) {
  if (!prefs.notify || document.hasFocus()) return;
  if ('Notification' in window && Notification.permission === 'granted') new Notification(title, { body });
  try {
    const audio = new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.05;
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.15);
  } catch {
    /* no audio */
  }
}
