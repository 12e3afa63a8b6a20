// The agent's presence: the status they chose, and auto-away — an online agent with no
// keyboard, pointer or focus activity for the account's `auto_away_minutes` becomes away, and
// online again at the next activity. Pure (no DOM, no timers: the caller passes the clock in
// milliseconds and sends what a method returns), unit-tested in tests/unit/presence.test.mjs.

export const STATUSES = ['online', 'busy', 'away', 'offline'] as const;
export type PresenceStatus = (typeof STATUSES)[number];

/** The statuses stored with the membership (away is never stored: it is a moment's state). */
export const STORED_STATUSES: readonly PresenceStatus[] = ['online', 'busy', 'offline'];

/** A status the membership can store (what a supervisor can set an agent to). */
export function isStored(value: unknown): boolean {
  return typeof value === 'string' && (STORED_STATUSES as readonly string[]).includes(value);
}

export function isStatus(value: unknown): value is PresenceStatus {
  return typeof value === 'string' && (STATUSES as readonly string[]).includes(value);
}

/** What the server tells about me this soon after I sent a status may be the echo of an
 * earlier one: it does not override what was sent since. */
export const ECHO_MS = 3000;

export class AutoAway {
  status: PresenceStatus;
  /** The current away was set by inactivity (activity brings the agent back online). */
  automatic = false;
  private lastActivity: number;
  private lastSent = Number.NEGATIVE_INFINITY;
  private timeoutMs: number;

  constructor(status: PresenceStatus, minutes: number, now: number) {
    this.status = status;
    this.lastActivity = now;
    this.timeoutMs = AutoAway.toMs(minutes);
  }

  private static toMs(minutes: number): number {
    return Number.isFinite(minutes) && minutes > 0 ? minutes * 60_000 : 0;
  }

  /** The account's `auto_away_minutes` (0: never away automatically). */
  setMinutes(minutes: number) {
    this.timeoutMs = AutoAway.toMs(minutes);
  }

  get minutes(): number {
    return this.timeoutMs / 60_000;
  }

  /** The agent picked a status: it is sent, and no longer automatic. */
  choose(status: PresenceStatus, now: number): PresenceStatus {
    this.status = status;
    this.automatic = false;
    this.lastActivity = now;
    this.lastSent = now;
    return status;
  }

  /** Keyboard, pointer or focus activity: back online after an automatic away (the status to
   * send), else nothing to send. */
  activity(now: number): PresenceStatus | null {
    this.lastActivity = now;
    if (!this.automatic || this.status !== 'away') return null;
    this.automatic = false;
    this.status = 'online';
    this.lastSent = now;
    return 'online';
  }

  /** Activity seen elsewhere (another window of the app, at `at`): it keeps this one from going
   * away, without bringing it back from away (its own activity does that). */
  seen(at: number) {
    if (at > this.lastActivity) this.lastActivity = at;
  }

  /** Checks the idle time: away (to send) once an online agent was idle long enough. */
  tick(now: number): PresenceStatus | null {
    if (this.status !== 'online' || this.timeoutMs === 0 || now - this.lastActivity < this.timeoutMs) return null;
    this.status = 'away';
    this.automatic = true;
    this.lastSent = now;
    return 'away';
  }

  /** Milliseconds until `tick` would set away, if it can. */
  dueIn(now: number): number | null {
    if (this.status !== 'online' || this.timeoutMs === 0) return null;
    return Math.max(0, this.lastActivity + this.timeoutMs - now);
  }

  /** The server says my status is this (a supervisor changed it, or my other window did):
   * taken unless it may be the echo of what this window just sent. True when it changed. */
  told(status: PresenceStatus, now: number): boolean {
    if (status === this.status || now - this.lastSent < ECHO_MS) return false;
    this.status = status;
    this.automatic = false;
    this.lastActivity = now;
    return true;
  }
}
