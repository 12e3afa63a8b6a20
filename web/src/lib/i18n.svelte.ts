// Every user-facing string goes through t(). Catalogues are flat JSON files, one per language;
// en is the reference and a unit test checks the others are complete. A key missing at run time
// is recorded on window.__i18nMissing (the browser tests fail on any) and shown as the key.
import en from '../i18n/en.json';
import ptBR from '../i18n/pt-BR.json';
import pl from '../i18n/pl.json';

export const LOCALES = ['en', 'pt-BR', 'pl'] as const;
export type Locale = (typeof LOCALES)[number];
const catalogues: Record<Locale, Record<string, string>> = { en, 'pt-BR': ptBR, pl };

export function browserLocale(): Locale {
  for (const lang of navigator.languages ?? [navigator.language]) {
    const l = lang.toLowerCase();
    if (l.startsWith('pt')) return 'pt-BR';
    if (l.startsWith('pl')) return 'pl';
    if (l.startsWith('en')) return 'en';
  }
  return 'en';
}

function stored(): Locale | null {
  const v = localStorage.getItem('tl.locale');
  return (LOCALES as readonly string[]).includes(v ?? '') ? (v as Locale) : null;
}

export const i18n = $state({ locale: stored() ?? browserLocale() });

export function setLocale(locale: string | null | undefined) {
  if (!locale || !(LOCALES as readonly string[]).includes(locale)) return;
  i18n.locale = locale as Locale;
  localStorage.setItem('tl.locale', locale);
  document.documentElement.lang = locale;
}

declare global {
  interface Window {
    /** Catalogue keys looked up but missing, as `locale:key` (read by the browser tests). */
    __i18nMissing?: string[];
  }
}

const missing = (window.__i18nMissing ??= []);

/** Whether the catalogues name `key` (a name that may be missing by design, such as a business
 * event type another system made up, is looked up here first, not recorded as missing). */
export function hasKey(key: string): boolean {
  return key in catalogues[i18n.locale] || key in en;
}

export function t(key: string, vars?: Record<string, string | number>): string {
  let text = catalogues[i18n.locale][key];
  if (text === undefined) {
    if (!missing.includes(`${i18n.locale}:${key}`)) missing.push(`${i18n.locale}:${key}`);
    text = en[key as keyof typeof en] ?? key;
  }
  if (vars) {
    for (const [name, value] of Object.entries(vars)) {
      // `#{id}` is an identifier, written as it is ("#1011"); other numbers as the language
      // writes them ("1.000 linhas").
      text = text.replaceAll(`#{${name}}`, `#${value}`);
      text = text.replaceAll(`{${name}}`, typeof value === 'number' ? formatNumber(value) : value);
    }
  }
  return text;
}

export function formatNumber(n: number): string {
  return new Intl.NumberFormat(i18n.locale).format(n);
}

export function formatTime(unixSeconds: number | undefined | null): string {
  if (!unixSeconds) return '';
  const date = new Date(unixSeconds * 1000);
  const sameDay = date.toDateString() === new Date().toDateString();
  return new Intl.DateTimeFormat(
    i18n.locale,
    sameDay ? { timeStyle: 'short' } : { dateStyle: 'medium', timeStyle: 'short' },
  ).format(date);
}

export function formatFullTime(unixSeconds: number | undefined | null): string {
  if (!unixSeconds) return '';
  return new Intl.DateTimeFormat(i18n.locale, { dateStyle: 'full', timeStyle: 'long' }).format(
    new Date(unixSeconds * 1000),
  );
}

export function formatRelative(unixSeconds: number | undefined | null): string {
  if (!unixSeconds) return '';
  const seconds = unixSeconds - Date.now() / 1000;
  const rtf = new Intl.RelativeTimeFormat(i18n.locale, { numeric: 'auto' });
  const abs = Math.abs(seconds);
  if (abs < 60) return rtf.format(Math.round(seconds), 'second');
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(seconds / 3600), 'hour');
  return rtf.format(Math.round(seconds / 86400), 'day');
}

export function formatMoney(amount: number, currency: string): string {
  try {
    return new Intl.NumberFormat(i18n.locale, { style: 'currency', currency }).format(amount);
  } catch {
    return `${formatNumber(amount)} ${currency}`;
  }
}
