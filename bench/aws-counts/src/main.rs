//! Counts the AWS calls of the signaling function per WebSocket event and of
//! the daily emailer per day, against moto server and a stand-in for the
//! API Gateway Management API, both on 127.0.0.1. Prints Markdown tables.

mod aws;
mod call_model;
mod counting;
mod management;
mod morning_counts;
mod signaling_counts;

use std::fmt::Write as _;

use chrono::{NaiveDate, NaiveTime};
use clap::{Parser, ValueEnum};

use call_model::{CallAssumptions, EventPlan};
use counting::{CallCounts, Tally, is_read, is_write};
use signaling_counts::{
    CHECK, CONNECT, CallRecord, DISCONNECT, EventCounts, Exchange, ICE_SERVERS, Instances, LEAVE,
    LOST, PING, RESUME, SIGNAL,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Part {
    Signaling,
    Morning,
    All,
}

/// Counts DynamoDB and API Gateway calls of the signaling function and the
/// morning run. Needs `moto_server` on PATH. Every server it starts listens
/// on 127.0.0.1.
#[derive(Debug, Parser)]
struct Options {
    /// Benchmark to run.
    #[arg(long, value_enum, default_value = "all")]
    part: Part,
    /// ICE candidates each side sends per peer connection, an assumption.
    /// The `null` that ends them comes on top.
    #[arg(long, default_value_t = 7)]
    candidates: usize,
    /// Pings each participant sends in the measured calls.
    #[arg(long, default_value_t = 5)]
    pings: usize,
    /// Length of the call in the per-call totals, in minutes.
    #[arg(long, default_value_t = 50)]
    call_minutes: u64,
    /// Rooms in the table for the morning run.
    #[arg(long, default_value_t = 10_000)]
    rooms: usize,
    /// Days the rooms are spread over, starting the day before `--day`.
    #[arg(long, default_value_t = 100)]
    days: usize,
    /// UTC day whose 96 runs are counted, as YYYY-MM-DD.
    #[arg(long, default_value = "2027-01-12")]
    day: NaiveDate,
    /// Local time from which invitations go out (the stack's `SendAfter`), as HH:MM.
    #[arg(long, default_value = "06:00", value_parser = parse_time)]
    send_after: NaiveTime,
}

fn parse_time(text: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(text, "%H:%M")
        .map_err(|_| format!("expected a time as HH:MM, got {text:?}"))
}

/// Interval of the web client's keepalive pings: `PING_INTERVAL_MS` in
/// web/js/signaling.js.
const PING_INTERVAL_SECONDS: u64 = 30;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    if options.days == 0 || options.rooms == 0 {
        anyhow::bail!("--rooms and --days must be at least 1");
    }
    if matches!(options.part, Part::Signaling | Part::All) {
        signaling_part(&options).await?;
    }
    if matches!(options.part, Part::Morning | Part::All) {
        morning_part(&options).await?;
    }
    Ok(())
}

/// Formats a count per event with up to two decimals.
fn per_event(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Lists the calls of the kinds `keep` selects, per event, such as
/// `2 GetItem connections + 1 Query connections`.
fn by_operation(tally: &Tally, events: u64, keep: impl Fn(&str) -> bool) -> String {
    let parts: Vec<String> = tally
        .0
        .iter()
        .filter(|(key, counts)| keep(key) && counts.calls > 0)
        .map(|(key, counts)| {
            format!(
                "{} {key}",
                per_event(counts.calls as f64 / events.max(1) as f64)
            )
        })
        .collect();
    if parts.is_empty() {
        "0".to_owned()
    } else {
        parts.join(" + ")
    }
}

fn event_row(out: &mut String, label: &str, counts: &EventCounts) {
    let events = counts.events.max(1);
    let reads = counts.dynamodb.total(is_read);
    let writes = counts.dynamodb.total(is_write);
    let per = |value: u64| per_event(value as f64 / events as f64);
    let _ = writeln!(
        out,
        "| {label} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        counts.events,
        per(reads.calls),
        by_operation(&counts.dynamodb, events, is_read),
        per(reads.items_scanned),
        per_event(reads.read_units / events as f64),
        per(writes.calls),
        by_operation(&counts.dynamodb, events, is_write),
        per(counts.management.posts),
        per(counts.management.deletes),
    );
}

fn event_table(record: &CallRecord) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| event | events | reads | reads by operation | items read | read units | writes | writes by operation | PostToConnection | DeleteConnection |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|");
    let n = record.participants;
    let joins = call_model::joins(record);
    for kind in [CONNECT, CHECK] {
        if let Some(counts) = record.by_event.get(kind) {
            event_row(&mut out, kind, counts);
        }
    }
    event_row(&mut out, &format!("join (average of {n})"), &joins);
    if let Some(last) = record.by_event.get(&format!("join {n}/{n}")) {
        event_row(&mut out, &format!("join (last of {n})"), last);
    }
    for kind in [SIGNAL, PING, ICE_SERVERS, LOST, RESUME, LEAVE, DISCONNECT] {
        if let Some(counts) = record.by_event.get(kind) {
            event_row(&mut out, kind, counts);
        }
    }
    out
}

fn totals_row(out: &mut String, label: &str, values: &[String]) {
    let _ = writeln!(out, "| {label} | {} |", values.join(" | "));
}

async fn signaling_part(options: &Options) -> anyhow::Result<()> {
    let exchange = Exchange {
        candidates_per_side: options.candidates,
    };
    let bench = signaling_counts::Bench::start().await?;
    let mut records = Vec::new();
    for instances in [Instances::One, Instances::FreshPerEvent] {
        for participants in [2, 8] {
            eprintln!("aws-counts: call of {participants}, {}", instances.label());
            let record = bench
                .run_call(participants, instances, exchange, options.pings)
                .await?;
            println!(
                "\n### Calls per event: room of {participants}, {}\n",
                instances.label()
            );
            print!("{}", event_table(&record));
            records.push((participants, instances, record));
        }
    }

    let assumptions = CallAssumptions {
        minutes: options.call_minutes,
        ping_interval_seconds: PING_INTERVAL_SECONDS,
        signals_per_pair: exchange.messages_per_pair() as u64,
        ice_servers_per_pair: 1,
    };
    println!("\n### Totals of one {}-minute call\n", options.call_minutes);
    println!(
        "Events per call. A pair's signals are one offer, one answer, and {} candidates plus the end marker from each side. No reconnect is assumed.\n",
        options.candidates
    );
    let mut out = String::new();
    totals_row(
        &mut out,
        "event",
        &[
            "2 people".to_owned(),
            "8 people".to_owned(),
            "source".to_owned(),
        ],
    );
    totals_row(&mut out, "---", &vec!["---".to_owned(); 3]);
    let plans = [2, 8].map(|n| EventPlan::for_call(n, &assumptions));
    for (small, large) in plans[0].rows.iter().zip(&plans[1].rows) {
        totals_row(
            &mut out,
            small.kind,
            &[
                small.count.to_string(),
                large.count.to_string(),
                small.source.clone(),
            ],
        );
    }
    println!("{out}");
    println!("Totals: the measured calls per event times the events above.\n");
    let mut out = String::new();
    let headers: Vec<String> = records
        .iter()
        .map(|(n, instances, _)| format!("{n} people, {}", instances.label()))
        .collect();
    totals_row(&mut out, "", &headers);
    totals_row(&mut out, "---", &vec!["---".to_owned(); headers.len()]);
    let totals: Vec<_> = records
        .iter()
        .map(|(n, _, record)| {
            call_model::totals(record, &EventPlan::for_call(*n as u64, &assumptions))
        })
        .collect();
    let column = |value: &dyn Fn(&call_model::CallTotals) -> String| {
        totals.iter().map(value).collect::<Vec<_>>()
    };
    totals_row(
        &mut out,
        "Lambda invocations",
        &column(&|t| t.invocations.to_string()),
    );
    totals_row(
        &mut out,
        "DynamoDB reads",
        &column(&|t| t.reads().calls.to_string()),
    );
    totals_row(
        &mut out,
        "reads by operation",
        &column(&|t| by_operation(&t.dynamodb, 1, is_read)),
    );
    totals_row(
        &mut out,
        "items read",
        &column(&|t| t.reads().items_scanned.to_string()),
    );
    totals_row(
        &mut out,
        "read units (estimated)",
        &column(&|t| format!("{:.0}", t.reads().read_units)),
    );
    totals_row(
        &mut out,
        "DynamoDB writes",
        &column(&|t| t.writes().calls.to_string()),
    );
    totals_row(
        &mut out,
        "writes by operation",
        &column(&|t| by_operation(&t.dynamodb, 1, is_write)),
    );
    totals_row(
        &mut out,
        "items written",
        &column(&|t: &call_model::CallTotals| t.writes().items_written.to_string()),
    );
    totals_row(
        &mut out,
        "PostToConnection",
        &column(&|t| t.management.posts.to_string()),
    );
    totals_row(
        &mut out,
        "DeleteConnection",
        &column(&|t| t.management.deletes.to_string()),
    );
    print!("{out}");
    Ok(())
}

fn phase_rows(out: &mut String, phase: &str, tally: &Tally, runs: usize) {
    for (key, counts) in &tally.0 {
        let CallCounts {
            calls,
            items_scanned,
            items_returned,
            items_written,
            read_units,
            errors,
            ..
        } = counts;
        let _ = writeln!(
            out,
            "| {phase} | {key} | {calls} | {} | {items_scanned} | {items_returned} | {read_units:.1} | {items_written} | {errors} |",
            per_event(*calls as f64 / runs.max(1) as f64),
        );
    }
}

async fn morning_part(options: &Options) -> anyhow::Result<()> {
    let scenario = morning_counts::Scenario {
        rooms: options.rooms,
        days: options.days,
        day: options.day,
    };
    let day = morning_counts::run(scenario, options.send_after).await?;
    println!(
        "\n### Morning run: {} rooms over {} days, the 96 runs of {}\n",
        options.rooms, options.days, options.day
    );
    println!(
        "Rooms due: {}, emails sent: {}, rooms erased: {}.\n",
        day.rooms_due, day.emails_sent, day.rooms_erased
    );
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| part of the run | call | calls | per run | items read (ScannedCount) | items returned | read units | items written | errors |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
    phase_rows(&mut out, "erase addresses", &day.erase_phase, day.runs);
    phase_rows(&mut out, "send invitations", &day.send_phase, day.runs);
    print!("{out}");

    let index_items = |tally: &Tally, index: &str| {
        tally
            .total(|key| key.starts_with("Query") && key.ends_with(index))
            .items_scanned
    };
    let due_items = index_items(&day.send_phase, "/byMailDate");
    let erase_items = index_items(&day.erase_phase, "/byEraseDate");
    let send_writes = day.send_phase.total(is_write).calls;
    let send_reads = day.send_phase.total(|key| key.starts_with("GetItem")).calls;
    let ratio = |items: u64, rooms: usize| {
        if rooms == 0 {
            "n/a".to_owned()
        } else {
            format!("{:.2}", items as f64 / rooms as f64)
        }
    };
    println!();
    println!(
        "- items read from byMailDate per room due: {} ({due_items} / {})",
        ratio(due_items, day.rooms_due),
        day.rooms_due
    );
    println!(
        "- items read from byEraseDate per room erased: {} ({erase_items} / {})",
        ratio(erase_items, day.rooms_erased),
        day.rooms_erased
    );
    println!(
        "- writes per sent email: {} ({send_writes} / {}); GetItem per sent email: {}",
        ratio(send_writes, day.emails_sent),
        day.emails_sent,
        ratio(send_reads, day.emails_sent)
    );
    Ok(())
}
