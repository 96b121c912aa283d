//! An HTTP proxy on loopback between an AWS SDK client and moto server. It
//! replies to chosen requests with an AWS error instead of forwarding them:
//! throttling, or an internal server error. Each connection carries
//! one request; the response closes it, and the SDK opens the next one.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An error response the proxy sends instead of forwarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 400 with DynamoDB's `ThrottlingException`, which the SDK retries.
    Throttling,
    /// HTTP 500 `InternalServerError`, which the SDK retries as transient.
    ServerError,
}

/// Decides per request, numbered from 0, whether it fails and how.
pub type FaultPlan = Box<dyn Fn(usize) -> Option<Fault> + Send + Sync>;

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
                let fault = plan(number);
                if fault.is_some() {
                    shared.lock().unwrap().faults += 1;
                }
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let _ = serve(client, &upstream, fault).await;
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

/// Reads one request and sends back the `fault` response or moto's response.
async fn serve(mut client: TcpStream, upstream: &str, fault: Option<Fault>) -> std::io::Result<()> {
    let request = read_request(&mut client).await?;
    let response = match fault {
        Some(Fault::Throttling) => error_response(
            "400 Bad Request",
            "ThrottlingException",
            "Rate of requests exceeds the allowed throughput.",
        ),
        Some(Fault::ServerError) => error_response(
            "500 Internal Server Error",
            "InternalServerError",
            "Internal server error",
        ),
        None => {
            let mut server = TcpStream::connect(upstream).await?;
            server.write_all(&request).await?;
            let mut response = Vec::new();
            server.read_to_end(&mut response).await?;
            response
        }
    };
    client.write_all(&response).await?;
    client.shutdown().await
}

/// Reads the head and the `Content-Length` body of one request, and marks
/// it `Connection: close` so that moto ends its response with the stream.
async fn read_request(client: &mut TcpStream) -> std::io::Result<Vec<u8>> {
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
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0);
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
    Ok(request)
}

/// Builds a DynamoDB-style JSON error response.
fn error_response(status: &str, error_type: &str, message: &str) -> Vec<u8> {
    let body = format!(
        "{{\"__type\":\"com.amazonaws.dynamodb.v20120810#{error_type}\",\"message\":\"{message}\"}}"
    );
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.0\r\nx-amzn-ErrorType: {error_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
