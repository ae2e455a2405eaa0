//! Who is on the other end of a loopback TCP connection: the kernel lists every TCP socket with its
//! owner's uid in `/proc/net/tcp` and `/proc/net/tcp6`; the client's socket is the one whose local
//! address is our peer and whose remote address is us.
//!
//! This is defence in depth for a page on loopback, which an agent on the same machine can reach
//! with `curl`: a request from a unix user that runs agents is refused before anything else, even
//! though it could do nothing without a passkey.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The uid owning the client end of the connection `peer` → `local`, when this machine has it
/// (None for a connection from elsewhere, or when /proc cannot be read).
pub(crate) fn client_uid(peer: SocketAddr, local: SocketAddr) -> Option<u32> {
    if !peer.ip().is_loopback() && !is_mapped_loopback(peer.ip()) {
        return None;
    }
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().find_map(|table| {
        let text = std::fs::read_to_string(table).ok()?;
        find_owner(&text, peer, local)
    })
}

fn is_mapped_loopback(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()))
}

/// The uid of the socket whose local address is `client` and remote address is `server`.
pub(crate) fn find_owner(table: &str, client: SocketAddr, server: SocketAddr) -> Option<u32> {
    table
        .lines()
        .skip(1)
        .filter_map(parse_line)
        .find(|e| same(e.local, client) && same(e.remote, server))
        .map(|e| e.uid)
}

/// Equal, counting an IPv4 address and its IPv4-mapped IPv6 form as one.
fn same(a: SocketAddr, b: SocketAddr) -> bool {
    let canon = |s: SocketAddr| match s.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(s.ip(), IpAddr::V4),
        ip => ip,
    };
    a.port() == b.port() && canon(a) == canon(b)
}

#[derive(Debug, PartialEq, Eq)]
struct Entry {
    local: SocketAddr,
    remote: SocketAddr,
    uid: u32,
}

/// `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode`
fn parse_line(line: &str) -> Option<Entry> {
    let mut fields = line.split_whitespace();
    let _slot = fields.next()?;
    let local = parse_addr(fields.next()?)?;
    let remote = parse_addr(fields.next()?)?;
    // st, tx_queue:rx_queue, tr:tm->when, retrnsmt, then uid.
    let uid = fields.nth(4)?.parse().ok()?;
    Some(Entry { local, remote, uid })
}

/// `0100007F:1F90` (IPv4) or 32 hex digits (IPv6): each 32-bit word is printed as a number in the
/// machine's byte order, so its native-order bytes are the address's bytes.
fn parse_addr(text: &str) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words = |hex: &str| -> Option<Vec<u32>> {
        (0..hex.len() / 8)
            .map(|i| u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16).ok())
            .collect()
    };
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(words(ip)?[0].to_ne_bytes())),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, w) in words(ip)?.iter().enumerate() {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&w.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex4(ip: Ipv4Addr) -> String {
        format!("{:08X}", u32::from_ne_bytes(ip.octets()))
    }

    #[test]
    fn finds_the_client_socket_of_a_connection() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:1D22 00000000:0000 0A 00000000:00000000 00:00000000 00000000   998        0 1 1 0000000000000000 100 0 0 10 0\n   1: 0100007F:A5C4 0100007F:1D22 01 00000000:00000000 00:00000000 00000000  1001        0 2 1 0000000000000000 20 4 30 10 -1\n   2: 0100007F:1D22 0100007F:A5C4 01 00000000:00000000 00:00000000 00000000   998        0 3 1 0000000000000000 20 4 30 10 -1\n";
        let server: SocketAddr = "127.0.0.1:7458".parse().unwrap();
        let client: SocketAddr = "127.0.0.1:42436".parse().unwrap();
        assert_eq!(find_owner(table, client, server), Some(1001));
        assert_eq!(find_owner(table, server, client), Some(998));
        assert_eq!(find_owner(table, "127.0.0.1:1".parse().unwrap(), server), None);
        assert_eq!(hex4(Ipv4Addr::LOCALHOST), "0100007F");
    }

    #[test]
    fn ipv6_and_mapped_addresses_are_read() {
        let line = "   0: 0000000000000000FFFF00000100007F:A5C4 0000000000000000FFFF00000100007F:1D22 01 00000000:00000000 00:00000000 00000000  1002        0 9";
        let e = parse_line(line).unwrap();
        assert_eq!(e.uid, 1002);
        assert!(same(e.local, "127.0.0.1:42436".parse().unwrap()));
        let v6 = "   0: 00000000000000000000000001000000:1D22 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   998        0 9";
        assert_eq!(parse_line(v6).unwrap().local, "[::1]:7458".parse().unwrap());
    }

    #[test]
    fn this_process_owns_its_own_loopback_connection() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server_side, peer) = listener.accept().unwrap();
        // SAFETY: getuid cannot fail.
        let me = unsafe { libc::getuid() };
        assert_eq!(client_uid(peer, server_side.local_addr().unwrap()), Some(me));
        drop(client);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_lines_never_panic(line in ".{0,200}") {
            let _ = parse_line(&line);
            let _ = find_owner(&line, "127.0.0.1:1".parse().unwrap(), "127.0.0.1:2".parse().unwrap());
        }

        #[test]
        fn formatted_ipv4_entries_round_trip(a in proptest::prelude::any::<[u8; 4]>(), p in proptest::prelude::any::<u16>(), uid in proptest::prelude::any::<u32>()) {
            let ip = Ipv4Addr::from(a);
            let line = format!("   1: {}:{p:04X} {}:{p:04X} 01 00000000:00000000 00:00000000 00000000 {uid} 0 1", hex4(ip), hex4(ip));
            let e = parse_line(&line).unwrap();
            proptest::prop_assert_eq!(e.local, SocketAddr::new(IpAddr::V4(ip), p));
            proptest::prop_assert_eq!(e.uid, uid);
        }
    }
}
