//! Identity linking: whether a new sender is a contact we already know.
//!
//! Merging two different people is far worse than leaving one person as two contacts (an agent
//! can merge later; a wrong merge shows one customer's history to another). So a link happens
//! only on proof — an address the channel itself proved (the sender's email or phone as the
//! provider delivered it, a `setUser` identifier with a valid HMAC, a CRM id posted with the
//! API token) matching exactly one contact that does not contradict it. Everything weaker
//! becomes a merge suggestion with its reason, for an agent to decide.

use serde::Serialize;

use crate::identity::AddressKind;

/// How much the sender's addresses are worth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// Delivered or signed by something we trust (provider, HMAC, authenticated API).
    Proven,
    /// Typed by the visitor into a form: anyone can claim anyone's email.
    Claimed,
}

/// The sender being resolved.
#[derive(Clone, Debug)]
pub struct Sender {
    /// Normalised addresses (email, E.164 phone, …) the sender comes with. A phone is one only
    /// when it parsed ([`crate::identity::ContactPhone::proof`]): a number kept as given (a
    /// bridge's `+123456`) is never an address here, so it can never link anyone.
    pub addresses: Vec<(AddressKind, String)>,
    /// The business's own id for the person (Chatwoot's contact `identifier`).
    pub external_id: Option<String>,
    pub evidence: Evidence,
}

/// A known contact that shares something with the sender.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub contact_id: i64,
    /// The sender's addresses this contact also has.
    pub shared: Vec<AddressKind>,
    pub external_id: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    SameExternalId,
    SameEmail,
    SamePhone,
    SameAddress,
    /// The same address, but only claimed by the sender (typed into a form).
    SameAddressUnverified,
    /// Several contacts share the sender's addresses: no single one can be chosen.
    Ambiguous,
    /// Same name and an email that differs only by dots or a `+tag`.
    SimilarEmail,
    /// A chat message mentioned an email address that belongs to another contact.
    EmailMentioned,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SameExternalId => "same_external_id",
            Self::SameEmail => "same_email",
            Self::SamePhone => "same_phone",
            Self::SameAddress => "same_address",
            Self::SameAddressUnverified => "same_address_unverified",
            Self::Ambiguous => "ambiguous",
            Self::SimilarEmail => "similar_email",
            Self::EmailMentioned => "email_mentioned",
        }
    }

    fn of_kind(kind: AddressKind) -> Self {
        match kind {
            AddressKind::Email => Self::SameEmail,
            AddressKind::Phone | AddressKind::WhatsApp => Self::SamePhone,
            AddressKind::External => Self::SameExternalId,
            _ => Self::SameAddress,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The sender is this contact.
    Link { contact_id: i64, reason: Reason },
    /// A new contact, with suggestions for agents to review.
    New { suggestions: Vec<(i64, Reason)> },
}

/// Decides whether `sender` is one of `candidates`.
pub fn decide(sender: &Sender, candidates: &[Candidate]) -> Decision {
    // Two different ids from the business's own system are two different people: such a
    // candidate is neither linked nor suggested.
    let compatible: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| match (&sender.external_id, &c.external_id) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        })
        .collect();
    let mut ids: Vec<i64> = compatible.iter().map(|c| c.contact_id).collect();
    ids.sort_unstable();
    ids.dedup();

    if sender.evidence == Evidence::Claimed {
        return Decision::New {
            suggestions: ids
                .into_iter()
                .map(|id| (id, Reason::SameAddressUnverified))
                .collect(),
        };
    }
    if let Some(ext) = &sender.external_id
        && let Some(c) = compatible
            .iter()
            .find(|c| c.external_id.as_deref() == Some(ext.as_str()))
    {
        return Decision::Link {
            contact_id: c.contact_id,
            reason: Reason::SameExternalId,
        };
    }
    match ids.as_slice() {
        [only] => {
            let kind = compatible
                .iter()
                .flat_map(|c| c.shared.iter().copied())
                .next()
                .unwrap_or(AddressKind::Email);
            Decision::Link {
                contact_id: *only,
                reason: Reason::of_kind(kind),
            }
        }
        _ => Decision::New {
            suggestions: ids.into_iter().map(|id| (id, Reason::Ambiguous)).collect(),
        },
    }
}

/// Whether two normalised emails are probably one person's: same domain and the same local
/// part once dots and a `+tag` are ignored. Only ever a suggestion, never a link: for most
/// providers these are different mailboxes.
pub fn similar_emails(a: &str, b: &str) -> bool {
    fn folded(e: &str) -> Option<(String, &str)> {
        let (local, domain) = e.rsplit_once('@')?;
        let base = local.split('+').next().unwrap_or(local).replace('.', "");
        Some((base, domain))
    }
    a != b && folded(a).is_some_and(|fa| folded(b).is_some_and(|fb| fa == fb))
}

/// Email addresses written in a message's text (normalised, de-duplicated, at most ten).
pub fn emails_mentioned(text: &str) -> Vec<String> {
    let mut found: Vec<String> = text
        .split(|c: char| c.is_whitespace() || "<>()[],;:\"'".contains(c))
        .map(|w| w.trim_end_matches(['.', '!', '?']))
        .filter(|w| w.contains('@'))
        .filter_map(|w| crate::identity::normalize_email(w).ok())
        .collect();
    found.sort();
    found.dedup();
    found.truncate(10);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn proven(addresses: &[(AddressKind, &str)], ext: Option<&str>) -> Sender {
        Sender {
            addresses: addresses
                .iter()
                .map(|(k, v)| (*k, (*v).to_owned()))
                .collect(),
            external_id: ext.map(str::to_owned),
            evidence: Evidence::Proven,
        }
    }

    fn cand(id: i64, shared: &[AddressKind], ext: Option<&str>) -> Candidate {
        Candidate {
            contact_id: id,
            shared: shared.to_vec(),
            external_id: ext.map(str::to_owned),
        }
    }

    #[test]
    fn a_proven_address_of_one_contact_links() {
        let s = proven(&[(AddressKind::Email, "ana@example.com")], None);
        assert_eq!(
            decide(&s, &[cand(7, &[AddressKind::Email], None)]),
            Decision::Link {
                contact_id: 7,
                reason: Reason::SameEmail
            }
        );
        assert_eq!(
            decide(&s, &[]),
            Decision::New {
                suggestions: vec![]
            }
        );
    }

    #[test]
    fn claimed_addresses_only_suggest() {
        let mut s = proven(&[(AddressKind::Email, "ana@example.com")], None);
        s.evidence = Evidence::Claimed;
        assert_eq!(
            decide(&s, &[cand(7, &[AddressKind::Email], None)]),
            Decision::New {
                suggestions: vec![(7, Reason::SameAddressUnverified)]
            }
        );
    }

    #[test]
    fn two_matching_contacts_are_ambiguous() {
        let s = proven(
            &[
                (AddressKind::Email, "ana@example.com"),
                (AddressKind::Phone, "+5511987654321"),
            ],
            None,
        );
        let d = decide(
            &s,
            &[
                cand(1, &[AddressKind::Email], None),
                cand(2, &[AddressKind::Phone], None),
            ],
        );
        assert_eq!(
            d,
            Decision::New {
                suggestions: vec![(1, Reason::Ambiguous), (2, Reason::Ambiguous)]
            }
        );
    }

    #[test]
    fn the_crm_id_wins_and_a_different_crm_id_excludes() {
        let s = proven(&[(AddressKind::Email, "ana@example.com")], Some("crm-1"));
        let d = decide(
            &s,
            &[
                cand(1, &[AddressKind::Email], Some("crm-2")),
                cand(2, &[AddressKind::External], Some("crm-1")),
            ],
        );
        assert_eq!(
            d,
            Decision::Link {
                contact_id: 2,
                reason: Reason::SameExternalId
            }
        );
        let d = decide(&s, &[cand(1, &[AddressKind::Email], Some("crm-2"))]);
        assert_eq!(
            d,
            Decision::New {
                suggestions: vec![]
            }
        );
    }

    #[test]
    fn similar_emails_fold_dots_and_tags_only() {
        assert!(similar_emails(
            "ana.souza@gmail.com",
            "anasouza+shop@gmail.com"
        ));
        assert!(!similar_emails("ana@gmail.com", "ana@gmail.com"));
        assert!(!similar_emails("ana@gmail.com", "ana@outlook.com"));
        assert!(!similar_emails("ana@gmail.com", "anna@gmail.com"));
    }

    #[test]
    fn mentioned_emails_are_found_in_text() {
        assert_eq!(
            emails_mentioned("Oi! Meu email é Ana.Souza@Example.com. (ou ana@work.com.br)"),
            vec!["ana.souza@example.com", "ana@work.com.br"]
        );
        assert!(emails_mentioned("no address @ here").is_empty());
    }

    fn arb_candidate() -> impl Strategy<Value = Candidate> {
        (
            1i64..6,
            proptest::collection::vec(
                proptest::sample::select(vec![
                    AddressKind::Email,
                    AddressKind::Phone,
                    AddressKind::External,
                ]),
                0..3,
            ),
            proptest::option::of(proptest::sample::select(vec!["crm-1", "crm-2", "crm-3"])),
        )
            .prop_map(|(id, shared, ext)| cand(id, &shared, ext))
    }

    proptest! {
        /// The rules that keep two different people apart, whatever the candidates.
        #[test]
        fn never_merges_two_different_people(
            // One row per contact, as the store gives them (a contact has one CRM id).
            candidates in proptest::collection::vec(arb_candidate(), 0..6).prop_map(|mut v| {
                for (i, c) in v.iter_mut().enumerate() {
                    c.contact_id = i as i64 + 1;
                }
                v
            }),
            ext in proptest::option::of(proptest::sample::select(vec!["crm-1", "crm-2"])),
            claimed in any::<bool>(),
        ) {
            let mut sender = proven(&[(AddressKind::Email, "x@example.com")], ext);
            if claimed {
                sender.evidence = Evidence::Claimed;
            }
            match decide(&sender, &candidates) {
                Decision::Link { contact_id, reason } => {
                    // Only on proof.
                    prop_assert!(!claimed);
                    // The chosen contact never carries a different CRM id.
                    let chosen: Vec<_> = candidates.iter().filter(|c| c.contact_id == contact_id).collect();
                    prop_assert!(!chosen.is_empty());
                    if let Some(e) = ext {
                        prop_assert!(chosen.iter().all(|c| c.external_id.as_deref().is_none_or(|x| x == e)));
                    }
                    // Either the CRM id matched, or this was the only compatible contact.
                    if reason != Reason::SameExternalId {
                        let others = candidates.iter().filter(|c| c.contact_id != contact_id)
                            .filter(|c| match (ext, c.external_id.as_deref()) {
                                (Some(a), Some(b)) => a == b,
                                _ => true,
                            })
                            .count();
                        prop_assert_eq!(others, 0);
                    }
                }
                Decision::New { suggestions } => {
                    // Suggestions never name a contact with a different CRM id.
                    for (id, _) in suggestions {
                        let c: Vec<_> = candidates.iter().filter(|c| c.contact_id == id).collect();
                        if let Some(e) = ext {
                            prop_assert!(c.iter().any(|c| c.external_id.as_deref().is_none_or(|x| x == e)));
                        }
                    }
                }
            }
        }
    }
}
