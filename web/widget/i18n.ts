// The widget's own small catalogue (en, pt-BR, pl); the browser tests check it is complete.
export const catalogues = {
  en: {
    open: 'Open chat', close: 'Close chat', title: 'Chat with us', online: 'We are online', offline: 'We are away right now',
    offline_help: 'Leave your email and we will answer you there.', start: 'Start chat', name: 'Name', email: 'Email',
    phone_number: 'Phone', message: 'Message', send: 'Send', attach: 'Attach a file', placeholder: 'Type your message…',
    typing: '{name} is typing…', agent: 'Agent', you: 'You', error: 'Something went wrong. Please try again.',
    resolved: 'This conversation was resolved. Write to start again.', unread: '{count} unread messages',
    file_too_large: 'The file is too large (at most {size} MB).', file_type: 'This file type is not accepted.',
    save_email: 'Save', email_saved: 'Thanks! We will reply by email too.', required: 'required', sending: 'Sending…',
  },
  'pt-BR': {
    open: 'Abrir chat', close: 'Fechar chat', title: 'Fale conosco', online: 'Estamos online', offline: 'Estamos ausentes no momento',
    offline_help: 'Deixe seu e-mail e responderemos por lá.', start: 'Iniciar conversa', name: 'Nome', email: 'E-mail',
    phone_number: 'Telefone', message: 'Mensagem', send: 'Enviar', attach: 'Anexar arquivo', placeholder: 'Digite sua mensagem…',
    typing: '{name} está digitando…', agent: 'Atendente', you: 'Você', error: 'Algo deu errado. Tente novamente.',
    resolved: 'Esta conversa foi resolvida. Escreva para recomeçar.', unread: '{count} mensagens não lidas',
    file_too_large: 'O arquivo é grande demais (no máximo {size} MB).', file_type: 'Este tipo de arquivo não é aceito.',
    save_email: 'Salvar', email_saved: 'Obrigado! Também responderemos por e-mail.', required: 'obrigatório', sending: 'Enviando…',
  },
  pl: {
    open: 'Otwórz czat', close: 'Zamknij czat', title: 'Porozmawiaj z nami', online: 'Jesteśmy dostępni', offline: 'Obecnie nas nie ma',
    offline_help: 'Zostaw swój e-mail, a odpowiemy na niego.', start: 'Rozpocznij czat', name: 'Imię', email: 'E-mail',
    phone_number: 'Telefon', message: 'Wiadomość', send: 'Wyślij', attach: 'Załącz plik', placeholder: 'Napisz wiadomość…',
    typing: '{name} pisze…', agent: 'Konsultant', you: 'Ty', error: 'Coś poszło nie tak. Spróbuj ponownie.',
    resolved: 'Ta rozmowa została zakończona. Napisz, aby zacząć od nowa.', unread: 'Nieprzeczytane wiadomości: {count}',
    file_too_large: 'Plik jest za duży (maksymalnie {size} MB).', file_type: 'Ten typ pliku nie jest akceptowany.',
    save_email: 'Zapisz', email_saved: 'Dziękujemy! Odpowiemy także e-mailem.', required: 'wymagane', sending: 'Wysyłanie…',
  },
} as const;

export type Key = keyof (typeof catalogues)['en'];
export type Locale = keyof typeof catalogues;

export function pickLocale(wanted: string | null | undefined): Locale {
  for (const lang of [wanted, ...(navigator.languages ?? [navigator.language])]) {
    const l = (lang ?? '').toLowerCase();
    if (l.startsWith('pt')) return 'pt-BR';
    if (l.startsWith('pl')) return 'pl';
    if (l.startsWith('en')) return 'en';
  }
  return 'en';
}
