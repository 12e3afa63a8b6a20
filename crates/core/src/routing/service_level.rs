//! The day's service level per queue, as the supervisor's live view shows it.

use super::kind::ChannelKind;
use crate::Millis;

/// A queue's day so far: conversations answered, answered within the target, abandoned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DayTally {
    /// First answered by an agent since the day began.
    pub answered: u32,
    /// Of those, answered within the target of their start.
    pub answered_within_target: u32,
    /// Live conversations (chats, calls) begun today that ended without an answer: the
    /// customer gave up.
    pub abandoned: u32,
}

impl DayTally {
    /// Counts one conversation begun at `created_at`, first answered at `first_reply_at`,
    /// for the day that began at `day_start`, with a target of `target_ms`.
    pub fn add(
        &mut self,
        kind: ChannelKind,
        created_at: Millis,
        first_reply_at: Option<Millis>,
        resolved: bool,
        day_start: Millis,
        target_ms: Millis,
    ) {
        match first_reply_at {
            Some(at) if at >= day_start => {
                self.answered += 1;
                if at.saturating_sub(created_at) <= target_ms {
                    self.answered_within_target += 1;
                }
            }
            Some(_) => {}
            None => {
                let live = matches!(kind, ChannelKind::Chat | ChannelKind::Call);
                if live && resolved && created_at >= day_start {
                    self.abandoned += 1;
                }
            }
        }
    }

    /// Answered within target over all that were answered or abandoned (the contact-center
    /// definition: abandoned calls count against it); `None` before anything happened.
    pub fn service_level(&self) -> Option<f64> {
        let offered = self.answered + self.abandoned;
        (offered > 0).then(|| f64::from(self.answered_within_target) / f64::from(offered))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Millis = 1_000_000;
    const TARGET: Millis = 60_000;

    #[test]
    fn answered_within_target_abandoned_and_yesterday() {
        let mut t = DayTally::default();
        // Answered after 30 s and after 2 min.
        t.add(
            ChannelKind::Chat,
            DAY + 10,
            Some(DAY + 30_010),
            false,
            DAY,
            TARGET,
        );
        t.add(
            ChannelKind::Email,
            DAY,
            Some(DAY + 120_000),
            false,
            DAY,
            TARGET,
        );
        // Began yesterday, answered today (late), counts today.
        t.add(
            ChannelKind::Chat,
            DAY - 500_000,
            Some(DAY + 5),
            false,
            DAY,
            TARGET,
        );
        // Answered yesterday: not today's.
        t.add(
            ChannelKind::Chat,
            DAY - 500_000,
            Some(DAY - 5),
            false,
            DAY,
            TARGET,
        );
        // A chat resolved with no answer is abandoned; an email is not (it may need none);
        // a chat still open is still waiting.
        t.add(ChannelKind::Chat, DAY + 1, None, true, DAY, TARGET);
        t.add(ChannelKind::Email, DAY + 1, None, true, DAY, TARGET);
        t.add(ChannelKind::Call, DAY + 1, None, false, DAY, TARGET);
        assert_eq!(
            t,
            DayTally {
                answered: 3,
                answered_within_target: 1,
                abandoned: 1
            }
        );
        assert_eq!(t.service_level(), Some(0.25));
        assert_eq!(DayTally::default().service_level(), None);
    }
}
