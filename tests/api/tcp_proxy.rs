//! A TCP proxy the test controls, between the application and PostgreSQL, to simulate an
//! outage without touching the machine's shared server.
//!
//! [`TcpProxy::start`] listens on `127.0.0.1:0` and forwards each connection to `upstream`.
//! [`TcpProxy::black_hole`] makes the database unreachable the way a lost network does:
//! connections stay open and new ones are accepted, but nothing is forwarded either way, so
//! every peer waits for bytes that never come (no reset, no error). [`TcpProxy::restore`]
//! brings it back: the connections that were cut off are closed (their bytes are lost, as a
//! server that dropped them would), and new ones forward again.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Forward,
    BlackHole,
}

/// The proxy; dropping it stops accepting (connections already made live on until closed).
pub struct TcpProxy {
    pub addr: SocketAddr,
    mode: watch::Sender<Mode>,
    accept: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    pub async fn start(upstream: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (mode, _) = watch::channel(Mode::Forward);
        let modes = mode.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, upstream, modes.subscribe()));
            }
        });
        TcpProxy { addr, mode, accept }
    }

    pub fn black_hole(&self) {
        self.mode.send_replace(Mode::BlackHole);
    }

    pub fn restore(&self) {
        self.mode.send_replace(Mode::Forward);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn serve(mut client: TcpStream, upstream: SocketAddr, mut mode: watch::Receiver<Mode>) {
    let forwarding = *mode.borrow_and_update() == Mode::Forward;
    if forwarding && let Ok(mut server) = TcpStream::connect(upstream).await {
        tokio::select! {
            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => return,
            _ = mode.wait_for(|m| *m == Mode::BlackHole) => {}
        }
        // Cut off: neither socket is read or written until the proxy is restored.
        let _ = mode.wait_for(|m| *m == Mode::Forward).await;
        return;
    }
    // Accepted during the outage: held open, silent, and closed when it ends.
    let _ = mode.wait_for(|m| *m == Mode::Forward).await;
}
