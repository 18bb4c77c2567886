//! Just enough HTTP/1.1 for loopback stand-ins: one request per connection, `Connection: close`
//! on every response, bodies by Content-Length (chunked is decoded too, for streaming clients).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// Header lines, names lowercased.
pub type Headers = Vec<(String, String)>;

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 32 * 1024 * 1024;
/// How long a server waits for a client to finish sending its request.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// One request as the server read it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent (`/a/b?x=1`).
    pub target: String,
    pub headers: Headers,
    pub body: Vec<u8>,
    /// The connection, for [`Request::peer_closed`] (`None` for requests built by hand).
    pub conn: Option<Arc<TcpStream>>,
}

impl Request {
    /// Whether the client has gone away (closed or died) while the handler was busy: a long poll
    /// must not hand its event to a dead client.
    pub fn peer_closed(&self) -> bool {
        let Some(conn) = &self.conn else { return false };
        if conn.set_nonblocking(true).is_err() {
            return true;
        }
        let mut byte = [0; 1];
        let closed = match conn.peek(&mut byte) {
            Ok(0) => true,
            Ok(_) => false, // it sent more (pipelining): still there
            Err(e) => e.kind() != io::ErrorKind::WouldBlock,
        };
        let _ = conn.set_nonblocking(false);
        closed
    }

    /// First header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The target without its query string.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

/// What a handler answers.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16) -> Response {
        Response { status, headers: Vec::new(), body: Vec::new() }
    }

    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        Response::new(status).header("Content-Type", "application/json").body(value.to_string())
    }

    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Response {
        self.body = body.into();
        self
    }
}

/// Case-insensitive header lookup.
pub fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// A loopback server: an accept thread plus one thread per connection.
///
/// The handler returns `None` to close the connection without answering (a lost response).
/// Handlers may block (long polls, injected hangs); they run on their connection's thread.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start<F>(handler: F) -> io::Result<Server>
    where
        F: Fn(&Request) -> Option<Response> + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stopping = Arc::new(AtomicBool::new(false));
        let handler = Arc::new(handler);
        let stop = stopping.clone();
        let accept_thread = std::thread::Builder::new().name(format!("http-{}", addr.port())).spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let handler = handler.clone();
                std::thread::spawn(move || serve_one(stream, &*handler));
            }
        })?;
        Ok(Server { addr, stopping, accept_thread: Some(accept_thread) })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake the blocking accept() so the thread sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
    }
}

fn serve_one(stream: TcpStream, handler: &dyn Fn(&Request) -> Option<Response>) {
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut request = match read_request(&mut reader) {
        Ok(Some(r)) => r,
        Ok(None) => return, // connected and closed (e.g. the shutdown wake-up)
        Err(_) => {
            let _ = write_response(&stream, &Response::new(400).body("bad request"));
            return;
        }
    };
    request.conn = stream.try_clone().ok().map(Arc::new);
    if let Some(response) = handler(&request) {
        let _ = write_response(&stream, &response);
    }
    let _ = stream.shutdown(Shutdown::Both);
}

fn read_request(reader: &mut impl BufRead) -> io::Result<Option<Request>> {
    let Some(head) = read_head(reader)? else {
        return Ok(None);
    };
    let mut lines = head.into_iter();
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(invalid("bad request line"));
    };
    let headers = parse_headers(lines)?;
    let body = read_body(reader, &headers, false)?;
    Ok(Some(Request { method: method.to_string(), target: target.to_string(), headers, body, conn: None }))
}

/// Lines of the head (request/status line and headers), without the blank line.
/// `None` if the peer closed before sending anything.
fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Vec<String>>> {
    let mut lines = Vec::new();
    let mut total = 0;
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line)?;
        if n == 0 {
            return if lines.is_empty() { Ok(None) } else { Err(eof()) };
        }
        total += n;
        if total > MAX_HEAD {
            return Err(invalid("head too large"));
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            if lines.is_empty() {
                continue; // tolerate stray CRLF before a request
            }
            return Ok(Some(lines));
        }
        lines.push(line);
    }
}

fn parse_headers(lines: impl Iterator<Item = String>) -> io::Result<Headers> {
    lines
        .map(|line| {
            let (name, value) = line.split_once(':').ok_or_else(|| invalid("bad header line"))?;
            Ok((name.trim().to_ascii_lowercase(), value.trim().to_string()))
        })
        .collect()
}

/// Reads a body framed by Content-Length or chunked encoding; otherwise empty for requests,
/// or everything up to EOF for responses (`until_eof`).
fn read_body(reader: &mut impl BufRead, headers: &Headers, until_eof: bool) -> io::Result<Vec<u8>> {
    let chunked = find_header(headers, "transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        return read_chunked(reader);
    }
    if let Some(len) = find_header(headers, "content-length") {
        let len: usize = len.trim().parse().map_err(|_| invalid("bad content-length"))?;
        if len > MAX_BODY {
            return Err(invalid("body too large"));
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body)?;
        return Ok(body);
    }
    let mut body = Vec::new();
    if until_eof {
        reader.take(MAX_BODY as u64).read_to_end(&mut body)?;
    }
    Ok(body)
}

fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        if reader.read_line(&mut size_line)? == 0 {
            return Err(eof());
        }
        let size = size_line.trim().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size, 16).map_err(|_| invalid("bad chunk size"))?;
        if body.len() + size > MAX_BODY {
            return Err(invalid("body too large"));
        }
        if size == 0 {
            // Trailers, then the blank line.
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0; 2];
        reader.read_exact(&mut crlf)?;
    }
}

fn write_response(mut stream: &TcpStream, response: &Response) -> io::Result<()> {
    let mut out = format!("HTTP/1.1 {} {}\r\n", response.status, reason_phrase(response.status));
    for (name, value) in &response.headers {
        let lower = name.to_ascii_lowercase();
        if lower == "content-length" || lower == "connection" || lower == "transfer-encoding" {
            continue; // framing is ours
        }
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", response.body.len()));
    stream.write_all(out.as_bytes())?;
    stream.write_all(&response.body)?;
    stream.flush()
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Blocking client for `http://host:port/path` URLs (loopback stand-ins only; no TLS).
/// Returns status, headers (names lowercased) and body. `timeout` bounds connect, each read and
/// each write.
pub fn request(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8], timeout: Duration) -> io::Result<(u16, Headers, Vec<u8>)> {
    let rest = url.strip_prefix("http://").ok_or_else(|| invalid("only http:// URLs are supported"))?;
    let (authority, target) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_string()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_string()),
    };
    let addr = authority.to_socket_addrs()?.next().ok_or_else(|| invalid("cannot resolve host"))?;
    let stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let _ = stream.set_nodelay(true);

    let mut head = format!("{method} {target} HTTP/1.1\r\n");
    let has = |n: &str| headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(n));
    if !has("host") {
        head.push_str(&format!("Host: {authority}\r\n"));
    }
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        if lower == "content-length" || lower == "connection" || lower == "transfer-encoding" {
            continue;
        }
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()));
    let mut writer = &stream;
    writer.write_all(head.as_bytes())?;
    writer.write_all(body)?;
    writer.flush()?;

    let mut reader = BufReader::new(&stream);
    let head = read_head(&mut reader)?.ok_or_else(eof)?;
    let mut lines = head.into_iter();
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| invalid("bad status line"))?;
    let response_headers = parse_headers(lines)?;
    let no_body = method.eq_ignore_ascii_case("HEAD") || status == 204 || status == 304;
    let body = if no_body { Vec::new() } else { read_body(&mut reader, &response_headers, true)? };
    Ok((status, response_headers, body))
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

fn eof() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed mid-message")
}

/// State shared by a server's connection threads and its owner; `changed` wakes waiters.
pub struct Shared<T> {
    inner: Mutex<T>,
    pub changed: Condvar,
}

impl<T: Default> Default for Shared<T> {
    fn default() -> Self {
        Shared { inner: Mutex::new(T::default()), changed: Condvar::new() }
    }
}

impl<T> Shared<T> {
    /// The lock, even after a panicking holder: test servers keep serving.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(5);

    #[test]
    fn round_trip_with_headers_query_and_body() {
        let server = Server::start(|req| {
            let echo = serde_json::json!({
                "method": req.method,
                "target": req.target,
                "path": req.path(),
                "x": req.header("X-Custom"),
                "len": req.body.len(),
            });
            Some(Response::json(201, &echo).header("X-Reply", "yes"))
        })
        .unwrap();
        let url = format!("{}/some/path?a=1&b=2", server.base_url());
        let (status, headers, body) = request("PUT", &url, &[("X-Custom", "v")], b"hello", T).unwrap();
        assert_eq!(status, 201);
        assert_eq!(find_header(&headers, "x-reply"), Some("yes"));
        assert_eq!(find_header(&headers, "connection"), Some("close"));
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["method"], "PUT");
        assert_eq!(v["target"], "/some/path?a=1&b=2");
        assert_eq!(v["path"], "/some/path");
        assert_eq!(v["x"], "v");
        assert_eq!(v["len"], 5);
    }

    #[test]
    fn none_from_handler_closes_without_answer() {
        let server = Server::start(|_| None).unwrap();
        let err = request("GET", &server.base_url(), &[], b"", T).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn handler_sees_a_client_that_went_away() {
        let (tx, rx) = std::sync::mpsc::channel();
        let server = Server::start(move |req| {
            let before = req.peer_closed();
            std::thread::sleep(Duration::from_millis(300));
            tx.send((before, req.peer_closed())).unwrap();
            None
        })
        .unwrap();
        let _ = request("GET", &server.base_url(), &[], b"", Duration::from_millis(100));
        assert_eq!(rx.recv_timeout(T).unwrap(), (false, true));
    }

    #[test]
    fn chunked_request_body_is_decoded() {
        let server = Server::start(|req| Some(Response::new(200).body(req.body.clone()))).unwrap();
        let mut s = TcpStream::connect(server.addr()).unwrap();
        s.write_all(b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
        assert!(out.ends_with("\r\n\r\nhello world"), "{out}");
    }

    #[test]
    fn timeout_applies_to_a_silent_server() {
        let server = Server::start(|_| {
            std::thread::sleep(Duration::from_secs(2));
            None
        })
        .unwrap();
        let err = request("GET", &server.base_url(), &[], b"", Duration::from_millis(200)).unwrap_err();
        assert!(matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut), "{err:?}");
    }
}
