//! A loopback stand-in for API Gateway's Management API: it responds to
//! `POST` and `DELETE /{stage}/@connections/{id}`, counts both, and keeps
//! the posted messages so the scenario can read replies such as `joined`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::Value;

/// Calls the stand-in received.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ManagementCounts {
    /// `PostToConnection` calls.
    pub posts: u64,
    /// `DeleteConnection` calls.
    pub deletes: u64,
}

impl ManagementCounts {
    /// Returns what happened between `earlier` and these counts.
    pub fn since(&self, earlier: &ManagementCounts) -> ManagementCounts {
        ManagementCounts {
            posts: self.posts - earlier.posts,
            deletes: self.deletes - earlier.deletes,
        }
    }

    /// Adds other counts to these.
    pub fn add(&mut self, other: &ManagementCounts) {
        self.posts += other.posts;
        self.deletes += other.deletes;
    }
}

#[derive(Default)]
struct Received {
    counts: ManagementCounts,
    messages: HashMap<String, Vec<Value>>,
}

/// The running stand-in, which stops with the process.
#[derive(Clone)]
pub struct Management {
    /// `http://127.0.0.1:PORT/prod`, the callback URL the handler uses.
    pub callback_url: String,
    received: Arc<Mutex<Received>>,
}

async fn post_to_connection(
    State(received): State<Arc<Mutex<Received>>>,
    Path((_stage, id)): Path<(String, String)>,
    body: String,
) -> StatusCode {
    let message = serde_json::from_str(&body).unwrap_or(Value::Null);
    let mut received = received.lock().unwrap();
    received.counts.posts += 1;
    received.messages.entry(id).or_default().push(message);
    StatusCode::OK
}

async fn delete_connection(
    State(received): State<Arc<Mutex<Received>>>,
    Path((_stage, _id)): Path<(String, String)>,
) -> StatusCode {
    received.lock().unwrap().counts.deletes += 1;
    StatusCode::NO_CONTENT
}

impl Management {
    /// Starts the stand-in on a free port of 127.0.0.1.
    pub async fn start() -> anyhow::Result<Self> {
        let received = Arc::new(Mutex::new(Received::default()));
        let app = Router::new()
            .route(
                "/{stage}/@connections/{id}",
                post(post_to_connection).delete(delete_connection),
            )
            .with_state(received.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("aws-counts: the @connections stand-in stopped: {error}");
            }
        });
        Ok(Self {
            callback_url: format!("http://{address}/prod"),
            received,
        })
    }

    /// Returns the counts so far.
    pub fn counts(&self) -> ManagementCounts {
        self.received.lock().unwrap().counts
    }

    /// Returns the last message posted to `connection_id`.
    pub fn last_message(&self, connection_id: &str) -> Option<Value> {
        self.received
            .lock()
            .unwrap()
            .messages
            .get(connection_id)
            .and_then(|messages| messages.last().cloned())
    }
}
