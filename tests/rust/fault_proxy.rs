//! An HTTP proxy on loopback between an AWS SDK client and moto server. It
//! replies to chosen requests with an AWS error instead of forwarding them,
//! loses moto's response after forwarding, or never responds. Each
//! connection carries one request; the response closes it, and the SDK
//! opens the next one.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to a request instead of passing it on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 400 with DynamoDB's `ThrottlingException`, which the SDK retries.
    Throttling,
    /// HTTP 429 with SES's `TooManyRequestsException`, which the SDK retries.
    TooManyRequests,
    /// HTTP 500 `InternalServerError`, which the SDK retries as transient.
    ServerError,
    /// DynamoDB's `TransactionCanceledException` for a three-item
    /// transaction whose second item conflicted with another transaction;
    /// the SDK does not retry it.
    TransactionConflict,
    /// Forwards the request, then returns HTTP 500 instead of moto's
    /// response: the service did the work, but the client cannot know.
    ResponseLost,
    /// Reads the request and never responds, like a service that hangs
    /// while the caller's process dies.
    NoAnswer,
}

/// One request, as passed to the fault plan.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Position among all requests the proxy received, from 0.
    pub number: usize,
    /// The operation: the `X-Amz-Target` name after its dot for JSON
    /// protocols (`TransactWriteItems`), else the request path
    /// (`/v2/email/outbound-emails`).
    pub operation: &'a str,
}

/// Decides per request whether it fails and how.
pub type FaultPlan = Box<dyn Fn(Request) -> Option<Fault> + Send + Sync>;

#[derive(Default)]
struct Counts {
    requests: usize,
    faults: usize,
}

pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`, to use as the client's endpoint.
    pub endpoint: String,
    counts: Arc<Mutex<Counts>>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Starts the proxy in front of `upstream` (`http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str, plan: FaultPlan) -> Self {
        let upstream = upstream
            .strip_prefix("http://")
            .expect("the upstream is an http:// endpoint")
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let counts = Arc::new(Mutex::new(Counts::default()));
        let plan = Arc::new(plan);
        let shared = counts.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let number = {
                    let mut counts = shared.lock().unwrap();
                    counts.requests += 1;
                    counts.requests - 1
                };
                let upstream = upstream.clone();
                let plan = plan.clone();
                let counts = shared.clone();
                tokio::spawn(async move {
                    let _ = serve(client, &upstream, number, plan.as_ref(), &counts).await;
                });
            }
        });
        Self {
            endpoint,
            counts,
            task,
        }
    }

    /// Requests received so far, failed ones included.
    pub fn requests(&self) -> usize {
        self.counts.lock().unwrap().requests
    }

    /// Requests that got a fault response so far.
    pub fn faults(&self) -> usize {
        self.counts.lock().unwrap().faults
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request, looks up its fault in the plan, and sends back the
/// fault's response or moto's response.
async fn serve(
    mut client: TcpStream,
    upstream: &str,
    number: usize,
    plan: &FaultPlan,
    counts: &Mutex<Counts>,
) -> std::io::Result<()> {
    let (request, operation) = read_request(&mut client).await?;
    let fault = plan(Request {
        number,
        operation: &operation,
    });
    if fault.is_some() {
        counts.lock().unwrap().faults += 1;
    }
    let server_error = || {
        error_response(
            "500 Internal Server Error",
            "InternalServerError",
            "{\"message\":\"internal error made by the fault proxy\"}",
        )
    };
    let response = match fault {
        Some(Fault::Throttling) => error_response(
            "400 Bad Request",
            "ThrottlingException",
            "{\"message\":\"throttled by the fault proxy\"}",
        ),
        Some(Fault::TooManyRequests) => error_response(
            "429 Too Many Requests",
            "TooManyRequestsException",
            "{\"message\":\"sending rate throttled by the fault proxy\"}",
        ),
        Some(Fault::ServerError) => server_error(),
        Some(Fault::TransactionConflict) => error_response(
            "400 Bad Request",
            "TransactionCanceledException",
            "{\"message\":\"cancelled by the fault proxy: [None, TransactionConflict, None]\",\
             \"CancellationReasons\":[{\"Code\":\"None\"},{\"Code\":\"TransactionConflict\",\"Message\":\"another transaction holds the item\"},{\"Code\":\"None\"}]}",
        ),
        Some(Fault::ResponseLost) => {
            forward(&request, upstream).await?;
            server_error()
        }
        Some(Fault::NoAnswer) => {
            // Hold the connection until the proxy or the client goes away.
            let mut rest = [0_u8; 1];
            let _ = client.read(&mut rest).await;
            return Ok(());
        }
        None => forward(&request, upstream).await?,
    };
    client.write_all(&response).await?;
    client.shutdown().await
}

/// Sends `request` to moto and returns its whole response.
async fn forward(request: &[u8], upstream: &str) -> std::io::Result<Vec<u8>> {
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(request).await?;
    let mut response = Vec::new();
    server.read_to_end(&mut response).await?;
    Ok(response)
}

/// Reads the head and the `Content-Length` body of one request, and marks
/// it `Connection: close` so that moto ends its response with the stream.
/// Returns the request and its operation (see [`Request::operation`]).
async fn read_request(client: &mut TcpStream) -> std::io::Result<(Vec<u8>, String)> {
    let mut buffer = Vec::new();
    let head_end = loop {
        let mut chunk = [0_u8; 4096];
        let read = client.read(&mut chunk).await?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(position) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break position + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let header = |wanted: &str| {
        head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case(wanted)
                .then(|| value.trim().to_owned())
        })
    };
    let length: usize = header("content-length")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    let operation = match header("x-amz-target") {
        Some(target) => target
            .rsplit_once('.')
            .map_or(target.clone(), |(_, name)| name.to_owned()),
        None => head
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .split('?')
            .next()
            .unwrap_or_default()
            .to_owned(),
    };
    while buffer.len() < head_end + length {
        let mut chunk = [0_u8; 4096];
        let read = client.read(&mut chunk).await?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    let mut lines: Vec<String> = head
        .trim_end()
        .lines()
        .filter(|line| {
            !line
                .split_once(':')
                .is_some_and(|(name, _)| name.eq_ignore_ascii_case("connection"))
        })
        .map(str::to_owned)
        .collect();
    lines.push("Connection: close".to_owned());
    let mut request = format!("{}\r\n\r\n", lines.join("\r\n")).into_bytes();
    request.extend_from_slice(&buffer[head_end..head_end + length]);
    Ok((request, operation))
}

/// Builds an error response with a JSON `body`. Both DynamoDB's JSON
/// protocol and SES's REST protocol read the error's name from the
/// `x-amzn-ErrorType` header and the details from the body.
fn error_response(status: &str, error_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nx-amzn-ErrorType: {error_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
