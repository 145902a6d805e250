//! A small HTTP/1.1 client: chunked or length-delimited or read-to-close bodies, SSE frames
//! handed to a callback as they arrive. Hand-written so the load generator measures time to
//! the first SSE frame exactly, with no client-side buffering in between.
//!
//! A [`Conn`] is one virtual user's connection. With keep-alive (the default of the load
//! generator, as a browser's `fetch` does) it is reused from turn to turn while the server
//! keeps it open; a reused connection the server closed while idle is reopened once. Without
//! keep-alive every request opens its own connection (`Connection: close`).

use std::fmt::Write as _;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::Res;

pub struct HttpResult {
    pub status: u16,
    pub body: Vec<u8>,
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One request on a fresh connection that is closed afterwards.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
    on_frame: impl FnMut(&[u8]),
) -> Res<HttpResult> {
    Conn::new(addr, false)
        .request(method, path, token, body, on_frame)
        .await
}

/// A client connection (see the module docs).
pub struct Conn {
    addr: SocketAddr,
    keep_alive: bool,
    stream: Option<TcpStream>,
}

impl Conn {
    pub fn new(addr: SocketAddr, keep_alive: bool) -> Self {
        Self {
            addr,
            keep_alive,
            stream: None,
        }
    }

    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&[u8]>,
        mut on_frame: impl FnMut(&[u8]),
    ) -> Res<HttpResult> {
        let bytes = self.encode(method, path, token, body);
        let reused = self.stream.is_some();
        match self.exchange(&bytes, &mut on_frame).await {
            // The server may close an idle kept-alive connection: before any response byte
            // that is not a failure of the request, so it goes once more on a new connection.
            Err(Exchange::BeforeResponse(_)) if reused => {
                self.stream = None;
                self.exchange(&bytes, &mut on_frame)
                    .await
                    .map_err(Exchange::into_error)
            }
            other => other.map_err(Exchange::into_error),
        }
    }

    fn encode(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&[u8]>,
    ) -> Vec<u8> {
        let connection = if self.keep_alive {
            "keep-alive"
        } else {
            "close"
        };
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: {connection}\r\n",
            self.addr
        );
        if let Some(t) = token {
            let _ = write!(req, "Authorization: Bearer {t}\r\n");
        }
        if let Some(b) = body {
            let _ = write!(
                req,
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            );
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        if let Some(b) = body {
            bytes.extend_from_slice(b);
        }
        bytes
    }

    async fn exchange(
        &mut self,
        request: &[u8],
        on_frame: &mut impl FnMut(&[u8]),
    ) -> Result<HttpResult, Exchange> {
        let mut s = match self.stream.take() {
            Some(s) => s,
            None => {
                let s = TcpStream::connect(self.addr)
                    .await
                    .map_err(|e| Exchange::Failed(e.into()))?;
                s.set_nodelay(true)
                    .map_err(|e| Exchange::Failed(e.into()))?;
                s
            }
        };
        s.write_all(request)
            .await
            .map_err(|e| Exchange::BeforeResponse(e.into()))?;
        let (result, reusable) = read_response(&mut s, on_frame).await?;
        if self.keep_alive && reusable {
            self.stream = Some(s);
        }
        Ok(result)
    }
}

/// Why an exchange failed: before the first response byte (retryable on a reused
/// connection) or later.
enum Exchange {
    BeforeResponse(crate::BoxError),
    Failed(crate::BoxError),
}

impl Exchange {
    fn into_error(self) -> crate::BoxError {
        match self {
            Self::BeforeResponse(e) | Self::Failed(e) => e,
        }
    }
}

impl<E: Into<crate::BoxError>> From<E> for Exchange {
    fn from(e: E) -> Self {
        Self::Failed(e.into())
    }
}

/// Reads one response; the flag says whether the connection may carry another request.
async fn read_response(
    s: &mut TcpStream,
    on_frame: &mut impl FnMut(&[u8]),
) -> Result<(HttpResult, bool), Exchange> {
    let mut raw: Vec<u8> = Vec::with_capacity(8192);
    let mut buf = vec![0u8; 16384];
    // Headers.
    let header_end = loop {
        if let Some(i) = find(&raw, b"\r\n\r\n") {
            break i;
        }
        let n = match s.read(&mut buf).await {
            Ok(n) => n,
            Err(e) if raw.is_empty() => return Err(Exchange::BeforeResponse(e.into())),
            Err(e) => return Err(Exchange::Failed(e.into())),
        };
        if n == 0 {
            let e: crate::BoxError = "connection closed before the response headers".into();
            return Err(if raw.is_empty() {
                Exchange::BeforeResponse(e)
            } else {
                Exchange::Failed(e)
            });
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..header_end]).to_ascii_lowercase();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .ok_or("bad status line")?;
    let chunked = head.contains("transfer-encoding: chunked");
    let length: Option<usize> = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok());
    // Only a delimited body leaves the connection usable, unless the server closes it.
    let reusable = (chunked || length.is_some()) && !head.contains("connection: close");
    raw.drain(..header_end + 4);

    // An SSE body is handed out frame by frame and not kept (turns stream tens of KiB each);
    // other bodies (JSON, errors) are returned whole.
    let keep_body = status != 200 || !head.contains("content-type: text/event-stream");
    let mut body_out: Vec<u8> = Vec::new();
    let mut received = 0usize;
    let mut sse: Vec<u8> = Vec::new();
    let mut emit = |data: &[u8], sse: &mut Vec<u8>, body_out: &mut Vec<u8>| {
        received += data.len();
        if keep_body {
            body_out.extend_from_slice(data);
        }
        sse.extend_from_slice(data);
        while let Some(i) = find(sse, b"\n\n") {
            on_frame(&sse[..i]);
            sse.drain(..i + 2);
        }
        received
    };
    // Body bytes so far (as counted by `emit`).
    let mut total = 0usize;
    let mut eof = false;
    loop {
        if chunked {
            // Decode every complete chunk in `raw`.
            while let Some(line_end) = find(&raw, b"\r\n") {
                let size_txt = String::from_utf8_lossy(&raw[..line_end]);
                let size =
                    usize::from_str_radix(size_txt.split(';').next().unwrap_or("").trim(), 16)
                        .map_err(|e| format!("bad chunk size {size_txt:?}: {e}"))?;
                if size == 0 {
                    // The terminating `0\r\n` and the empty trailer line: read both so the
                    // next response starts clean.
                    while !raw[line_end + 2..].starts_with(b"\r\n") {
                        let n = s
                            .read(&mut buf)
                            .await
                            .map_err(|e| Exchange::Failed(e.into()))?;
                        if n == 0 {
                            break;
                        }
                        raw.extend_from_slice(&buf[..n]);
                    }
                    return Ok((
                        HttpResult {
                            status,
                            body: body_out,
                        },
                        reusable,
                    ));
                }
                if raw.len() < line_end + 2 + size + 2 {
                    break;
                }
                total = emit(
                    &raw[line_end + 2..line_end + 2 + size],
                    &mut sse,
                    &mut body_out,
                );
                raw.drain(..line_end + 2 + size + 2);
            }
        } else if !raw.is_empty() {
            total = emit(&raw, &mut sse, &mut body_out);
            raw.clear();
        }
        if let Some(len) = length
            && !chunked
            && total >= len
        {
            break;
        }
        if eof {
            if chunked {
                return Err(Exchange::Failed(
                    "connection closed inside a chunked body".into(),
                ));
            }
            break;
        }
        let n = s
            .read(&mut buf)
            .await
            .map_err(|e| Exchange::Failed(e.into()))?;
        if n == 0 {
            eof = true;
        } else {
            raw.extend_from_slice(&buf[..n]);
        }
    }
    if !sse.is_empty() {
        on_frame(&sse);
    }
    Ok((
        HttpResult {
            status,
            body: body_out,
        },
        reusable && !eof,
    ))
}
