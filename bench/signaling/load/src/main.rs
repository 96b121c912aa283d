//! Load generator of the signaling relay benchmark (bench/signaling/README.md).
//!
//! `run.mjs` starts it and sends it one JSON command per line on standard
//! input, and it replies to each with one JSON line on standard output. It plays
//! every participant of every room over bare WebSockets on one thread, so it
//! can be pinned to one core, and checks every relayed signal.

mod load;
mod protocol;
mod ws;

use std::io::Write;
use std::rc::Rc;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, serve_commands())
}

/// Reads commands until standard input ends, and runs each in turn.
async fn serve_commands() -> anyhow::Result<()> {
    let generator = Rc::new(load::Generator::default());
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let command: Value = serde_json::from_str(&line)?;
        let id = command.get("id").cloned().unwrap_or(Value::Null);
        let reply = match load::run_command(&generator, &command).await {
            Ok(result) => json!({ "id": id, "result": result }),
            Err(error) => json!({ "id": id, "error": format!("{error:#}") }),
        };
        let mut stdout = std::io::stdout().lock();
        serde_json::to_writer(&mut stdout, &reply)?;
        stdout.write_all(b"\n")?;
        stdout.flush()?;
    }
    Ok(())
}
