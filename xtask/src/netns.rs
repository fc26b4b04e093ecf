//! A network namespace of the measurement's own: the workers' "other machine".
//!
//! [`Netns::create`] makes a namespace with a veth pair (a virtual cable)
//! between it and the host, an address at each end, and returns a guard that
//! runs programs inside it ([`Netns::command`]) and deletes it when dropped;
//! deleting the namespace deletes the pair. A Ctrl-C of `cargo xtask` deletes
//! it too, and a namespace left by a run that was killed outright (its name
//! holds the pid of the run that made it) is deleted by the next run.
//!
//! Making one needs root and the `ip` command; where either is missing,
//! [`Netns::create`] says why, and the measurement runs without one.

use anyhow::{Context, bail};
use std::net::Ipv4Addr;
use std::process::Command;
use workers::interrupt::{self, OnSignal};

/// Every namespace this module makes is named this, then the maker's pid.
const PREFIX: &str = "xtask-rtt-";

/// A namespace and its veth pair; deleted when dropped.
#[derive(Debug)]
pub struct Netns {
    /// `xtask-rtt-<pid>`.
    name: String,
    /// The host's end of the pair: its name, and its address, which a relay
    /// listens on.
    veth: String,
    host: Ipv4Addr,
    /// Deletes the namespace if a signal ends xtask.
    _on_signal: OnSignal,
}

impl Netns {
    /// Makes the namespace, after deleting any left by a run whose process
    /// is gone. An error says what failed (not root, no `ip`).
    pub fn create() -> anyhow::Result<Netns> {
        sweep_stale();
        let pid = std::process::id();
        let name = format!("{PREFIX}{pid}");
        // A /30 of its own in 10.213.0.0/16, from the pid, so that two runs
        // at once do not share addresses: .1 the host's end, .2 the other.
        let slot = pid % 16_384;
        let base = u32::from(Ipv4Addr::new(10, 213, 0, 0)) + 4 * slot;
        let (host, inside) = (Ipv4Addr::from(base + 1), Ipv4Addr::from(base + 2));
        // Interface names hold 15 bytes at most: "xrtt" + 7 digits + 1.
        let (veth, peer) = (format!("xrtt{pid}h"), format!("xrtt{pid}n"));
        // Registered before anything exists, so that no Ctrl-C falls between
        // making and registering; deleting what is not there does no harm.
        let doomed = (name.clone(), veth.clone());
        let _on_signal = interrupt::creating(|| {
            OnSignal::new(move || delete(&doomed.0, &doomed.1))
        });
        ip(&["netns", "add", &name])?;
        let ns = Netns {
            name,
            veth: veth.clone(),
            host,
            _on_signal,
        };
        let (host_cidr, inside_cidr) =
            (format!("{host}/30"), format!("{inside}/30"));
        let made = (|| {
            ip(&["link", "add", &veth, "type", "veth", "peer", "name", &peer])?;
            ip(&["link", "set", &peer, "netns", &ns.name])?;
            ip(&["addr", "add", &host_cidr, "dev", &veth])?;
            ip(&["link", "set", &veth, "up"])?;
            let inside = ["netns", "exec", &ns.name, "ip"];
            ip(&[&inside[..], &["addr", "add", &inside_cidr, "dev", &peer]]
                .concat())?;
            ip(&[&inside[..], &["link", "set", &peer, "up"]].concat())?;
            ip(&[&inside[..], &["link", "set", "lo", "up"]].concat())
        })();
        // If that failed, dropping `ns` deletes what was made.
        made.map(|()| ns)
    }

    /// The host's end of the cable: where programs inside reach the host.
    pub fn host(&self) -> Ipv4Addr {
        self.host
    }

    /// A command that runs `program` inside the namespace (with the caller's
    /// environment, as `ip netns exec` keeps it).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name]).arg(program);
        cmd
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        delete(&self.name, &self.veth);
    }
}

/// Deletes the pair, then the namespace. The kernel deletes a namespace's
/// interfaces a moment after the namespace itself; deleting the pair first
/// takes it away at once. Either may be missing (a half-made namespace).
fn delete(name: &str, veth: &str) {
    let _ = ip(&["link", "del", veth]);
    // A Ctrl-C's clean-up and the guard's drop may both come here: only a
    // namespace still there after a failed delete is worth a word.
    let there = || std::path::Path::new("/run/netns").join(name).exists();
    if let Err(e) = ip(&["netns", "del", name])
        && there()
    {
        eprintln!("xtask: {e:#}; delete it with `ip netns del {name}`");
    }
}

/// Runs `ip` with `args`; an error holds what it said.
fn ip(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("cannot run `ip` (iproute2 is not installed)")?;
    if !out.status.success() {
        bail!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Deletes every namespace this module made in a run whose process is gone.
fn sweep_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let pid = name.strip_prefix(PREFIX).and_then(|p| p.parse().ok());
        if let Some(pid) = pid
            && !workers::ps::exists(pid)
        {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where namespaces can be made (as root), one is reachable from the host
    /// through its cable, and gone once dropped, and one left by a run that
    /// is gone is swept; elsewhere it says why.
    #[test]
    fn a_namespace_reaches_the_host_and_leaves_nothing() {
        // Above any pid Linux hands out: the run that made it is gone.
        let stale = format!("{PREFIX}4294967");
        let _ = ip(&["netns", "add", &stale]);
        let ns = match Netns::create() {
            Ok(ns) => ns,
            Err(e) => {
                let why = format!("{e:#}");
                assert!(why.contains("ip"), "{why}");
                return;
            }
        };
        let listener = std::net::TcpListener::bind((ns.host(), 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let to = format!("/dev/tcp/{}/{port}", ns.host());
        let mut inside = ns.command("bash");
        let child = inside
            .args(["-c", &format!("echo hi > {to}")])
            .output()
            .unwrap();
        assert!(child.status.success(), "{child:?}");
        let (mut s, _) = listener.accept().unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut s, &mut text).unwrap();
        assert_eq!(text, "hi\n");
        let name = ns.name.clone();
        drop(ns);
        let list = Command::new("ip").args(["netns", "list"]).output().unwrap();
        let list = String::from_utf8_lossy(&list.stdout);
        assert!(!list.contains(&name), "{list}");
        assert!(!list.contains(&stale), "{list}");
        let pid = std::process::id();
        let veth = format!("xrtt{pid}h");
        let link = Command::new("ip").args(["link", "show", &veth]).output();
        assert!(!link.unwrap().status.success(), "{veth} is left");
    }
}
