//! A small HTTP/1.1 client: one connection per request, chunked or length-delimited or
//! read-to-close bodies, SSE frames handed to a callback as they arrive. Hand-written so the
//! load generator measures time to the first SSE frame exactly, with no client-side pooling or
//! buffering in between.

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

pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
    mut on_frame: impl FnMut(&[u8]),
) -> Res<HttpResult> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
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
    s.write_all(&bytes).await?;

    let mut raw: Vec<u8> = Vec::with_capacity(8192);
    let mut buf = vec![0u8; 16384];
    // Headers.
    let header_end = loop {
        if let Some(i) = find(&raw, b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return Err("connection closed before the response headers".into());
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
                    return Ok(HttpResult {
                        status,
                        body: body_out,
                    });
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
                return Err("connection closed inside a chunked body".into());
            }
            break;
        }
        let n = s.read(&mut buf).await?;
        if n == 0 {
            eof = true;
        } else {
            raw.extend_from_slice(&buf[..n]);
        }
    }
    if !sse.is_empty() {
        on_frame(&sse);
    }
    Ok(HttpResult {
        status,
        body: body_out,
    })
}
