//! The words of the mail Throughline itself sends its users — an invitation to choose a password
//! and join an account, a password reset — in English, Brazilian Portuguese and Polish. Plain
//! text only: a link and what it is for, nothing a filter would take for marketing.

/// A letter's subject and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Letter {
    pub subject: String,
    pub text: String,
}

/// The language of a user's letters: their profile's, else their account's, else English.
fn lang(locale: Option<&str>) -> &'static str {
    match locale.map(|l| l.trim().to_ascii_lowercase()) {
        Some(l) if l.starts_with("pt") => "pt-BR",
        Some(l) if l.starts_with("pl") => "pl",
        _ => "en",
    }
}

/// An administrator added the user to an account: choose a password within `days` days.
pub fn invitation(
    locale: Option<&str>,
    name: &str,
    inviter: &str,
    account: &str,
    link: &str,
    days: i64,
) -> Letter {
    match lang(locale) {
        "pt-BR" => Letter {
            subject: format!("Convite para {account} no Throughline"),
            text: format!(
                "Olá, {name}!\n\n{inviter} convidou você para atender clientes em {account} no \
                 Throughline.\n\nEscolha sua senha por este link (válido por {days} dias, uma \
                 única vez):\n{link}\n\nSe você não esperava este convite, ignore este e-mail.\n"
            ),
        },
        "pl" => Letter {
            subject: format!("Zaproszenie do {account} w Throughline"),
            text: format!(
                "Dzień dobry, {name}!\n\n{inviter} zaprasza Cię do obsługi klientów w {account} \
                 w Throughline.\n\nUstaw hasło, korzystając z tego linku (ważny {days} dni, \
                 jednorazowy):\n{link}\n\nJeśli nie spodziewasz się tego zaproszenia, zignoruj \
                 tę wiadomość.\n"
            ),
        },
        _ => Letter {
            subject: format!("You are invited to {account} on Throughline"),
            text: format!(
                "Hello {name},\n\n{inviter} invited you to help customers in {account} on \
                 Throughline.\n\nChoose your password with this link (it works once, for \
                 {days} days):\n{link}\n\nIf you did not expect this invitation, ignore this \
                 email.\n"
            ),
        },
    }
}

/// Someone who has an account already was invited to another one: they accept it after
/// signing in (nothing is granted before).
pub fn membership_invitation(
    locale: Option<&str>,
    inviter: &str,
    account: &str,
    sign_in: &str,
) -> Letter {
    match lang(locale) {
        "pt-BR" => Letter {
            subject: format!("Convite para {account} no Throughline"),
            text: format!(
                "Olá!\n\n{inviter} convidou você para atender clientes em {account} no \
                 Throughline. Entre com sua conta de sempre e aceite o convite no seu perfil:\n\
                 {sign_in}\n\nSe você não esperava este convite, recuse-o ou ignore este \
                 e-mail.\n"
            ),
        },
        "pl" => Letter {
            subject: format!("Zaproszenie do {account} w Throughline"),
            text: format!(
                "Dzień dobry!\n\n{inviter} zaprasza Cię do obsługi klientów w {account} w \
                 Throughline. Zaloguj się swoim kontem i przyjmij zaproszenie w profilu:\n\
                 {sign_in}\n\nJeśli nie spodziewasz się tego zaproszenia, odrzuć je lub \
                 zignoruj tę wiadomość.\n"
            ),
        },
        _ => Letter {
            subject: format!("You are invited to {account} on Throughline"),
            text: format!(
                "Hello,\n\n{inviter} invited you to help customers in {account} on \
                 Throughline. Sign in with your usual account and accept the invitation in \
                 your profile:\n{sign_in}\n\nIf you did not expect this invitation, decline \
                 it or ignore this email.\n"
            ),
        },
    }
}

/// The user asked to reset their password: a link that works for `minutes` minutes.
pub fn password_reset(locale: Option<&str>, name: &str, link: &str, minutes: i64) -> Letter {
    match lang(locale) {
        "pt-BR" => Letter {
            subject: "Redefinir sua senha do Throughline".into(),
            text: format!(
                "Olá, {name}!\n\nRecebemos um pedido para redefinir sua senha. Escolha uma nova \
                 por este link (válido por {minutes} minutos, uma única vez):\n{link}\n\nSe não \
                 foi você, ignore este e-mail: sua senha continua a mesma.\n"
            ),
        },
        "pl" => Letter {
            subject: "Resetowanie hasła do Throughline".into(),
            text: format!(
                "Dzień dobry, {name}!\n\nOtrzymaliśmy prośbę o zresetowanie Twojego hasła. Ustaw \
                 nowe, korzystając z tego linku (ważny {minutes} minut, jednorazowy):\n{link}\n\n\
                 Jeśli to nie Ty, zignoruj tę wiadomość: hasło pozostaje bez zmian.\n"
            ),
        },
        _ => Letter {
            subject: "Reset your Throughline password".into(),
            text: format!(
                "Hello {name},\n\nSomeone asked to reset your password. Choose a new one with \
                 this link (it works once, for {minutes} minutes):\n{link}\n\nIf it was not you, \
                 ignore this email: your password stays as it is.\n"
            ),
        },
    }
}

/// One line of a digest: what happened, in which conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestLine {
    pub kind: crate::notification::NotificationType,
    pub display_id: i64,
    /// A short excerpt of the message, when there is one.
    pub excerpt: String,
}

/// The unread notifications of the last while, in one letter, with a link to the app.
pub fn digest(
    locale: Option<&str>,
    name: &str,
    account: &str,
    lines: &[DigestLine],
    link: &str,
) -> Letter {
    use crate::notification::NotificationType as K;
    let lang = lang(locale);
    let what = |l: &DigestLine| -> String {
        let id = l.display_id;
        let said = if l.excerpt.is_empty() {
            String::new()
        } else {
            format!(": {}", l.excerpt)
        };
        match (lang, l.kind) {
            ("pt-BR", K::ConversationMention) => {
                format!("Mencionaram você na conversa #{id}{said}")
            }
            ("pt-BR", K::ConversationAssignment) => {
                format!("A conversa #{id} foi atribuída a você")
            }
            ("pt-BR", K::ConversationCreation) => format!("Nova conversa #{id}"),
            ("pt-BR", _) => format!("Nova mensagem na conversa #{id}{said}"),
            ("pl", K::ConversationMention) => format!("Wspomniano o Tobie w rozmowie #{id}{said}"),
            ("pl", K::ConversationAssignment) => format!("Przydzielono Ci rozmowę #{id}"),
            ("pl", K::ConversationCreation) => format!("Nowa rozmowa #{id}"),
            ("pl", _) => format!("Nowa wiadomość w rozmowie #{id}{said}"),
            (_, K::ConversationMention) => {
                format!("You were mentioned in conversation #{id}{said}")
            }
            (_, K::ConversationAssignment) => format!("Conversation #{id} was assigned to you"),
            (_, K::ConversationCreation) => format!("New conversation #{id}"),
            (_, _) => format!("New message in conversation #{id}{said}"),
        }
    };
    let list: String = lines.iter().map(|l| format!("- {}\n", what(l))).collect();
    let n = lines.len();
    match lang {
        "pt-BR" => Letter {
            subject: format!("{n} notificações não lidas em {account}"),
            text: format!(
                "Olá, {name}!\n\nEnquanto você estava fora do Throughline:\n\n{list}\nAbra \
                 o Throughline para responder:\n{link}\n\nVocê escolhe o que chega por e-mail \
                 no seu perfil.\n"
            ),
        },
        "pl" => Letter {
            subject: format!("Nieprzeczytane powiadomienia w {account}: {n}"),
            text: format!(
                "Dzień dobry, {name}!\n\nPod Twoją nieobecność w Throughline:\n\n{list}\n\
                 Otwórz Throughline, aby odpowiedzieć:\n{link}\n\nTo, co przychodzi e-mailem, \
                 ustawisz w swoim profilu.\n"
            ),
        },
        _ => Letter {
            subject: format!("{n} unread notifications in {account}"),
            text: format!(
                "Hello {name},\n\nWhile you were away from Throughline:\n\n{list}\nOpen \
                 Throughline to answer:\n{link}\n\nYou choose what reaches you by email in \
                 your profile.\n"
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_speak_the_users_language_and_carry_the_link() {
        let link = "https://help.acme.test/app/auth/password/edit?reset_password_token=t.k";
        for (locale, word) in [
            (Some("pt-BR"), "senha"),
            (Some("pl"), "hasło"),
            (Some("en"), "password"),
            (None, "password"),
            (Some("de"), "password"),
        ] {
            let invited = invitation(locale, "Łucja", "Ana", "Acme", link, 7);
            assert!(invited.text.contains(link), "{locale:?}");
            assert!(invited.text.contains(word), "{locale:?}");
            assert!(invited.subject.contains("Acme"));
            assert!(invited.text.contains("Łucja"));
            let joined =
                membership_invitation(locale, "Ana", "Acme", "https://help.acme.test/login");
            assert!(joined.text.contains("https://help.acme.test/login"));
            assert!(joined.subject.contains("Acme"));
            let reset = password_reset(locale, "Łucja", link, 60);
            assert!(reset.text.contains(link));
            assert!(reset.text.contains("60"));
        }
    }

    #[test]
    fn a_digest_lists_each_notification_in_the_users_language() {
        use crate::notification::NotificationType as K;
        let lines = [
            DigestLine {
                kind: K::ConversationMention,
                display_id: 7,
                excerpt: "zobacz to".into(),
            },
            DigestLine {
                kind: K::ConversationAssignment,
                display_id: 9,
                excerpt: String::new(),
            },
        ];
        let pl = digest(
            Some("pl"),
            "Zofia",
            "Sklep",
            &lines,
            "https://t.example/app",
        );
        assert_eq!(pl.subject, "Nieprzeczytane powiadomienia w Sklep: 2");
        assert!(
            pl.text
                .contains("- Wspomniano o Tobie w rozmowie #7: zobacz to\n"),
            "{}",
            pl.text
        );
        assert!(
            pl.text.contains("- Przydzielono Ci rozmowę #9\n"),
            "{}",
            pl.text
        );
        assert!(pl.text.contains("https://t.example/app"));
        let en = digest(None, "Ana", "Shop", &lines[..1], "https://t.example/app");
        assert_eq!(en.subject, "1 unread notifications in Shop");
        assert!(
            en.text
                .contains("You were mentioned in conversation #7: zobacz to")
        );
        let pt = digest(Some("pt-BR"), "Ana", "Loja", &lines[1..], "x");
        assert!(pt.text.contains("A conversa #9 foi atribuída a você"));
    }
}
