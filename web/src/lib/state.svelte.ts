// Application state shared by the screens: the signed-in profile, the current account and its
// reference data, the route, preferences (theme, notifications) and the realtime socket.
import { get, del } from './api';
import { setLocale } from './i18n.svelte';
import { Realtime } from './realtime';

export const session = $state({
  profile: null as any,
  accountId: 0,
  loading: true,
});

export const refs = $state({
  inboxes: [] as any[],
  agents: [] as any[],
  teams: [] as any[],
  labels: [] as any[],
  canned: [] as any[],
});

export const route = $state({ path: location.pathname });

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
  const a = session.profile?.accounts?.find((x: any) => x.id === session.accountId);
  return a?.role === 'administrator';
}

export async function loadProfile(): Promise<boolean> {
  try {
    const profile = await get('/api/v1/profile');
    useProfile(profile);
    return true;
  } catch {
    session.profile = null;
    return false;
  } finally {
    session.loading = false;
  }
}

export function useProfile(profile: any) {
  session.profile = profile;
  if (profile.locale) setLocale(profile.locale);
  const fromPath = Number(/^\/app\/accounts\/(\d+)/.exec(location.pathname)?.[1]);
  const ids = (profile.accounts ?? []).map((a: any) => a.id);
  session.accountId = ids.includes(fromPath) ? fromPath : (profile.account_id ?? ids[0] ?? 0);
  realtime.start();
}

export async function loadRefs() {
  const [inboxes, agents, teams, labels, canned] = await Promise.all([
    get(acc('/inboxes')).catch(() => ({ payload: [] })),
    get(acc('/agents')).catch(() => []),
    get(acc('/teams')).catch(() => []),
    get(acc('/labels')).catch(() => ({ payload: [] })),
    get(acc('/canned_responses')).catch(() => []),
  ]);
  refs.inboxes = inboxes.payload ?? inboxes;
  refs.agents = agents.payload ?? agents;
  refs.teams = teams.payload ?? teams;
  refs.labels = labels.payload ?? labels;
  refs.canned = canned.payload ?? canned;
}

export function inboxById(id: number | undefined): any {
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
