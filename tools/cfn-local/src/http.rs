//! HTTP for the loopback stand-ins, on libraries: servers are hyper (HTTP/1.1) over tokio, client
//! calls go through reqwest. A handler gets the request with its whole body and answers `None` to
//! close the connection unanswered (a lost response).
//!
//! One multi-thread runtime with two workers carries every server and client call of the process:
//! handlers only wait (long polls, injected hangs) or forward, so two threads serve any number of
//! held requests, and a test process that starts many stacks does not start a runtime for each.
//! Blocking code (tests, the demo, the CLI) enters it through [`block_on`].

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

pub use hyper::{HeaderMap as Headers, Method, StatusCode};
/// A request as handlers get it: head and whole body.
pub type Request = hyper::Request<Bytes>;
pub type Response = hyper::Response<Bytes>;

static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder
        .worker_threads(2)
        .thread_name("cfn-local-http")
        .enable_all()
        .build()
        .expect("start the harness's tokio runtime")
});

/// No connection pool: every call opens its own connection, so one a server closed unanswered (a
/// lost response, a dropped stand-in) is never reused for a later call. No proxy: loopback only.
static CLIENT: LazyLock<reqwest::Client> = LazyLock::new(|| {
    // Built together with the function's crate (`cargo test --workspace`), reqwest gets its
    // `rustls-no-provider` feature, and a client then needs a process-wide crypto provider even
    // for plain HTTP. The function's own provider, ring; an error only means one is installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()
        .expect("build the HTTP client")
});

/// Runs `future` on the harness runtime until it ends. Inside another runtime (a `#[tokio::test]`)
/// it blocks a helper thread instead, since tokio forbids blocking a runtime's own thread.
pub fn block_on<F: Future + Send>(future: F) -> F::Output
where
    F::Output: Send,
{
    if tokio::runtime::Handle::try_current().is_err() {
        return RUNTIME.block_on(future);
    }
    std::thread::scope(|s| {
        s.spawn(|| RUNTIME.block_on(future))
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// A response with these headers and body.
pub fn respond(status: u16, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Response {
    let builder = headers
        .iter()
        .fold(hyper::Response::builder().status(status), |b, (name, value)| {
            b.header(*name, *value)
        });
    builder.body(body.into()).expect("a valid status and headers")
}

pub fn json(status: u16, value: &serde_json::Value) -> Response {
    respond(status, &[("content-type", "application/json")], value.to_string())
}

/// A loopback server and the state its handler shares with its owner (reached through `Deref`).
/// Dropping it stops it and closes its connections, answered or not.
pub struct Server<S> {
    state: Arc<Shared<S>>,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl<S: Send + Sync + 'static> Server<S> {
    pub fn start<H, F>(state: S, handler: H) -> io::Result<Server<S>>
    where
        H: Fn(Arc<Shared<S>>, Request) -> F + Send + Sync + 'static,
        F: Future<Output = Option<Response>> + Send + 'static,
    {
        let listener = block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Shared(watch::Sender::new(state)));
        let (shared, handler) = (state.clone(), Arc::new(handler));
        let task = RUNTIME.spawn(async move {
            // The connections are tasks of this one, so aborting it (Drop) ends them all.
            let mut connections = JoinSet::new();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                while connections.try_join_next().is_some() {}
                let _ = tcp.set_nodelay(true);
                let (state, handler) = (shared.clone(), handler.clone());
                let service = service_fn(move |req| answer(handler.clone(), state.clone(), req));
                connections.spawn(http1::Builder::new().serve_connection(TokioIo::new(tcp), service));
            }
        });
        Ok(Server { state, addr, task })
    }
}

impl<S> Server<S> {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl<S> std::ops::Deref for Server<S> {
    type Target = Shared<S>;
    fn deref(&self) -> &Shared<S> {
        &self.state
    }
}

impl<S> std::fmt::Debug for Server<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl<S> Drop for Server<S> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Reads the body, then asks the handler. hyper drops this future when the client goes away, and
/// closes the connection without a response when it ends in an error (`None` from the handler).
async fn answer<S, H, F>(
    handler: Arc<H>,
    state: Arc<Shared<S>>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, BoxError>
where
    H: Fn(Arc<Shared<S>>, Request) -> F,
    F: Future<Output = Option<Response>>,
{
    let (head, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let response = handler(state, Request::from_parts(head, body))
        .await
        .ok_or("closed unanswered")?;
    Ok(response.map(Full::new))
}

/// The headers without those that frame one hop (each side's HTTP stack sets its own).
pub fn end_to_end(headers: &Headers) -> Headers {
    let mut headers = headers.clone();
    for hop in [HOST, CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING] {
        headers.remove(hop);
    }
    headers
}

/// A call with the shared client, to be [`send`].
pub fn client(method: Method, url: &str) -> reqwest::RequestBuilder {
    CLIENT.request(method, url)
}

/// Sends a call: status, headers and body.
pub async fn send(call: reqwest::RequestBuilder) -> io::Result<(StatusCode, Headers, Bytes)> {
    let response = call.send().await.map_err(io_error)?;
    let (status, headers) = (response.status(), response.headers().clone());
    Ok((status, headers, response.bytes().await.map_err(io_error)?))
}

/// A call for blocking callers: status, headers and body. `timeout` bounds the whole call.
pub fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> io::Result<(u16, Headers, Vec<u8>)> {
    let method = Method::from_bytes(method.as_bytes()).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let call = headers
        .iter()
        .fold(client(method, url), |call, (name, value)| call.header(*name, *value));
    let (status, headers, body) = block_on(send(call.body(body.to_vec()).timeout(timeout)))?;
    Ok((status.as_u16(), headers, body.into()))
}

/// reqwest's error with the kind callers tell apart: a timeout, a refused connection, or a
/// connection closed before a whole answer came (`UnexpectedEof`).
fn io_error(e: reqwest::Error) -> io::Error {
    let kind = match () {
        _ if e.is_timeout() => io::ErrorKind::TimedOut,
        _ if e.is_connect() => io::ErrorKind::ConnectionRefused,
        _ if e.is_builder() => io::ErrorKind::InvalidInput,
        _ => io::ErrorKind::UnexpectedEof,
    };
    io::Error::new(kind, e)
}

/// State shared by a server's handlers and its owner. Every change wakes whoever waits for one
/// ([`Shared::until`], [`Shared::wait`]): long polls, hangs, and waits for answers.
pub struct Shared<T>(watch::Sender<T>);

impl<T> Shared<T> {
    pub fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.0.borrow())
    }

    pub fn update<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let mut out = None;
        self.0.send_modify(|state| out = Some(f(state)));
        out.expect("send_modify runs its closure")
    }

    /// Waits until `f` gives `Some` (checked now and after every change).
    pub async fn until<R>(&self, mut f: impl FnMut(&T) -> Option<R>) -> R {
        let mut out = None;
        let _ = self
            .0
            .subscribe()
            .wait_for(|state| {
                out = f(state);
                out.is_some()
            })
            .await;
        out.expect("the state outlives its waiters")
    }

    /// [`Shared::until`] for blocking callers, giving up after `timeout`.
    pub fn wait<R: Send>(&self, timeout: Duration, f: impl FnMut(&T) -> Option<R> + Send) -> Option<R>
    where
        T: Send + Sync,
    {
        block_on(async { tokio::time::timeout(timeout, self.until(f)).await }).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(5);

    #[test]
    fn none_closes_unanswered_and_drop_closes_held_calls() {
        let server = Server::start((), |_, _| async { None }).unwrap();
        assert_eq!(
            request("GET", &server.base_url(), &[], b"", T).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        let held = Server::start((), |_, _| std::future::pending()).unwrap();
        let url = held.base_url();
        std::thread::scope(|s| {
            let call = s.spawn(|| request("GET", &url, &[], b"", T));
            std::thread::sleep(Duration::from_millis(200));
            drop(held);
            assert_eq!(call.join().unwrap().unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        });
        assert_eq!(
            request("GET", &url, &[], b"", T).unwrap_err().kind(),
            io::ErrorKind::ConnectionRefused
        );
    }

    #[test]
    fn blocking_calls_work_inside_another_runtime() {
        let other = tokio::runtime::Builder::new_current_thread().build().unwrap();
        other.block_on(async {
            let server = Server::start((), |_, _| async { Some(respond(204, &[], "")) }).unwrap();
            assert_eq!(request("GET", &server.base_url(), &[], b"", T).unwrap().0, 204);
        });
    }
}
