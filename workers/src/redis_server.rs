//! A `redis-server` of a test's or a measurement's own, on loopback.
//!
//! Built with the `redis-server` feature: for chapter 6's tests and for
//! `cargo xtask`, which needs a server but none of the test kit.

use anyhow::Context;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` of the caller's own on a free loopback port, never the
/// user's 6379, with nothing saved to disk. Stopped when dropped.
#[derive(Debug)]
pub struct RedisServer {
    child: Child,
    /// The port it listens on, 127.0.0.1 only.
    pub port: u16,
}

impl RedisServer {
    /// Starts one with `extra` arguments (`--requirepass`, say) and waits
    /// until it answers.
    ///
    /// Redis cannot be told to pick a free port itself, so we ask the kernel
    /// for one and let it go again before the server binds it; anything can
    /// take the port in between. So the server counts as started only once
    /// the process that answers on the port says it is the one we started
    /// (`INFO server` gives its pid); if another process won the port, ours
    /// exits, and we try again on another.
    pub fn start(extra: &[&str]) -> anyhow::Result<RedisServer> {
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let child = std::process::Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .args(extra)
                .stdout(Stdio::null())
                .spawn()
                .context(
                    "cannot start redis-server (`cargo xtask ci` installs it)",
                )?;
            let mut server = RedisServer { child, port };
            if server.answers_as_itself(Duration::from_secs(10))? {
                return Ok(server);
            }
        }
        anyhow::bail!("redis-server could not get a free port in 5 tries")
    }

    /// Waits until the server on our port is this child; false once the
    /// child has exited (the port was taken) or the deadline has passed.
    fn answers_as_itself(&mut self, deadline: Duration) -> anyhow::Result<bool> {
        let start = Instant::now();
        while start.elapsed() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(false);
            }
            match self.answering_pid() {
                Some(Some(pid)) => return Ok(pid == self.child.id()),
                // A password is set, so the server will not say its pid. A
                // redis-server that lost the port exits within milliseconds
                // of starting: ours is the one answering if it still runs.
                Some(None) => {
                    std::thread::sleep(Duration::from_millis(100));
                    return Ok(self.child.try_wait()?.is_none());
                }
                None => {}
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(false)
    }

    /// The pid that the server on our port reports; `Some(None)` if it
    /// answers without saying (it wants a password); `None` if nothing
    /// answers yet.
    fn answering_pid(&self) -> Option<Option<u32>> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
        s.write_all(b"INFO server\r\n").ok()?;
        let mut text = String::new();
        let mut buf = [0u8; 4096];
        while !text.contains("process_id:") && !text.starts_with('-') {
            let n = s.read(&mut buf).ok()?;
            if n == 0 {
                break;
            }
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        let pid = text
            .lines()
            .find_map(|l| l.strip_prefix("process_id:"))
            .and_then(|p| p.trim().parse().ok());
        Some(pid)
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Runs `redis-cli` against it; returns what it printed, trimmed.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli runs");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
