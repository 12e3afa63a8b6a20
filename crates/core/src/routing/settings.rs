//! An account's routing settings as its administrators write them (whole seconds and
//! minutes, skills per queue and per label), checked here and turned into the router's
//! [`Policy`] and each conversation's skill requirements.

use serde::{Deserialize, Serialize};

use super::kind::{BlockingRules, Capacity, ChannelKind, DEFAULT_CAPACITY, PerKind};
use super::policy::{Overflow, Policy};
use super::snapshot::{QueueId, Skill, SkillRequirement};
use crate::validate::FieldError;

/// Highest capacity of one kind an agent or the account may be given.
pub const MAX_CAPACITY: u16 = 100;
/// Skill levels run from 1 (basic) to this.
pub const MAX_SKILL_LEVEL: u8 = 5;
const MAX_SKILL_NAME: usize = 64;
const MAX_SKILLS: usize = 32;
const MAX_RULES: usize = 500;
const DAY_SECONDS: u32 = 86_400;

/// Whether the customer's detected language becomes a skill the conversation asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LanguageMode {
    /// Not detected.
    Off,
    /// `lang:<code>` ranks agents who speak it first, and is required until the preferred
    /// skills are dropped ([`RoutingSettings::drop_optional_after_seconds`]).
    #[default]
    Prefer,
    /// Only agents with `lang:<code>` take the conversation.
    Require,
}

/// Skills a queue's conversations ask for, and where they overflow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueRules {
    pub queue: QueueId,
    #[serde(default)]
    pub required: Vec<SkillRequirement>,
    #[serde(default)]
    pub preferred: Vec<SkillRequirement>,
    #[serde(default)]
    pub overflow_to: Option<QueueId>,
}

/// Skills a conversation with this label asks for (e.g. `vip`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelRules {
    pub label: String,
    #[serde(default)]
    pub required: Vec<SkillRequirement>,
    #[serde(default)]
    pub preferred: Vec<SkillRequirement>,
}

/// The document behind `GET|PUT …/routing/settings`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RoutingSettings {
    pub capacity: Capacity,
    /// Kinds an open call keeps away from its agent.
    pub call_blocks: Vec<ChannelKind>,
    pub drop_optional_after_seconds: u32,
    /// `None`: a conversation never leaves its own queue.
    pub overflow_after_seconds: Option<u32>,
    pub overflow: Overflow,
    /// 0 turns stickiness off.
    pub sticky_minutes: u32,
    /// The target for "answered within target" in the live view.
    pub service_level_seconds: u32,
    /// The app marks an idle agent away after this long; 0: never.
    pub auto_away_minutes: u32,
    pub language: LanguageMode,
    pub queues: Vec<QueueRules>,
    pub labels: Vec<LabelRules>,
    /// Kinds whose conversations are offered to an agent, who accepts within
    /// `offer_timeout_seconds` or the next agent gets the offer; empty: assigned directly.
    pub offer_kinds: Vec<ChannelKind>,
    pub offer_timeout_seconds: u32,
}

/// Kinds offered to an agent who chose offers while the account offers none.
pub const LIVE_KINDS: [ChannelKind; 2] = [ChannelKind::Call, ChannelKind::Chat];

impl Default for RoutingSettings {
    fn default() -> Self {
        let policy = Policy::default();
        Self {
            capacity: DEFAULT_CAPACITY,
            call_blocks: BlockingRules::default().blocks.call,
            drop_optional_after_seconds: seconds(policy.drop_optional_after_ms),
            overflow_after_seconds: policy.overflow_after_ms.map(seconds),
            overflow: policy.overflow,
            sticky_minutes: seconds(policy.sticky_window_ms) / 60,
            service_level_seconds: 60,
            auto_away_minutes: 10,
            language: LanguageMode::default(),
            queues: Vec::new(),
            labels: Vec::new(),
            offer_kinds: Vec::new(),
            offer_timeout_seconds: seconds(policy.offer_timeout_ms),
        }
    }
}

fn seconds(ms: crate::Millis) -> u32 {
    u32::try_from(ms / 1_000).unwrap_or(u32::MAX)
}

/// A partial update: absent fields keep their value.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RoutingSettingsPatch {
    /// Kinds not named keep their capacity.
    pub capacity: Option<PerKind<Option<u16>>>,
    pub call_blocks: Option<Vec<ChannelKind>>,
    pub drop_optional_after_seconds: Option<u32>,
    #[serde(default, deserialize_with = "present")]
    pub overflow_after_seconds: Option<Option<u32>>,
    pub overflow: Option<Overflow>,
    pub sticky_minutes: Option<u32>,
    pub service_level_seconds: Option<u32>,
    pub auto_away_minutes: Option<u32>,
    pub language: Option<LanguageMode>,
    pub queues: Option<Vec<QueueRules>>,
    pub labels: Option<Vec<LabelRules>>,
    pub offer_kinds: Option<Vec<ChannelKind>>,
    pub offer_timeout_seconds: Option<u32>,
}

/// Tells an explicit `null` (`Some(None)`) from an absent field (`None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// What a conversation asks of its agent, from its queue, labels and language.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requirements {
    pub required: Vec<SkillRequirement>,
    pub preferred: Vec<SkillRequirement>,
    pub overflow: Option<QueueId>,
}

impl RoutingSettings {
    /// This document with the patch's fields, checked.
    pub fn patched(&self, patch: RoutingSettingsPatch) -> Result<Self, Vec<FieldError>> {
        let mut next = self.clone();
        if let Some(capacity) = patch.capacity {
            for kind in ChannelKind::ALL {
                if let Some(c) = capacity[kind] {
                    next.capacity[kind] = c;
                }
            }
        }
        macro_rules! take {
            ($($field:ident),*) => {$(if let Some(v) = patch.$field { next.$field = v; })*};
        }
        take!(
            call_blocks,
            drop_optional_after_seconds,
            overflow_after_seconds,
            overflow,
            sticky_minutes,
            service_level_seconds,
            auto_away_minutes,
            language,
            queues,
            labels,
            offer_kinds,
            offer_timeout_seconds
        );
        next.validate()?;
        next.call_blocks.sort();
        next.call_blocks.dedup();
        next.offer_kinds.sort();
        next.offer_kinds.dedup();
        Ok(next)
    }

    /// Every problem at once, each naming its field.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        for kind in ChannelKind::ALL {
            if self.capacity[kind] > MAX_CAPACITY {
                errors.push(FieldError::new(
                    &format!("capacity.{kind}"),
                    "less_than_or_equal_to",
                    format!("capacity.{kind} must be at most {MAX_CAPACITY}"),
                ));
            }
        }
        if self.call_blocks.contains(&ChannelKind::Call) {
            errors.push(FieldError::new(
                "call_blocks",
                "invalid",
                "a call cannot block calls: capacity.call limits them",
            ));
        }
        let mut within = |field: &str, value: u32, max: u32| {
            if value > max {
                errors.push(FieldError::new(
                    field,
                    "less_than_or_equal_to",
                    format!("{field} must be at most {max}"),
                ));
            }
        };
        within(
            "drop_optional_after_seconds",
            self.drop_optional_after_seconds,
            DAY_SECONDS,
        );
        if let Some(s) = self.overflow_after_seconds {
            within("overflow_after_seconds", s, DAY_SECONDS);
        }
        within("sticky_minutes", self.sticky_minutes, 30 * 24 * 60);
        within(
            "service_level_seconds",
            self.service_level_seconds,
            DAY_SECONDS,
        );
        within("auto_away_minutes", self.auto_away_minutes, 24 * 60);
        if !(5..=600).contains(&self.offer_timeout_seconds) {
            errors.push(FieldError::new(
                "offer_timeout_seconds",
                "inclusion",
                "offer_timeout_seconds must be 5 to 600",
            ));
        }
        if self.service_level_seconds == 0 {
            errors.push(FieldError::new(
                "service_level_seconds",
                "greater_than",
                "service_level_seconds must be at least 1",
            ));
        }
        if self.queues.len() > MAX_RULES || self.labels.len() > MAX_RULES {
            errors.push(FieldError::new(
                "queues",
                "too_long",
                format!("at most {MAX_RULES} queue and {MAX_RULES} label rules"),
            ));
        }
        for (i, rules) in self.queues.iter().enumerate() {
            if self.queues[..i].iter().any(|r| r.queue == rules.queue) {
                errors.push(FieldError::new(
                    &format!("queues[{i}].queue"),
                    "taken",
                    format!("{} has rules twice", rules.queue),
                ));
            }
            if rules.overflow_to == Some(rules.queue) {
                errors.push(FieldError::new(
                    &format!("queues[{i}].overflow_to"),
                    "invalid",
                    "a queue cannot overflow to itself",
                ));
            }
            check_requirements(
                &format!("queues[{i}]"),
                &rules.required,
                &rules.preferred,
                &mut errors,
            );
        }
        for (i, rules) in self.labels.iter().enumerate() {
            let name = rules.label.trim();
            if name.is_empty() || name.chars().count() > 255 {
                errors.push(FieldError::new(
                    &format!("labels[{i}].label"),
                    "invalid",
                    "a label name of 1 to 255 characters",
                ));
            }
            if self.labels[..i].iter().any(|r| r.label == rules.label) {
                errors.push(FieldError::new(
                    &format!("labels[{i}].label"),
                    "taken",
                    format!("label {name} has rules twice"),
                ));
            }
            check_requirements(
                &format!("labels[{i}]"),
                &rules.required,
                &rules.preferred,
                &mut errors,
            );
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The router's policy for these settings.
    pub fn policy(&self) -> Policy {
        let millis = |s: u32| crate::Millis::from(s) * 1_000;
        Policy {
            capacity: self.capacity,
            blocking: BlockingRules {
                blocks: PerKind {
                    call: self.call_blocks.clone(),
                    ..PerKind::default()
                },
            },
            drop_optional_after_ms: millis(self.drop_optional_after_seconds),
            overflow_after_ms: self.overflow_after_seconds.map(millis),
            overflow: self.overflow,
            sticky_window_ms: millis(self.sticky_minutes) * 60,
            offers: !self.offer_kinds.is_empty(),
            offer_timeout_ms: millis(self.offer_timeout_seconds),
        }
    }

    /// Whether a conversation of this kind decided for an agent in offer mode is offered
    /// (else it is assigned at once): the account's offer kinds, or calls and chats when the
    /// agent chose offers and the account offers none.
    pub fn offered(&self, kind: ChannelKind) -> bool {
        if self.offer_kinds.is_empty() {
            LIVE_KINDS.contains(&kind)
        } else {
            self.offer_kinds.contains(&kind)
        }
    }

    /// Whether stickiness is on at all.
    pub fn sticky(&self) -> bool {
        self.sticky_minutes > 0
    }

    /// What a conversation in `queue` with these labels, in this detected language, asks for.
    /// A skill asked for twice keeps its highest level, and a required skill is not also
    /// preferred.
    pub fn requirements(
        &self,
        queue: QueueId,
        labels: &[String],
        language: Option<&str>,
    ) -> Requirements {
        let mut out = Requirements::default();
        if let Some(rules) = self.queues.iter().find(|r| r.queue == queue) {
            out.required.extend(rules.required.iter().cloned());
            out.preferred.extend(rules.preferred.iter().cloned());
            out.overflow = rules.overflow_to;
        }
        for rules in self.labels.iter().filter(|r| labels.contains(&r.label)) {
            out.required.extend(rules.required.iter().cloned());
            out.preferred.extend(rules.preferred.iter().cloned());
        }
        if let Some(code) = language {
            match self.language {
                LanguageMode::Off => {}
                LanguageMode::Prefer => out.preferred.push(SkillRequirement::language(code)),
                LanguageMode::Require => out.required.push(SkillRequirement::language(code)),
            }
        }
        out.required = strongest(out.required);
        out.preferred = strongest(out.preferred);
        out.preferred
            .retain(|p| !out.required.iter().any(|r| r.name == p.name));
        out
    }
}

/// One requirement per skill name, at the highest level asked.
fn strongest(mut list: Vec<SkillRequirement>) -> Vec<SkillRequirement> {
    list.sort_by(|a, b| a.name.cmp(&b.name).then(b.min_level.cmp(&a.min_level)));
    list.dedup_by(|later, kept| later.name == kept.name);
    list
}

fn check_requirements(
    at: &str,
    required: &[SkillRequirement],
    preferred: &[SkillRequirement],
    errors: &mut Vec<FieldError>,
) {
    for (list, name) in [(required, "required"), (preferred, "preferred")] {
        if list.len() > MAX_SKILLS {
            errors.push(FieldError::new(
                &format!("{at}.{name}"),
                "too_long",
                format!("at most {MAX_SKILLS} skills"),
            ));
        }
        for (i, r) in list.iter().enumerate() {
            let field = format!("{at}.{name}[{i}]");
            if let Err(e) = check_skill(&field, &r.name, r.min_level) {
                errors.push(e);
            }
        }
    }
}

/// A skill name of 1 to 64 letters, digits, `:`, `-`, `_`, `.` (`lang:pt-BR`,
/// `product:billing`, `vip`) at a level from 1 to [`MAX_SKILL_LEVEL`].
pub fn check_skill(field: &str, name: &str, level: u8) -> Result<(), FieldError> {
    let valid_char = |c: char| c.is_alphanumeric() || matches!(c, ':' | '-' | '_' | '.');
    if name.is_empty() || name.chars().count() > MAX_SKILL_NAME || !name.chars().all(valid_char) {
        return Err(FieldError::new(
            &format!("{field}.name"),
            "invalid",
            format!(
                "a skill name is 1 to {MAX_SKILL_NAME} letters, digits, ':', '-', '_' or '.' (got {name:?})"
            ),
        ));
    }
    if !(1..=MAX_SKILL_LEVEL).contains(&level) {
        return Err(FieldError::new(
            &format!("{field}.level"),
            "inclusion",
            format!("a skill level is 1 to {MAX_SKILL_LEVEL}"),
        ));
    }
    Ok(())
}

/// An agent's own routing profile: capacity overrides (`None`: the account's) and skills.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentProfile {
    pub capacity: PerKind<Option<u16>>,
    pub skills: Vec<Skill>,
    /// Offers rather than direct assignment for this agent; `None`: the account's setting.
    pub accepts_offers: Option<bool>,
}

impl AgentProfile {
    /// Checks the profile and merges a skill named twice into its highest level.
    pub fn checked(mut self) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        for kind in ChannelKind::ALL {
            if self.capacity[kind].is_some_and(|c| c > MAX_CAPACITY) {
                errors.push(FieldError::new(
                    &format!("capacity.{kind}"),
                    "less_than_or_equal_to",
                    format!("capacity.{kind} must be at most {MAX_CAPACITY}"),
                ));
            }
        }
        if self.skills.len() > MAX_SKILLS {
            errors.push(FieldError::new(
                "skills",
                "too_long",
                format!("at most {MAX_SKILLS} skills"),
            ));
        }
        for (i, s) in self.skills.iter().enumerate() {
            if let Err(e) = check_skill(&format!("skills[{i}]"), &s.name, s.level) {
                errors.push(e);
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        self.skills
            .sort_by(|a, b| a.name.cmp(&b.name).then(b.level.cmp(&a.level)));
        self.skills.dedup_by(|later, kept| later.name == kept.name);
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(v: serde_json::Value) -> RoutingSettingsPatch {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn the_defaults_are_the_policy_defaults() {
        let s = RoutingSettings::default();
        assert_eq!(s.policy(), Policy::default());
        assert!(s.validate().is_ok());
    }

    #[test]
    fn a_patch_changes_only_what_it_names_and_null_turns_overflow_off() {
        let s = RoutingSettings::default()
            .patched(patch(
                json!({"capacity": {"chat": 2}, "overflow_after_seconds": null}),
            ))
            .unwrap();
        assert_eq!(s.capacity.chat, 2);
        assert_eq!(s.capacity.email, 8);
        assert_eq!(s.overflow_after_seconds, None);
        assert_eq!(s.policy().overflow_after_ms, None);
        let kept = s.patched(patch(json!({"sticky_minutes": 5}))).unwrap();
        assert_eq!(kept.overflow_after_seconds, None);
        assert_eq!(kept.policy().sticky_window_ms, 300_000);
    }

    #[test]
    fn bad_settings_name_every_field() {
        let errors = RoutingSettings::default()
            .patched(patch(json!({
                "capacity": {"call": 1, "chat": 101, "messaging": 5, "email": 8, "other": 5},
                "call_blocks": ["call"],
                "service_level_seconds": 0,
                "queues": [
                    {"queue": {"type": "team", "id": 1}, "required": [{"name": "a b", "min_level": 1}]},
                    {"queue": {"type": "team", "id": 1}, "overflow_to": {"type": "team", "id": 1}}
                ],
                "labels": [{"label": " ", "preferred": [{"name": "vip", "min_level": 9}]}]
            })))
            .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "capacity.chat",
                "call_blocks",
                "service_level_seconds",
                "queues[0].required[0].name",
                "queues[1].queue",
                "queues[1].overflow_to",
                "labels[0].label",
                "labels[0].preferred[0].level"
            ]
        );
    }

    #[test]
    fn requirements_gather_queue_labels_and_language() {
        let s = RoutingSettings::default()
            .patched(patch(json!({
                "language": "prefer",
                "queues": [{"queue": {"type": "team", "id": 3},
                            "required": [{"name": "product:billing", "min_level": 2}],
                            "preferred": [{"name": "vip", "min_level": 1}],
                            "overflow_to": {"type": "team", "id": 4}}],
                "labels": [{"label": "vip", "required": [{"name": "vip", "min_level": 3}]},
                           {"label": "billing", "required": [{"name": "product:billing", "min_level": 4}]}]
            })))
            .unwrap();
        let r = s.requirements(
            QueueId::Team(3),
            &["vip".to_owned(), "billing".to_owned()],
            Some("pl"),
        );
        assert_eq!(
            r.required,
            [
                SkillRequirement::new("product:billing", 4),
                SkillRequirement::new("vip", 3)
            ]
        );
        // vip is required now, so it is not also a preference.
        assert_eq!(r.preferred, [SkillRequirement::language("pl")]);
        assert_eq!(r.overflow, Some(QueueId::Team(4)));
        let other = s.requirements(QueueId::Inbox(9), &[], None);
        assert_eq!(other, Requirements::default());
        let strict = s
            .patched(patch(json!({"language": "require"})))
            .unwrap()
            .requirements(QueueId::Inbox(9), &[], Some("pt-BR"));
        assert_eq!(strict.required, [SkillRequirement::language("pt-BR")]);
    }

    #[test]
    fn an_agent_profile_is_checked_and_merged() {
        let p: AgentProfile = serde_json::from_value(json!({
            "capacity": {"chat": 2},
            "skills": [{"name": "lang:pl", "level": 2}, {"name": "lang:pl", "level": 4}]
        }))
        .unwrap();
        let p = p.checked().unwrap();
        assert_eq!(p.capacity.chat, Some(2));
        assert_eq!(p.capacity.email, None);
        assert_eq!(p.skills, [Skill::new("lang:pl", 4)]);
        let bad: AgentProfile =
            serde_json::from_value(json!({"skills": [{"name": "", "level": 0}]})).unwrap();
        assert_eq!(bad.checked().unwrap_err()[0].field, "skills[0].name");
    }
}
