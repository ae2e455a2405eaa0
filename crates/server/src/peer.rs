//! Who is on the other end of a unix socket (SO_PEERCRED), and unix user names.
//!
//! The kernel fills in the peer's uid and pid when the connection is made; no caller can claim
//! another. Names come from the system's user database (`getpwuid_r`/`getpwnam_r`).

use std::ffi::{CStr, CString};
use std::os::fd::AsRawFd;

/// The process that connected, as the kernel saw it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Peer {
    pub uid: u32,
    pub gid: u32,
    pub pid: Option<i32>,
    /// The unix user name of `uid`, when it has one.
    pub user: Option<String>,
}

impl Peer {
    pub fn new(uid: u32, gid: u32, pid: Option<i32>) -> Peer {
        Peer {
            uid,
            gid,
            pid,
            user: user_name(uid),
        }
    }

    /// The user's name, or `uid N` when it has none.
    pub fn label(&self) -> String {
        self.user.clone().unwrap_or_else(|| format!("uid {}", self.uid))
    }
}

/// The peer credentials of a connected unix socket.
pub fn peer_of(socket: &impl AsRawFd) -> std::io::Result<Peer> {
    let mut cred = libc::ucred { pid: 0, uid: 0, gid: 0 };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` is a valid, writable ucred and `len` its size, as SO_PEERCRED requires.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(Peer::new(cred.uid, cred.gid, (cred.pid > 0).then_some(cred.pid)))
}

/// A user's record from the system's user database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnixUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: std::path::PathBuf,
}

fn from_passwd(pw: &libc::passwd) -> Option<UnixUser> {
    // SAFETY: getpw*_r filled `pw` with pointers into the caller's buffer, still alive here.
    let (name, home) = unsafe { (CStr::from_ptr(pw.pw_name), CStr::from_ptr(pw.pw_dir)) };
    Some(UnixUser {
        name: name.to_str().ok()?.to_owned(),
        uid: pw.pw_uid,
        gid: pw.pw_gid,
        home: std::path::PathBuf::from(home.to_str().ok()?),
    })
}

fn lookup(query: impl Fn(&mut libc::passwd, &mut [libc::c_char], &mut *mut libc::passwd) -> i32) -> Option<UnixUser> {
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid value to be overwritten by getpw*_r.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    let rc = query(&mut pw, &mut buf, &mut result);
    if rc != 0 || result.is_null() {
        return None;
    }
    from_passwd(&pw)
}

/// The user with this uid.
pub fn user_by_uid(uid: u32) -> Option<UnixUser> {
    lookup(|pw, buf, result| {
        // SAFETY: every pointer is valid for the call; buf.len() is its real size.
        unsafe { libc::getpwuid_r(uid, pw, buf.as_mut_ptr(), buf.len(), result) }
    })
}

/// The user with this name.
pub fn user_by_name(name: &str) -> Option<UnixUser> {
    let cname = CString::new(name).ok()?;
    lookup(|pw, buf, result| {
        // SAFETY: as above; cname is a valid NUL-terminated string.
        unsafe { libc::getpwnam_r(cname.as_ptr(), pw, buf.as_mut_ptr(), buf.len(), result) }
    })
}

pub fn user_name(uid: u32) -> Option<String> {
    user_by_uid(uid).map(|u| u.name)
}

/// The real uid of this process.
pub fn current_uid() -> u32 {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_pair_knows_its_own_process() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let peer = peer_of(&a).unwrap();
        assert_eq!(peer.uid, current_uid());
        assert_eq!(peer.pid, Some(std::process::id() as i32));
    }

    #[test]
    fn root_is_in_the_user_database() {
        let root = user_by_uid(0).unwrap();
        assert_eq!(root.name, "root");
        assert_eq!(user_by_name("root").unwrap().uid, 0);
        assert!(user_by_name("no-such-user-airlock-test").is_none());
        assert!(user_by_name("bad\0name").is_none());
    }
}
