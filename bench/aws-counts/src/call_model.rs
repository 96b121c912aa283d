//! Totals for one whole call, from the counts measured per event and the
//! numbers of events the web client sends, which are assumptions.

use crate::counting::{CallCounts, Tally, is_read, is_write};
use crate::management::ManagementCounts;
use crate::signaling_counts::{
    CHECK, CONNECT, CallRecord, DISCONNECT, EventCounts, ICE_SERVERS, JOIN, LEAVE, PING, SIGNAL,
};

/// How the web client behaves during a call. Only `ping_interval_seconds`
/// comes from the client's code (`PING_INTERVAL_MS` in
/// web/js/signaling.js); the others are assumptions.
#[derive(Debug, Clone, Copy)]
pub struct CallAssumptions {
    pub minutes: u64,
    pub ping_interval_seconds: u64,
    /// Messages per pair of participants for the negotiation.
    pub signals_per_pair: u64,
    /// `ice-servers` requests per pair: an existing participant asks for
    /// fresh TURN credentials when a newcomer arrives more than a minute
    /// after its last list (`ICE_SERVERS_FRESH_MS` in web/js/call.js).
    pub ice_servers_per_pair: u64,
}

/// How many events of one kind a call has, and where the number comes from.
#[derive(Debug, Clone)]
pub struct PlannedEvents {
    pub kind: &'static str,
    pub count: u64,
    pub source: String,
}

/// How many events of each kind one call has.
#[derive(Debug, Clone)]
pub struct EventPlan {
    pub rows: Vec<PlannedEvents>,
}

impl EventPlan {
    pub fn for_call(participants: u64, assumptions: &CallAssumptions) -> Self {
        let pairs = participants * participants.saturating_sub(1) / 2;
        let pings = assumptions.minutes * 60 / assumptions.ping_interval_seconds;
        let row = |kind, count, source: String| PlannedEvents {
            kind,
            count,
            source,
        };
        let each = || "one per participant (the client's flow)".to_owned();
        Self {
            rows: vec![
                row(CONNECT, participants, each()),
                row(CHECK, participants, each()),
                row(JOIN, participants, each()),
                row(
                    SIGNAL,
                    pairs * assumptions.signals_per_pair,
                    format!("assumed: {} per pair", assumptions.signals_per_pair),
                ),
                row(
                    ICE_SERVERS,
                    pairs * assumptions.ice_servers_per_pair,
                    format!("assumed: {} per pair", assumptions.ice_servers_per_pair),
                ),
                row(
                    PING,
                    participants * pings,
                    format!(
                        "client's code: one per participant every {} s",
                        assumptions.ping_interval_seconds
                    ),
                ),
                row(LEAVE, participants, each()),
                row(DISCONNECT, participants, each()),
            ],
        }
    }
}

/// Totals of one call.
#[derive(Debug, Clone, Default)]
pub struct CallTotals {
    pub invocations: u64,
    pub dynamodb: Tally,
    pub management: ManagementCounts,
}

impl CallTotals {
    pub fn reads(&self) -> CallCounts {
        self.dynamodb.total(is_read)
    }

    pub fn writes(&self) -> CallCounts {
        self.dynamodb.total(is_write)
    }
}

/// Scales `counts` of `counts.events` events to `events` events.
fn scaled(counts: &EventCounts, events: u64) -> (Tally, ManagementCounts) {
    let factor = events as f64 / counts.events.max(1) as f64;
    let mut tally = counts.dynamodb.clone();
    for entry in tally.0.values_mut() {
        let scale = |value: u64| (value as f64 * factor).round() as u64;
        entry.calls = scale(entry.calls);
        entry.attempts = scale(entry.attempts);
        entry.errors = scale(entry.errors);
        entry.items_returned = scale(entry.items_returned);
        entry.items_scanned = scale(entry.items_scanned);
        entry.items_written = scale(entry.items_written);
        entry.read_units *= factor;
    }
    let management = ManagementCounts {
        posts: (counts.management.posts as f64 * factor).round() as u64,
        deletes: (counts.management.deletes as f64 * factor).round() as u64,
    };
    (tally, management)
}

/// True for the labels of first joins by position, such as `join 3/8`.
pub fn is_join_position(label: &str) -> bool {
    label
        .strip_prefix(JOIN)
        .and_then(|rest| rest.strip_prefix(' '))
        .is_some_and(|position| position.contains('/'))
}

/// Sums the joins of every position, as each participant joins once.
pub fn joins(record: &CallRecord) -> EventCounts {
    let mut total = EventCounts::default();
    for (label, counts) in &record.by_event {
        if is_join_position(label) {
            total.add(counts);
        }
    }
    total
}

/// Computes the totals of a call from the counts measured in `record`,
/// a call of the same size.
pub fn totals(record: &CallRecord, plan: &EventPlan) -> CallTotals {
    let mut totals = CallTotals::default();
    for planned in &plan.rows {
        let measured = if planned.kind == JOIN {
            joins(record)
        } else {
            record
                .by_event
                .get(planned.kind)
                .cloned()
                .unwrap_or_default()
        };
        // Every position joins once, so the measured joins are the total.
        let target = if planned.kind == JOIN {
            measured.events
        } else {
            planned.count
        };
        let (tally, management) = scaled(&measured, target);
        totals.invocations += target;
        totals.dynamodb.add(&tally);
        totals.management.add(&management);
    }
    totals
}
