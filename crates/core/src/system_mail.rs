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
}
