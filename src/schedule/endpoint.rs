//! `GET /metrics` for Prometheus when `metrics.listen` is set: a small
//! HTTP/1.1 responder, one request per connection, that renders the
//! process's metrics with a snapshot of a few small tables (bounded by a
//! timeout: a database outage shows as `retentiond_database_up 0`, never as
//! a hanging scrape), in the format the `Accept` header asks for.

use std::net::SocketAddr;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::retention::{health, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::metrics::Format;

/// How long a scrape waits for the database, and a client for its request.
const TIMEOUT: Duration = Duration::from_secs(5);
/// The largest request head read.
const MAX_REQUEST: usize = 8 * 1024;

/// Binds `metrics.listen`; a failure stops the start (the operator asked
/// for the endpoint).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| Error::io(format!("cannot listen on metrics.listen = {addr}"), e))
}

/// Answers scrapes until the context's stop.
pub async fn serve(listener: TcpListener, cx: Context) {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(metrics.listen = %addr, "metrics endpoint listening on /metrics");
    }
    loop {
        let (stream, _) = tokio::select! {
            _ = cx.stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "metrics endpoint: cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let cx = cx.clone();
        tokio::spawn(async move {
            if let Err(e) = answer(stream, &cx).await {
                tracing::debug!(error = %e, "metrics endpoint: request not answered");
            }
        });
    }
}

async fn answer(mut stream: TcpStream, cx: &Context) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST {
        let n = match tokio::time::timeout(TIMEOUT, stream.read(&mut buf)).await {
            Ok(read) => read?,
            Err(_) => return Ok(()),
        };
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.lines();
    let mut parts = lines.next().unwrap_or_default().split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or(path);
    let accept = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("accept"))
        .map(|(_, value)| value.trim().to_string());
    let format = Format::negotiate(accept.as_deref());
    let (status, content_type, body) = match (method, path) {
        ("GET", "/metrics") => ("200 OK", format.content_type(), page(cx, format).await),
        ("GET", "/") => (
            "200 OK",
            "text/plain; charset=utf-8",
            "retentiond: metrics at /metrics\n".to_string(),
        ),
        ("GET", _) => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "not found\n".into(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "only GET\n".into(),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

async fn page(cx: &Context, format: Format) -> String {
    let read = health::metrics_snapshot(cx);
    let snapshot = match tokio::time::timeout(TIMEOUT, read).await {
        Ok(Ok(s)) => Some(s),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "metrics endpoint: cannot read the database");
            None
        }
        Err(_) => {
            tracing::warn!("metrics endpoint: the database did not answer in time");
            None
        }
    };
    crate::metrics::global().render(snapshot, format)
}
