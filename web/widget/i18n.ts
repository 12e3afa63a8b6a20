// The widget's own small catalogue (en, pt-BR, pl); the browser tests check it is complete.
export const catalogues = {
  en: {
    callback_open: 'Call me back', callback_title: 'We call you', callback_phone: 'Your phone number, with the country code',
    callback_when: 'When suits you (optional)', callback_note: 'Anything we should know? (optional)', callback_send: 'Ask for a call',
    callback_cancel: 'Cancel', callback_sent: 'Thanks! We will call you at {phone}.',
    call_voice: 'Call us', call_video: 'Video call', call_calling: 'Calling… someone will answer in a moment.', call_talking: 'On a call with {name}',
    call_ended: 'Call ended', call_missed: 'Nobody could answer just now. Leave us a message and we will reply.', call_failed: 'The call could not connect. Please try again.',
    call_no_media: 'Allow the microphone (and camera) to call us.', call_hang_up: 'Hang up', call_mute: 'Mute', call_unmute: 'Unmute',
    call_camera_off: 'Turn camera off', call_camera_on: 'Turn camera on', call_close: 'Close', call_remote: '{name} on the call',
    tab_chat: 'Chat', tab_help: 'Help', help_search: 'Search the help center', help_search_button: 'Search',
    help_popular: 'Popular articles', help_results: 'Articles found', help_none: 'No article matches. Ask us in the chat.',
    help_back: 'Back to articles', help_open: 'Open in a new tab', help_helpful: 'Was this helpful?', help_yes: 'Yes', help_no: 'No',
    help_thanks: 'Thanks for telling us!', help_still: 'Still need help? Chat with us', help_loading: 'Loading…',
    open: 'Open chat', close: 'Close chat', title: 'Chat with us', online: 'We are online',
    offline_help: 'Leave your email and we will answer you there.', start: 'Start chat', name: 'Name', email: 'Email',
    phone_number: 'Phone', message: 'Message', send: 'Send', attach: 'Attach a file', placeholder: 'Type your message…',
    typing: '{name} is typing…', agent: 'Agent', you: 'You', error: 'Something went wrong. Please try again.',
    resolved: 'This conversation was resolved. Write to start again.', unread: '{count} unread messages',
    file_too_large: 'The file is too large (at most {size} MB).', file_type: 'This file type is not accepted.',
    save_email: 'Save', email_saved: 'Thanks! We will reply by email too.', required: 'required', sending: 'Sending…',
    back_at: 'We\'re away — back at {time}', back_on: 'We\'re away — back {when}',
    reply_minutes: 'We typically reply in a few minutes', reply_hours: 'We typically reply in a few hours',
    reply_day: 'We typically reply in a day', reply_asap: 'We\'ll reply as soon as we can',
    survey_csat: 'How would you rate this conversation?', survey_nps: 'How likely are you to recommend us to a friend?',
    rating_of: '{n} of {max}', nps_low: 'Not likely', nps_high: 'Very likely', survey_comment: 'Tell us more (optional)',
    survey_thanks: 'Thank you! You rated {rating}/{max}', survey_error: 'Your rating could not be sent. Please try again.',
  },
  'pt-BR': {
    callback_open: 'Ligue para mim', callback_title: 'Nós ligamos para você', callback_phone: 'Seu telefone, com o código do país',
    callback_when: 'Melhor horário (opcional)', callback_note: 'Algo que devemos saber? (opcional)', callback_send: 'Pedir uma ligação',
    callback_cancel: 'Cancelar', callback_sent: 'Obrigado! Vamos ligar para {phone}.',
    call_voice: 'Ligar para nós', call_video: 'Chamada de vídeo', call_calling: 'Chamando… alguém vai atender em instantes.', call_talking: 'Em chamada com {name}',
    call_ended: 'Chamada encerrada', call_missed: 'Ninguém pôde atender agora. Deixe uma mensagem e responderemos.', call_failed: 'Não foi possível conectar a chamada. Tente novamente.',
    call_no_media: 'Permita o microfone (e a câmera) para nos ligar.', call_hang_up: 'Desligar', call_mute: 'Silenciar', call_unmute: 'Ativar som',
    call_camera_off: 'Desligar câmera', call_camera_on: 'Ligar câmera', call_close: 'Fechar', call_remote: '{name} na chamada',
    tab_chat: 'Conversa', tab_help: 'Ajuda', help_search: 'Pesquisar na central de ajuda', help_search_button: 'Pesquisar',
    help_popular: 'Artigos mais lidos', help_results: 'Artigos encontrados', help_none: 'Nenhum artigo corresponde. Pergunte no chat.',
    help_back: 'Voltar aos artigos', help_open: 'Abrir em nova aba', help_helpful: 'Isso foi útil?', help_yes: 'Sim', help_no: 'Não',
    help_thanks: 'Obrigado por nos contar!', help_still: 'Ainda precisa de ajuda? Fale conosco', help_loading: 'Carregando…',
    open: 'Abrir chat', close: 'Fechar chat', title: 'Fale conosco', online: 'Estamos online',
    offline_help: 'Deixe seu e-mail e responderemos por lá.', start: 'Iniciar conversa', name: 'Nome', email: 'E-mail',
    phone_number: 'Telefone', message: 'Mensagem', send: 'Enviar', attach: 'Anexar arquivo', placeholder: 'Digite sua mensagem…',
    typing: '{name} está digitando…', agent: 'Atendente', you: 'Você', error: 'Algo deu errado. Tente novamente.',
    resolved: 'Esta conversa foi resolvida. Escreva para recomeçar.', unread: '{count} mensagens não lidas',
    file_too_large: 'O arquivo é grande demais (no máximo {size} MB).', file_type: 'Este tipo de arquivo não é aceito.',
    save_email: 'Salvar', email_saved: 'Obrigado! Também responderemos por e-mail.', required: 'obrigatório', sending: 'Enviando…',
    back_at: 'Estamos ausentes — voltamos às {time}', back_on: 'Estamos ausentes — voltamos: {when}',
    reply_minutes: 'Costumamos responder em alguns minutos', reply_hours: 'Costumamos responder em algumas horas',
    reply_day: 'Costumamos responder em um dia', reply_asap: 'Responderemos assim que possível',
    survey_csat: 'Como você avalia este atendimento?', survey_nps: 'Qual a probabilidade de você nos recomendar a um amigo?',
    rating_of: '{n} de {max}', nps_low: 'Pouco provável', nps_high: 'Muito provável', survey_comment: 'Conte-nos mais (opcional)',
    survey_thanks: 'Obrigado! Sua nota: {rating}/{max}', survey_error: 'Não foi possível enviar sua avaliação. Tente novamente.',
  },
  pl: {
    callback_open: 'Oddzwońcie do mnie', callback_title: 'Oddzwonimy do Ciebie', callback_phone: 'Twój numer telefonu z kodem kraju',
    callback_when: 'Dogodny termin (opcjonalnie)', callback_note: 'Coś, o czym powinniśmy wiedzieć? (opcjonalnie)', callback_send: 'Poproś o telefon',
    callback_cancel: 'Anuluj', callback_sent: 'Dziękujemy! Zadzwonimy pod numer {phone}.',
    call_voice: 'Zadzwoń do nas', call_video: 'Rozmowa wideo', call_calling: 'Łączenie… ktoś zaraz odbierze.', call_talking: 'Rozmowa z {name}',
    call_ended: 'Rozmowa zakończona', call_missed: 'Nikt nie mógł teraz odebrać. Zostaw wiadomość, a odpowiemy.', call_failed: 'Nie udało się połączyć. Spróbuj ponownie.',
    call_no_media: 'Zezwól na mikrofon (i kamerę), aby do nas zadzwonić.', call_hang_up: 'Rozłącz', call_mute: 'Wycisz', call_unmute: 'Włącz dźwięk',
    call_camera_off: 'Wyłącz kamerę', call_camera_on: 'Włącz kamerę', call_close: 'Zamknij', call_remote: '{name} w rozmowie',
    tab_chat: 'Czat', tab_help: 'Pomoc', help_search: 'Szukaj w centrum pomocy', help_search_button: 'Szukaj',
    help_popular: 'Popularne artykuły', help_results: 'Znalezione artykuły', help_none: 'Żaden artykuł nie pasuje. Zapytaj nas na czacie.',
    help_back: 'Wróć do artykułów', help_open: 'Otwórz w nowej karcie', help_helpful: 'Czy to było pomocne?', help_yes: 'Tak', help_no: 'Nie',
    help_thanks: 'Dziękujemy za opinię!', help_still: 'Nadal potrzebujesz pomocy? Napisz do nas', help_loading: 'Ładowanie…',
    open: 'Otwórz czat', close: 'Zamknij czat', title: 'Porozmawiaj z nami', online: 'Jesteśmy dostępni',
    offline_help: 'Zostaw swój e-mail, a odpowiemy na niego.', start: 'Rozpocznij czat', name: 'Imię', email: 'E-mail',
    phone_number: 'Telefon', message: 'Wiadomość', send: 'Wyślij', attach: 'Załącz plik', placeholder: 'Napisz wiadomość…',
    typing: '{name} pisze…', agent: 'Konsultant', you: 'Ty', error: 'Coś poszło nie tak. Spróbuj ponownie.',
    resolved: 'Ta rozmowa została zakończona. Napisz, aby zacząć od nowa.', unread: 'Nieprzeczytane wiadomości: {count}',
    file_too_large: 'Plik jest za duży (maksymalnie {size} MB).', file_type: 'Ten typ pliku nie jest akceptowany.',
    save_email: 'Zapisz', email_saved: 'Dziękujemy! Odpowiemy także e-mailem.', required: 'wymagane', sending: 'Wysyłanie…',
    back_at: 'Jesteśmy niedostępni — wracamy o {time}', back_on: 'Jesteśmy niedostępni — wracamy: {when}',
    reply_minutes: 'Zwykle odpowiadamy w ciągu kilku minut', reply_hours: 'Zwykle odpowiadamy w ciągu kilku godzin',
    reply_day: 'Zwykle odpowiadamy w ciągu doby', reply_asap: 'Odpowiemy najszybciej, jak to możliwe',
    survey_csat: 'Jak oceniasz tę rozmowę?', survey_nps: 'Jak bardzo prawdopodobne jest, że polecisz nas znajomym?',
    rating_of: '{n} z {max}', nps_low: 'Mało prawdopodobne', nps_high: 'Bardzo prawdopodobne', survey_comment: 'Napisz więcej (opcjonalnie)',
    survey_thanks: 'Dziękujemy! Twoja ocena: {rating}/{max}', survey_error: 'Nie udało się wysłać oceny. Spróbuj ponownie.',
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
