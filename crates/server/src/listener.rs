//! A listener served on a thread of its own (the gateways): its address, a way to stop it, and a
//! way to serve until the process ends.

use std::net::SocketAddr;
use std::thread::JoinHandle;

/// A running listener. Dropping it stops it; [`Listening::wait`] serves until the process ends.
pub struct Listening {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Listening {
    /// `stop` is sent to when the listener is dropped; `thread` is joined then.
    pub fn new(addr: SocketAddr, stop: tokio::sync::oneshot::Sender<()>, thread: JoinHandle<()>) -> Listening {
        Listening {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the process ends.
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
