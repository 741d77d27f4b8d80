//! The systemd notification protocol (sd_notify): datagrams to the socket
//! named by `NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace).
//! Without `NOTIFY_SOCKET` every call does nothing.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// A connection to the service manager, if there is one.
pub struct Notifier {
    target: Option<(UnixDatagram, std::os::unix::net::SocketAddr)>,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET`; an unusable socket is logged and ignored.
    pub fn from_env() -> Notifier {
        let target = std::env::var("NOTIFY_SOCKET").ok().and_then(|path| {
            let addr = if let Some(name) = path.strip_prefix('@') {
                use std::os::linux::net::SocketAddrExt;
                std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
            } else {
                std::os::unix::net::SocketAddr::from_pathname(&path)
            };
            match (UnixDatagram::unbound(), addr) {
                (Ok(socket), Ok(addr)) => Some((socket, addr)),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(error = %e, "NOTIFY_SOCKET is set but unusable; not notifying systemd");
                    None
                }
            }
        });
        Notifier { target }
    }

    /// Sends one message such as `READY=1`.
    pub fn send(&self, message: &str) {
        if let Some((socket, addr)) = &self.target {
            if let Err(e) = socket.send_to_addr(message.as_bytes(), addr) {
                tracing::warn!(error = %e, "cannot notify systemd");
            }
        }
    }

    /// The daemon is ready.
    pub fn ready(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={status}"));
    }

    /// A status line for `systemctl status`.
    pub fn status(&self, status: &str) {
        self.send(&format!("STATUS={status}"));
    }

    /// The daemon is stopping.
    pub fn stopping(&self) {
        self.send("STOPPING=1\nSTATUS=stopping");
    }

    /// A watchdog heartbeat.
    pub fn watchdog(&self) {
        self.send("WATCHDOG=1");
    }

    /// Settings are being reloaded (SIGHUP).
    pub fn reloading(&self) {
        self.send("RELOADING=1");
    }
}

/// Half the watchdog period systemd asked for (`WATCHDOG_USEC`, for this
/// process when `WATCHDOG_PID` is set), the usual heartbeat interval; an
/// error names a period too short to keep.
pub fn watchdog_interval() -> Result<Option<Duration>, String> {
    if let Ok(pid) = std::env::var("WATCHDOG_PID") {
        if pid.trim() != std::process::id().to_string() {
            return Ok(None);
        }
    }
    let Some(raw) = std::env::var("WATCHDOG_USEC").ok() else {
        return Ok(None);
    };
    let usec: u64 = raw.trim().parse().map_err(|_| {
        format!("WATCHDOG_USEC = {raw:?} is not a number of microseconds (set by WatchdogSec=)")
    })?;
    match usec {
        0 => Ok(None),
        1..=99_999 => Err(format!(
            "WATCHDOG_USEC = {usec} asks for a heartbeat more often than every 50 ms; set \
             WatchdogSec= in the unit to at least 1s (60s is the shipped value)"
        )),
        _ => Ok(Some(Duration::from_micros(usec / 2))),
    }
}
