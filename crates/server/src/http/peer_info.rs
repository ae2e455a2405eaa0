//! The connection's peer, as axum's `ConnectInfo`: the kernel's credentials on a unix socket,
//! nothing on TCP (where a caller is only its token).

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;

use crate::peer::Peer;

#[derive(Clone, Debug)]
pub(crate) struct PeerInfo(pub Option<Peer>);

impl Connected<IncomingStream<'_, tokio::net::UnixListener>> for PeerInfo {
    fn connect_info(stream: IncomingStream<'_, tokio::net::UnixListener>) -> PeerInfo {
        PeerInfo(
            stream
                .io()
                .peer_cred()
                .ok()
                .map(|c| Peer::new(c.uid(), c.gid(), c.pid())),
        )
    }
}

impl Connected<IncomingStream<'_, tokio::net::TcpListener>> for PeerInfo {
    fn connect_info(_: IncomingStream<'_, tokio::net::TcpListener>) -> PeerInfo {
        PeerInfo(None)
    }
}
