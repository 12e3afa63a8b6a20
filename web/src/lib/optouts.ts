// A contact's opt-outs of campaign messages (journey campaigns): the channel types they are not
// to get them through, or `all`. What the contact panel needs, kept apart from ./journeys (whose
// code stays in the settings chunk). Pure functions, unit-tested in tests/unit/journeys.test.mjs.

/** Channel types by their short names, in the order the panel lists them. */
export const OPT_OUT_CHANNELS = ['email', 'sms', 'whatsapp', 'web_widget', 'api', 'telegram', 'facebook_page', 'instagram'] as const;
export type OptOutChannel = (typeof OPT_OUT_CHANNELS)[number];
/** Every channel at once. */
export const ALL = 'all';

/** `GET|PUT …/contacts/{id}/opt_outs` (`payload`, and the body of a PUT). */
export interface OptOuts {
  channels: string[];
}

/** The panel's choice as the server keeps it: `all` alone when every channel is out, else
 * the channels ticked, each once, sorted (as the server lists them). */
export function optOutBody(channels: readonly string[], all: boolean): OptOuts {
  if (all) return { channels: [ALL] };
  return { channels: [...new Set(channels.map((c) => c.trim()).filter(Boolean))].sort() };
}

/** The stored opt-outs as the panel's form starts: `all`, and the channels ticked. */
export function optOutDraft(stored: readonly string[]): { all: boolean; channels: string[] } {
  return { all: stored.includes(ALL), channels: stored.filter((c) => c !== ALL) };
}

export type T = (key: string, vars?: Record<string, string | number>) => string;

/** A channel type's name in the catalogue (`channel.email`…); an unknown one as it is. */
export function channelName(channel: string, t: T): string {
  return (OPT_OUT_CHANNELS as readonly string[]).includes(channel) ? t(`channel.${channel}`) : channel;
}

/** The opt-outs in words: "Receives campaign messages", "Opted out of: Email and SMS", "Opted
 * out of every channel". */
export function optOutWords(channels: readonly string[], t: T, locale: string): string {
  if (!channels.length) return t('opt_outs.receives');
  if (channels.includes(ALL)) return t('opt_outs.all_out');
  const order = (c: string) => {
    const at = (OPT_OUT_CHANNELS as readonly string[]).indexOf(c);
    return at < 0 ? OPT_OUT_CHANNELS.length : at;
  };
  const names = [...channels].sort((a, b) => order(a) - order(b) || a.localeCompare(b)).map((c) => channelName(c, t));
  return t('opt_outs.out_of', { channels: new Intl.ListFormat(locale, { style: 'long', type: 'conjunction' }).format(names) });
}
