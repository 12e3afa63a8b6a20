// Channel kinds: an icon name (drawn by ChannelIcon.svelte as inline SVG, so it renders without
// emoji or icon fonts) and a catalogue key.

export type IconName = 'api' | 'email' | 'web_widget' | 'whatsapp' | 'sms' | 'telegram' | 'messenger' | 'instagram';

const KINDS: Record<string, { icon: IconName; key: string }> = {
  'Channel::Api': { icon: 'api', key: 'channel.api' },
  'Channel::Email': { icon: 'email', key: 'channel.email' },
  'Channel::WebWidget': { icon: 'web_widget', key: 'channel.web_widget' },
  'Channel::Whatsapp': { icon: 'whatsapp', key: 'channel.whatsapp' },
  'Channel::Sms': { icon: 'sms', key: 'channel.sms' },
  'Channel::Telegram': { icon: 'telegram', key: 'channel.telegram' },
  'Channel::FacebookPage': { icon: 'messenger', key: 'channel.facebook_page' },
  'Channel::Instagram': { icon: 'instagram', key: 'channel.instagram' },
};

export function channelIcon(type: string | undefined): IconName {
  return KINDS[type ?? '']?.icon ?? 'api';
}

export function channelKey(type: string | undefined): string {
  return KINDS[type ?? '']?.key ?? 'channel.api';
}

export const CHANNEL_FILTERS = ['api', 'email', 'web_widget'];
