//! Enlarges the receive buffer of the trap receiver's UDP socket.
//!
//! A burst of traps arrives faster than any receiver can be scheduled on a busy 2-core machine; what the kernel
//! cannot queue in the socket's receive buffer is dropped before Outpost sees it (and cannot be counted).
//! The default buffer (`net.core.rmem_default`, 208 KiB) holds ~190 typical traps, about 8 ms at 25,000/s.
//! async-snmp binds its socket itself and does not expose it, so the socket is found among this process's
//! file descriptors by its bound address, and `SO_RCVBUF` is set on it. The kernel caps the value at
//! `net.core.rmem_max`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Sets `SO_RCVBUF` to `bytes` on this process's UDP socket bound to `local`.
/// Returns the size the kernel granted (it doubles the request for bookkeeping and caps it at
/// `net.core.rmem_max`), or `None` when no such socket was found.
pub fn enlarge_receive_buffer(local: SocketAddr, bytes: usize) -> std::io::Result<Option<usize>> {
    for entry in std::fs::read_dir("/proc/self/fd")? {
        let Ok(entry) = entry else { continue };
        let Ok(target) = std::fs::read_link(entry.path()) else { continue };
        if !target.to_string_lossy().starts_with("socket:") {
            continue;
        }
        let Ok(fd) = entry.file_name().to_string_lossy().parse::<libc::c_int>() else { continue };
        if !is_udp(fd) || bound_address(fd) != Some(local) {
            continue;
        }
        let want = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
        // SAFETY: setsockopt on a socket descriptor of this process, with a c_int option value and its size.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&raw const want).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        return Ok(int_option(fd, libc::SO_RCVBUF).map(|n| n as usize));
    }
    Ok(None)
}

fn int_option(fd: libc::c_int, option: libc::c_int) -> Option<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `value`, which is that large.
    let rc = unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, option, (&raw mut value).cast(), &raw mut len) };
    (rc == 0).then_some(value)
}

fn is_udp(fd: libc::c_int) -> bool {
    int_option(fd, libc::SO_TYPE) == Some(libc::SOCK_DGRAM)
}

fn bound_address(fd: libc::c_int) -> Option<SocketAddr> {
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: getsockname writes at most `len` bytes into `storage`, which is that large.
    let rc = unsafe { libc::getsockname(fd, (&raw mut storage).cast(), &raw mut len) };
    if rc != 0 {
        return None;
    }
    match libc::c_int::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let sin: libc::sockaddr_in = unsafe { std::ptr::read((&raw const storage).cast()) };
            let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Some(SocketAddr::new(IpAddr::V4(ip), u16::from_be(sin.sin_port)))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let sin6: libc::sockaddr_in6 = unsafe { std::ptr::read((&raw const storage).cast()) };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Some(SocketAddr::new(IpAddr::V6(ip), u16::from_be(sin6.sin6_port)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_socket_by_address_and_grows_its_buffer() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let local = socket.local_addr().expect("addr");
        let before = int_option(std::os::fd::AsRawFd::as_raw_fd(&socket), libc::SO_RCVBUF).expect("getsockopt");
        let granted = enlarge_receive_buffer(local, 1 << 20).expect("set").expect("socket found");
        // the kernel may cap it at rmem_max, but never shrinks it below the request's floor
        assert!(granted >= before.min(1 << 20) as usize, "{before} -> {granted}");
        let nobody: SocketAddr = "127.0.0.1:1".parse().expect("addr");
        assert_eq!(enlarge_receive_buffer(nobody, 1 << 20).expect("scan"), None);
    }
}
