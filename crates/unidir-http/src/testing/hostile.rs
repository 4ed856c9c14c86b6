//! A hostile provider stand-in: a tiny HTTP/1.1 server on 127.0.0.1 that answers each
//! request with whatever a scenario's handler decides, including what a well-behaved mock
//! cannot do: hang after accept, hang or close in the middle of a body, stream a chunked
//! body forever, send raw header values verbatim.
//!
//! It records every connection and request (method, target, `Host`, `Authorization`, body)
//! so a test can assert where the client went, and counts the bytes it wrote, so a test can
//! bound what the client read from an endless body.
//!
//! ```
//! use unidir_http::testing::hostile::{HostileServer, Reply};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let server = HostileServer::start(|request| {
//!     Reply::raw_json(200, "[]").header("RateLimit-Remaining", "-1e999")
//! })
//! .await;
//! assert!(server.url().starts_with("http://127.0.0.1:"));
//! assert_eq!(server.connections(), 0);
//! # }
//! ```

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Largest request head the server reads; the client under test never sends more.
const MAX_HEAD: usize = 64 * 1024;
/// Largest request body the server reads.
const MAX_BODY: usize = 1024 * 1024;

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method, as sent.
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Header names lowercased, values verbatim.
    pub headers: Vec<(String, String)>,
    /// The body (at most 1 MiB is read).
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `Host` header.
    pub fn host(&self) -> Option<&str> {
        self.header("host")
    }

    /// The target without its query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// The first value of query parameter `name` (no percent-decoding: tests use plain values).
    pub fn query(&self, name: &str) -> Option<&str> {
        let query = self.target.split_once('?')?.1;
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }

    /// The `?page=` of a REST list request (1 when absent).
    pub fn page(&self) -> u64 {
        self.query("page").and_then(|p| p.parse().ok()).unwrap_or(1)
    }

    /// The body as JSON, when it is.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// A GraphQL request's `operationName`.
    pub fn operation(&self) -> Option<String> {
        self.json()?
            .get("operationName")?
            .as_str()
            .map(str::to_owned)
    }

    /// A GraphQL request's variable `name`.
    pub fn variable(&self, name: &str) -> Option<serde_json::Value> {
        self.json()?.get("variables")?.get(name).cloned()
    }
}

/// How the body goes out.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// `Content-Length` and the whole body.
    Full,
    /// `Transfer-Encoding: chunked`, the body in one chunk, then the end.
    Chunked,
    /// Read the request, then never write a byte.
    Hang,
    /// Announce the whole body's length, write `n` bytes of it, then stall forever.
    HangAfter(usize),
    /// Announce the whole body's length, write `n` bytes of it, then close.
    CloseAfter(usize),
    /// `Transfer-Encoding: chunked` with 64 KiB chunks forever.
    Endless,
}

/// What the server answers.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    mode: Mode,
}

impl Reply {
    /// A `status` answer with this `Content-Type` and body, sent with a length.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".to_owned(), content_type.to_owned())],
            body: body.into(),
            mode: Mode::Full,
        }
    }

    /// A JSON answer.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self::new(status, "application/json; charset=utf-8", body.to_string())
    }

    /// Raw bytes declared as JSON (invalid or truncated JSON).
    pub fn raw_json(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self::new(status, "application/json; charset=utf-8", body)
    }

    /// An HTML answer (an error page from a load balancer or a sign-in wall).
    pub fn html(status: u16, body: &str) -> Self {
        Self::new(status, "text/html; charset=utf-8", body)
    }

    /// Accept, read the request, answer nothing.
    pub fn hang() -> Self {
        Self {
            mode: Mode::Hang,
            ..Self::new(200, "application/json", Vec::new())
        }
    }

    /// A chunked body that never ends.
    pub fn endless() -> Self {
        Self {
            mode: Mode::Endless,
            ..Self::new(200, "application/json", Vec::new())
        }
    }

    /// Adds a header, value sent verbatim.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sends the body chunked instead of with a length.
    pub fn chunked(mut self) -> Self {
        self.mode = Mode::Chunked;
        self
    }

    /// Stalls forever after `n` bytes of the body.
    pub fn hang_after(mut self, n: usize) -> Self {
        self.mode = Mode::HangAfter(n);
        self
    }

    /// Closes the connection after `n` bytes of the body.
    pub fn close_after(mut self, n: usize) -> Self {
        self.mode = Mode::CloseAfter(n);
        self
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

#[derive(Default)]
struct Stats {
    connections: AtomicUsize,
    /// Connections whose answer ended (written in full, or the client hung up).
    finished: AtomicUsize,
    bytes_sent: AtomicU64,
    requests: Mutex<Vec<Request>>,
}

/// A running hostile server; stops (and drops every hanging connection) when dropped.
pub struct HostileServer {
    port: u16,
    stats: Arc<Stats>,
    shutdown: watch::Sender<bool>,
}

impl std::fmt::Debug for HostileServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostileServer")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl HostileServer {
    /// Starts a server on 127.0.0.1 (a free port) answering with `handler`.
    pub async fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let stats = Arc::new(Stats::default());
        let (shutdown, stopped) = watch::channel(false);
        let handler: Arc<Handler> = Arc::new(handler);
        let accept_stats = Arc::clone(&stats);
        let mut accept_stop = stopped.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok(accepted) => accepted,
                        Err(_) => continue,
                    },
                    _ = accept_stop.changed() => return,
                };
                accept_stats.connections.fetch_add(1, Ordering::SeqCst);
                let stats = Arc::clone(&accept_stats);
                let handler = Arc::clone(&handler);
                let mut stop = stopped.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        () = serve(stream, &*handler, &stats) => {}
                        _ = stop.changed() => {}
                    }
                });
            }
        });
        Self {
            port,
            stats,
            shutdown,
        }
    }

    /// A server that answers every request `200 []` (the place nothing may reach).
    pub async fn elsewhere() -> Self {
        Self::start(|_| Reply::raw_json(200, "[]")).await
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`, e.g. for a client's DNS override.
    pub fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What a well-behaved client puts in `Host`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// TCP connections accepted (a TLS attempt counts too, unlike a request).
    pub fn connections(&self) -> usize {
        self.stats.connections.load(Ordering::SeqCst)
    }

    /// Connections whose answer ended: written in full, or cut off by the client hanging up
    /// (hanging answers never end).
    pub fn finished(&self) -> usize {
        self.stats.finished.load(Ordering::SeqCst)
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Request> {
        super::lock(&self.stats.requests).clone()
    }

    /// Requests whose path is `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path() == path).count()
    }

    /// GraphQL requests (any `POST` with an `operationName`).
    pub fn graphql_requests(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.operation().is_some())
            .count()
    }

    /// Bytes written so far, heads included.
    pub fn bytes_sent(&self) -> u64 {
        self.stats.bytes_sent.load(Ordering::SeqCst)
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

async fn serve(mut stream: TcpStream, handler: &Handler, stats: &Stats) {
    // One request per connection: every answer says `Connection: close`.
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    super::lock(&stats.requests).push(request.clone());
    let reply = handler(&request);
    let _ = write_reply(&mut stream, reply, stats).await;
    stats.finished.fetch_add(1, Ordering::SeqCst);
}

async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_BODY);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

async fn send(stream: &mut TcpStream, bytes: &[u8], stats: &Stats) -> std::io::Result<()> {
    stream.write_all(bytes).await?;
    stats
        .bytes_sent
        .fetch_add(bytes.len() as u64, Ordering::SeqCst);
    Ok(())
}

async fn write_reply(stream: &mut TcpStream, reply: Reply, stats: &Stats) -> std::io::Result<()> {
    if matches!(reply.mode, Mode::Hang) {
        return std::future::pending().await;
    }
    let mut head = format!("HTTP/1.1 {} Hostile\r\n", reply.status);
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    match reply.mode {
        Mode::Chunked | Mode::Endless => head.push_str("Transfer-Encoding: chunked\r\n"),
        _ => head.push_str(&format!("Content-Length: {}\r\n", reply.body.len())),
    }
    head.push_str("Connection: close\r\n\r\n");
    send(stream, head.as_bytes(), stats).await?;
    match reply.mode {
        Mode::Full => send(stream, &reply.body, stats).await?,
        Mode::Chunked => {
            if !reply.body.is_empty() {
                send(
                    stream,
                    format!("{:x}\r\n", reply.body.len()).as_bytes(),
                    stats,
                )
                .await?;
                send(stream, &reply.body, stats).await?;
                send(stream, b"\r\n", stats).await?;
            }
            send(stream, b"0\r\n\r\n", stats).await?;
        }
        Mode::HangAfter(n) => {
            send(stream, &reply.body[..n.min(reply.body.len())], stats).await?;
            stream.flush().await?;
            return std::future::pending().await;
        }
        Mode::CloseAfter(n) => {
            send(stream, &reply.body[..n.min(reply.body.len())], stats).await?;
        }
        Mode::Endless => {
            let chunk = vec![b' '; 64 * 1024];
            let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
            framed.extend_from_slice(&chunk);
            framed.extend_from_slice(b"\r\n");
            // Until the client hangs up (the write fails) or the server stops.
            loop {
                send(stream, &framed, stats).await?;
            }
        }
        Mode::Hang => unreachable!("handled above"),
    }
    stream.flush().await?;
    stream.shutdown().await
}
