//! Table tests: one case per reason and per rule.

use super::*;
use crate::conversation::Priority;

const T3: QueueId = QueueId::Team(3);
const T5: QueueId = QueueId::Team(5);
const NOW: Millis = 1_000_000;

fn agent(id: AgentId, queues: &[QueueId], skills: &[(&str, u8)]) -> Agent {
    let mut a = Agent::new(id, Presence::Online);
    a.queues = queues.to_vec();
    a.skills = skills.iter().map(|(n, l)| Skill::new(*n, *l)).collect();
    a
}

/// A chat in team 3 that has waited (and been queued) for `age` ms.
fn chat(conversation: ConversationId, age: Millis) -> WaitingItem {
    WaitingItem::new(conversation, T3, ChannelKind::Chat, NOW - age)
}

fn run(agents: Vec<Agent>, waiting: Vec<WaitingItem>) -> Vec<Decision> {
    decide(&Snapshot { agents, waiting }, &Policy::default(), NOW)
}

/// (conversation, agent, reason) of each decision.
fn placed(ds: &[Decision]) -> Vec<(ConversationId, AgentId, Reason)> {
    ds.iter()
        .map(|d| (d.conversation, d.agent, d.reason.clone()))
        .collect()
}

#[test]
fn reason_sticky_to_the_previous_agent() {
    let mut busy_sticky = agent(7, &[T3], &[]);
    busy_sticky.load.chat = 3;
    let mut it = chat(1, 0);
    it.sticky = Some(StickyAgent {
        agent: 7,
        until: NOW + 1,
    });
    let ds = run(
        vec![agent(1, &[T3], &[]), busy_sticky.clone()],
        vec![it.clone()],
    );
    assert_eq!(placed(&ds), [(1, 7, Reason::Sticky { agent: 7 })]);
    assert_eq!(ds[0].reason.to_string(), "sticky to agent 7");

    // Past the deadline, or the sticky agent full: the others' ranking decides.
    it.sticky = Some(StickyAgent {
        agent: 7,
        until: NOW,
    });
    let ds = run(
        vec![agent(1, &[T3], &[]), busy_sticky.clone()],
        vec![it.clone()],
    );
    assert_eq!(placed(&ds), [(1, 1, Reason::LeastLoaded)]);
    it.sticky = Some(StickyAgent {
        agent: 7,
        until: NOW + 1,
    });
    busy_sticky.load.chat = 4;
    let ds = run(vec![agent(1, &[T3], &[]), busy_sticky], vec![it]);
    assert_eq!(placed(&ds), [(1, 1, Reason::OnlyEligible)]);
}

#[test]
fn reason_skill_when_a_preferred_skill_decides() {
    let mut it = chat(1, 40_000); // past T1: preferred skills rank, no longer required
    it.required.push(SkillRequirement::language("pl"));
    it.preferred
        .push(SkillRequirement::new("product:billing", 2));
    let agents = vec![
        agent(1, &[T3], &[("lang:pl", 1)]),
        agent(2, &[T3], &[("lang:pl", 1), ("product:billing", 2)]),
        agent(3, &[T3], &[("product:billing", 3)]), // no Polish: never
    ];
    let ds = run(agents, vec![it]);
    let skill = Reason::Skill {
        skill: "product:billing".into(),
    };
    assert_eq!(placed(&ds), [(1, 2, skill)]);
    assert_eq!(ds[0].reason.to_string(), "skill product:billing");
}

#[test]
fn preferred_skills_are_required_until_t1() {
    let mut it = chat(1, 29_999);
    it.preferred.push(SkillRequirement::new("vip", 1));
    let agents = || vec![agent(1, &[T3], &[])];
    assert_eq!(run(agents(), vec![it.clone()]), vec![]);
    it.queued_at = NOW - 30_000; // exactly T1
    assert_eq!(
        placed(&run(agents(), vec![it])),
        [(1, 1, Reason::OnlyEligible)]
    );
}

#[test]
fn reason_overflow_after_t2_when_the_queue_has_nobody() {
    let mut full = agent(1, &[T3], &[]);
    full.load.chat = 4;
    let mut it = chat(1, 119_999);
    it.overflow = Some(T5);
    let agents = || vec![full.clone(), agent(9, &[T5], &[])];
    assert_eq!(run(agents(), vec![it.clone()]), vec![]);
    it.queued_at = NOW - 120_000;
    let ds = run(agents(), vec![it.clone()]);
    let reason = Reason::Overflow {
        from: T3,
        to: Some(T5),
    };
    assert_eq!(placed(&ds), [(1, 9, reason)]);
    assert_eq!(ds[0].reason.to_string(), "overflow from team 3 to team 5");

    // Any queue: anyone of the account, here an inbox's agent.
    let policy = Policy {
        overflow: Overflow::AnyQueue,
        ..Policy::default()
    };
    it.overflow = None;
    let snapshot = Snapshot {
        agents: vec![full.clone(), agent(4, &[QueueId::Inbox(2)], &[])],
        waiting: vec![it],
    };
    let ds = decide(&snapshot, &policy, NOW);
    assert_eq!(
        placed(&ds),
        [(1, 4, Reason::Overflow { from: T3, to: None })]
    );
}

#[test]
fn overflow_waits_while_the_own_queue_has_someone() {
    let mut it = chat(1, 500_000);
    it.overflow = Some(T5);
    let ds = run(vec![agent(9, &[T5], &[]), agent(1, &[T3], &[])], vec![it]);
    assert_eq!(placed(&ds), [(1, 1, Reason::OnlyEligible)]);
}

#[test]
fn reason_least_loaded_relative_to_capacity() {
    let mut a = agent(1, &[T3], &[]);
    a.load.email = 4; // half of 8 emails
    let mut b = agent(2, &[T3], &[]);
    b.load.chat = 1; // a quarter of 4 chats, plus the new one: a half
    b.idle_since = NOW; // a is idle longer, but load comes first
    a.idle_since = 0;
    let mut c = agent(3, &[T3], &[]);
    c.capacity.chat = Some(8); // the new chat is an eighth of c's capacity
    c.load.chat = 2;
    c.idle_since = NOW;
    let ds = run(vec![a, b, c], vec![chat(1, 0)]);
    assert_eq!(placed(&ds), [(1, 3, Reason::LeastLoaded)]);
    assert_eq!(ds[0].reason.to_string(), "least loaded");
}

#[test]
fn reason_longest_idle_and_work_spreads() {
    let mut a = agent(1, &[T3], &[]);
    a.idle_since = 500;
    let mut b = agent(2, &[T3], &[]);
    b.idle_since = 100;
    let ds = run(
        vec![a, b],
        vec![chat(1, 4), chat(2, 3), chat(3, 2), chat(4, 1)],
    );
    // 1: equal load, b idle since 100, longer than a. 2: a has the smaller load. 3: equal
    // load again and both got work at NOW: equal idle times go to the lower id. 4: b is
    // now the less loaded.
    assert_eq!(
        placed(&ds),
        [
            (1, 2, Reason::LongestIdle),
            (2, 1, Reason::LeastLoaded),
            (3, 1, Reason::LongestIdle),
            (4, 2, Reason::LeastLoaded)
        ]
    );
    assert_eq!(ds[0].reason.to_string(), "longest idle");
}

#[test]
fn idle_counts_from_the_end_of_the_last_open_work() {
    // Agent 1 got its chat long ago and finishes it only now; agent 2 has had nothing to do
    // since 500. Agent 2 has waited longer for work.
    let mut a = agent(1, &[T3], &[]);
    a.idle_since = 100;
    a.load.chat = 1;
    let mut b = agent(2, &[T3], &[]);
    b.idle_since = 500;
    let snapshot = Snapshot {
        agents: vec![a, b],
        waiting: vec![],
    };
    let mut router = Router::new(&snapshot, Policy::default());
    assert_eq!(router.decide_all(NOW), vec![]);
    assert!(router.release(1, ChannelKind::Chat, NOW));
    assert_eq!(router.agent(1).unwrap().idle_since, NOW);
    let ds = router.decide_for(chat(1, 0), NOW + 1);
    assert_eq!(placed(&ds), [(1, 2, Reason::LongestIdle)]);

    // Ending one of several open conversations is not becoming idle; releasing what is not
    // there changes nothing.
    let mut busy = agent(3, &[T3], &[]);
    busy.idle_since = 200;
    busy.load.chat = 1;
    busy.load.email = 1;
    router.upsert_agent(&busy);
    assert!(router.release(3, ChannelKind::Chat, NOW + 2));
    assert!(router.release(3, ChannelKind::Chat, NOW + 3));
    let now = router.agent(3).unwrap();
    assert_eq!((now.idle_since, now.load.chat, now.load.email), (200, 0, 1));
}

#[test]
fn reason_only_eligible_and_the_filters() {
    let mut busy = agent(1, &[T3], &[]);
    busy.presence = Presence::Busy;
    let mut away = agent(2, &[T3], &[]);
    away.presence = Presence::Away;
    let mut offline = agent(3, &[T3], &[]);
    offline.presence = Presence::Offline;
    let elsewhere = agent(4, &[T5], &[]);
    let declined = agent(5, &[T3], &[]);
    let low_level = agent(6, &[T3], &[("lang:pl", 1)]);
    let good = agent(7, &[T3], &[("lang:pl", 2)]);
    let mut it = chat(1, 0);
    it.required.push(SkillRequirement::new("lang:pl", 2));
    it.excluded.push(5);
    let mut open = it.clone();
    open.required.clear();
    open.conversation = 2;
    let agents = vec![busy, away, offline, elsewhere, declined, low_level, good];
    let ds = run(agents, vec![it, open]);
    assert_eq!(
        placed(&ds),
        [(1, 7, Reason::OnlyEligible), (2, 6, Reason::LeastLoaded)]
    );
    assert_eq!(ds[0].reason.to_string(), "only eligible agent");
}

#[test]
fn an_open_call_blocks_chats_and_messaging_not_email() {
    let mut on_call = agent(1, &[T3], &[]);
    on_call.load.call = 1;
    let mut email = chat(2, 0);
    email.kind = ChannelKind::Email;
    let mut whatsapp = chat(3, 0);
    whatsapp.kind = ChannelKind::Messaging;
    let ds = run(vec![on_call.clone()], vec![chat(1, 0), email, whatsapp]);
    assert_eq!(placed(&ds), [(2, 1, Reason::OnlyEligible)]);

    // Configurable: with no blocking the call only fills the call capacity.
    let policy = Policy {
        blocking: BlockingRules::none(),
        ..Policy::default()
    };
    let mut call = chat(4, 0);
    call.kind = ChannelKind::Call;
    let snapshot = Snapshot {
        agents: vec![on_call],
        waiting: vec![chat(1, 0), call],
    };
    assert_eq!(
        placed(&decide(&snapshot, &policy, NOW)),
        [(1, 1, Reason::OnlyEligible)]
    );
}

#[test]
fn load_counts_unresolved_assigned_work_not_snoozed() {
    use crate::conversation::Status;
    assert!(counts_as_load(Status::Open));
    assert!(counts_as_load(Status::Pending));
    assert!(!counts_as_load(Status::Snoozed));
    assert!(!counts_as_load(Status::Resolved));
    let load = load_of(
        [
            (ChannelKind::Chat, Status::Open),
            (ChannelKind::Chat, Status::Snoozed),
            (ChannelKind::Chat, Status::Pending),
            (ChannelKind::Email, Status::Resolved),
            (ChannelKind::Email, Status::Open),
        ],
        [ChannelKind::Call],
    );
    assert_eq!(
        load,
        PerKind {
            call: 1,
            chat: 2,
            email: 1,
            ..PerKind::default()
        }
    );
    // A snoozed chat leaves room: with three open chats and one snoozed, a fourth fits.
    let mut a = agent(1, &[T3], &[]);
    a.load = load_of(
        [
            (ChannelKind::Chat, Status::Open),
            (ChannelKind::Chat, Status::Open),
            (ChannelKind::Chat, Status::Open),
            (ChannelKind::Chat, Status::Snoozed),
        ],
        [],
    );
    assert_eq!(
        placed(&run(vec![a], vec![chat(1, 0), chat(2, 0)])),
        [(1, 1, Reason::OnlyEligible)]
    );
}

#[test]
fn capacity_holds_within_one_decision() {
    let items: Vec<_> = (1..=6).map(|i| chat(i, 100 - i)).collect();
    let ds = run(vec![agent(1, &[T3], &[])], items);
    assert_eq!(
        ds.iter().map(|d| d.conversation).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
}

#[test]
fn priority_first_then_first_come_first_served() {
    let old = chat(1, 900);
    let mut urgent = chat(2, 10);
    urgent.priority = Some(Priority::Urgent);
    let mut low = chat(3, 5_000);
    low.priority = Some(Priority::Low);
    let mid = chat(4, 800);
    let mut a = agent(1, &[T3], &[]);
    a.capacity.chat = Some(3);
    let ds = run(vec![a], vec![old, urgent, low, mid]);
    assert_eq!(
        ds.iter().map(|d| d.conversation).collect::<Vec<_>>(),
        [2, 3, 1]
    );
}

#[test]
fn no_head_of_line_blocking() {
    let mut polish = chat(1, 1_000);
    polish.required.push(SkillRequirement::language("pl"));
    let mut email = chat(2, 900);
    email.kind = ChannelKind::Email;
    let mut other_team = chat(3, 800);
    other_team.queue = T5;
    let english = chat(4, 10);
    let agents = vec![agent(1, &[T3], &[]), agent(2, &[T5], &[])];
    let ds = run(agents, vec![polish, email, other_team, english]);
    assert_eq!(
        ds.iter().map(|d| d.conversation).collect::<Vec<_>>(),
        [2, 3, 4]
    );
}

#[test]
fn offers_in_offer_mode() {
    let mut a = agent(1, &[T3], &[]);
    a.accepts_offers = Some(true);
    let ds = run(vec![a], vec![chat(1, 0)]);
    assert_eq!(
        ds[0].action,
        Action::Offer {
            expires_at: NOW + Policy::DEFAULT_OFFER_TIMEOUT_MS
        }
    );
    assert_eq!(
        ds[0].to_string(),
        "chat conversation 1 offered to agent 1: only eligible agent"
    );
}

#[test]
fn the_router_follows_events() {
    let mut full = agent(1, &[T3], &[]);
    full.load.chat = 4;
    let mut vip = chat(2, 0);
    vip.preferred.push(SkillRequirement::new("vip", 1));
    let snapshot = Snapshot {
        agents: vec![full, agent(2, &[T5], &[])],
        waiting: vec![chat(1, 0), vip],
    };
    let mut router = Router::new(&snapshot, Policy::default());
    assert!(router.needs_pass(NOW));
    assert_eq!(router.decide_all(NOW), vec![]);
    assert!(!router.needs_pass(NOW));
    assert_eq!(router.next_wake(), Some(NOW + 30_000));

    // An arrival in a settled router: decided alone, here nobody can take it.
    assert_eq!(router.decide_for(chat(3, 0), NOW + 1), vec![]);
    assert_eq!(router.waiting_len(), 3);

    // A chat ends: the freed agent takes the head of the queue, and only that.
    assert!(router.release(1, ChannelKind::Chat, NOW + 2));
    assert!(router.needs_pass(NOW + 2));
    assert_eq!(
        placed(&router.decide_all(NOW + 2)),
        [(1, 1, Reason::OnlyEligible)]
    );
    assert_eq!(router.agent(1).unwrap().load.chat, 4);
    assert_eq!(router.agent(1).unwrap().idle_since, NOW + 2);

    // Again: the vip item is next but needs vip until T1; conversation 3 goes instead.
    router.release(1, ChannelKind::Chat, NOW + 3);
    assert_eq!(
        placed(&router.decide_all(NOW + 3)),
        [(3, 1, Reason::OnlyEligible)]
    );
    router.release(1, ChannelKind::Chat, NOW + 4);
    assert_eq!(router.decide_all(NOW + 4), vec![]);
    assert!(!router.needs_pass(NOW + 29_999));
    // At T1 it drops its preferred skill.
    assert!(router.needs_pass(NOW + 30_000));
    assert_eq!(
        placed(&router.decide_all(NOW + 30_000)),
        [(2, 1, Reason::OnlyEligible)]
    );
    assert_eq!(router.next_wake(), None);

    // Withdrawn items are gone; unknown agents are refused.
    assert_eq!(router.decide_for(chat(4, 0), NOW + 30_001), vec![]);
    assert_eq!(router.withdraw(4).map(|i| i.conversation), Some(4));
    assert_eq!(router.withdraw(4), None);
    assert_eq!(router.waiting_len(), 0);
    assert!(!router.release(99, ChannelKind::Chat, NOW + 30_001));
    assert!(!router.set_presence(99, Presence::Online));
}

#[test]
fn a_widening_coming_due_wakes_the_router() {
    let mut full = agent(1, &[T3], &[]);
    full.load.chat = 4;
    let mut it = chat(1, 0);
    it.overflow = Some(T5);
    let snapshot = Snapshot {
        agents: vec![full, agent(9, &[T5], &[])],
        waiting: vec![it],
    };
    let mut router = Router::new(&snapshot, Policy::default());
    assert_eq!(router.decide_all(NOW), vec![]);
    let due = router.next_wake().unwrap();
    assert_eq!(due, NOW + Policy::DEFAULT_OVERFLOW_AFTER_MS);
    assert!(!router.needs_pass(due - 1));
    assert!(router.needs_pass(due));
    // An arrival after the widening fell due runs the whole pass: the old item goes too.
    // The new one may overflow as well, but only after its own T2: it waits, and its
    // widening is the next wake.
    let mut second = chat(2, 0);
    second.waiting_since = due;
    second.queued_at = due;
    second.overflow = Some(T5);
    let ds = router.decide_for(second, due);
    let reason = Reason::Overflow {
        from: T3,
        to: Some(T5),
    };
    assert_eq!(placed(&ds), [(1, 9, reason.clone())]);
    assert!(router.is_waiting(2));
    let due2 = due + Policy::DEFAULT_OVERFLOW_AFTER_MS;
    assert_eq!(router.next_wake(), Some(due2));
    assert!(!router.needs_pass(due2 - 1));
    assert_eq!(router.decide_all(due2 - 1), vec![]);
    assert_eq!(placed(&router.decide_all(due2)), [(2, 9, reason)]);
    assert_eq!(router.next_wake(), None);

    // Without an overflow queue (and overflow to its own queue only) an item never widens:
    // no wake is set for it.
    assert_eq!(router.decide_for(chat(3, 0), due2 + 1), vec![]);
    assert!(router.is_waiting(3));
    assert_eq!(router.next_wake(), None);
}

#[test]
fn a_declined_offer_goes_to_the_next_agent() {
    let mut a = agent(1, &[T3], &[]);
    a.accepts_offers = Some(true);
    a.idle_since = 0;
    let mut b = agent(2, &[T3], &[]);
    b.idle_since = 10;
    let snapshot = Snapshot {
        agents: vec![a, b],
        waiting: vec![],
    };
    let mut router = Router::new(&snapshot, Policy::default());
    router.decide_all(NOW);
    let ds = router.decide_for(chat(1, 0), NOW);
    assert_eq!(ds[0].agent, 1);
    assert!(matches!(ds[0].action, Action::Offer { .. }));
    // Declined: the caller releases the offer's load and offers again without agent 1.
    router.release(1, ChannelKind::Chat, NOW + 5);
    let mut again = chat(1, 0);
    again.excluded.push(1);
    let ds = router.decide_for(again, NOW + 5);
    assert_eq!(placed(&ds), [(1, 2, Reason::OnlyEligible)]);
    assert_eq!(ds[0].action, Action::Assign);
}

#[test]
fn a_declined_offer_from_a_full_agent_goes_to_the_next_agent() {
    // The offer fills agent 1; its decline frees that room again, so the router is no longer
    // settled when the conversation comes back, excluding agent 1. It must still look at
    // everyone else, not only at the agent whose room grew.
    let mut a = agent(1, &[T3], &[]);
    a.accepts_offers = Some(true);
    a.load.chat = 3;
    a.idle_since = 0;
    let mut b = agent(2, &[T3], &[]);
    b.load.chat = 3;
    b.idle_since = 10;
    let snapshot = Snapshot {
        agents: vec![a, b],
        waiting: vec![],
    };
    let mut router = Router::new(&snapshot, Policy::default());
    assert_eq!(router.decide_all(NOW), vec![]);
    let ds = router.decide_for(chat(1, 0), NOW);
    assert_eq!(placed(&ds), [(1, 1, Reason::LongestIdle)]);
    assert_eq!(router.agent(1).unwrap().load.chat, 4);
    router.release(1, ChannelKind::Chat, NOW + 5);
    assert!(router.needs_pass(NOW + 5));
    let mut again = chat(1, 0);
    again.excluded.push(1);
    let ds = router.decide_for(again, NOW + 5);
    assert_eq!(placed(&ds), [(1, 2, Reason::OnlyEligible)]);
    assert!(!router.needs_pass(NOW + 5));

    // An urgent arrival after a release competes with the older items for the freed room,
    // in decision order: it goes first.
    let mut full = agent(1, &[T3], &[]);
    full.load.chat = 4;
    let snapshot = Snapshot {
        agents: vec![full],
        waiting: vec![chat(1, 500)],
    };
    let mut router = Router::new(&snapshot, Policy::default());
    assert_eq!(router.decide_all(NOW), vec![]);
    router.release(1, ChannelKind::Chat, NOW);
    let mut urgent = chat(2, 0);
    urgent.priority = Some(Priority::Urgent);
    let ds = router.decide_for(urgent, NOW);
    assert_eq!(placed(&ds), [(2, 1, Reason::OnlyEligible)]);
    assert!(router.is_waiting(1));
}

#[test]
fn a_detected_language_becomes_a_requirement() {
    let text = "Dzień dobry, moja przesyłka nie dotarła, czy mogą Państwo sprawdzić zamówienie?";
    let lang = detect_language(text).unwrap();
    let mut it = chat(1, 0);
    it.required.push(SkillRequirement::language(lang));
    assert_eq!(it.required[0].name, "lang:pl");
    let ds = run(
        vec![
            agent(1, &[T3], &[("lang:en", 3)]),
            agent(2, &[T3], &[("lang:pl", 1)]),
        ],
        vec![it],
    );
    assert_eq!(placed(&ds), [(1, 2, Reason::OnlyEligible)]);
}
