// Channel kinds: a short icon (emoji keeps the bundle small) and a catalogue key.

const KINDS: Record<string, { icon: string; key: string; filter: string }> = {
  'Channel::Api': { icon: '🔌', key: 'channel.api', filter: 'api' },
  'Channel::Email': { icon: '✉️', key: 'channel.email', filter: 'email' },
  'Channel::WebWidget': { icon: '💬', key: 'channel.web_widget', filter: 'web_widget' },
  'Channel::Whatsapp': { icon: '🟢', key: 'channel.whatsapp', filter: 'whatsapp' },
  'Channel::Sms': { icon: '📱', key: 'channel.sms', filter: 'sms' },
  'Channel::Telegram': { icon: '✈️', key: 'channel.telegram', filter: 'telegram' },
};

export function channelIcon(type: string | undefined): string {
  return KINDS[type ?? '']?.icon ?? '🔌';
}

export function channelKey(type: string | undefined): string {
  return KINDS[type ?? '']?.key ?? 'channel.api';
}

export const CHANNEL_FILTERS = ['api', 'email', 'web_widget'];
