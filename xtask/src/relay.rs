//! A delaying TCP relay: a network distance on one machine.
//!
//! [`Relay::start`] listens on an address; every client it accepts is
//! connected to the upstream server, and the bytes go both ways through a
//! delay line: a chunk read at time `t` is written at `t + one_way`, in the
//! order it was read. Reading goes on while earlier chunks wait, so requests
//! sent back to back (a pipeline) stay back to back: N of them cost one round
//! trip, not N. A relay that slept after each read would serialize them.
//!
//! What it leaves out: bandwidth (a chunk of any size takes the same time),
//! loss and retransmission, jitter beyond the scheduler's own, and the
//! interplay of Nagle's algorithm with delayed ACKs (both of the relay's
//! sockets set `TCP_NODELAY`, as Redis and the redis crate do).
//!
//! The relay's threads run ahead of ordinary ones (`SCHED_FIFO`, where
//! allowed: as root), so that a chunk leaves when it is due even while the
//! workers keep every core busy: a real network does not wait for the
//! workers' processors.
//!
//! Each connection runs four threads: a reader and a writer per direction.
//! When a side closes, its reader sees the end, the writer delivers what is
//! still in flight and then closes its half towards the other side, which in
//! turn closes: closing either side closes the other. Dropping the relay
//! stops accepting, shuts every connection down and joins every thread.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long connecting to the upstream server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A running relay; it stops, leaving no thread or socket, when dropped.
#[derive(Debug)]
pub struct Relay {
    /// Where clients connect (the port the kernel chose if asked for 0).
    addr: SocketAddr,
    /// Set when dropped: the accept loop ends at its next wake-up.
    closing: Arc<AtomicBool>,
    /// Every connection not yet joined: its two sockets, to shut them
    /// down, and its threads, to join them.
    open: Arc<Mutex<Vec<Connection>>>,
    acceptor: Option<JoinHandle<()>>,
}

/// One client's connection through the relay.
#[derive(Debug)]
struct Connection {
    /// The client's socket and the upstream one.
    sockets: [TcpStream; 2],
    /// Reader and writer of each direction.
    threads: Vec<JoinHandle<()>>,
}

impl Relay {
    /// Listens on `listen` (port 0: any free port) and relays every client to
    /// `upstream`, each direction delayed by `one_way`. Errors if `listen`
    /// cannot be bound.
    pub fn start(
        listen: SocketAddr,
        upstream: SocketAddr,
        one_way: Duration,
    ) -> std::io::Result<Relay> {
        let listener = TcpListener::bind(listen)?;
        let addr = listener.local_addr()?;
        let closing = Arc::new(AtomicBool::new(false));
        let open = Arc::new(Mutex::new(Vec::new()));
        let acceptor = {
            let (closing, open) = (closing.clone(), open.clone());
            std::thread::spawn(move || {
                accept_all(&listener, upstream, one_way, &closing, &open)
            })
        };
        Ok(Relay {
            addr,
            closing,
            open,
            acceptor: Some(acceptor),
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.closing.store(true, Ordering::SeqCst);
        // Wake the accept loop, blocked in `accept`, with a connection of our
        // own; it sees `closing` and ends.
        let _ = TcpStream::connect_timeout(&self.addr, CONNECT_TIMEOUT);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let open = std::mem::take(&mut *lock(&self.open));
        for c in open {
            for s in &c.sockets {
                let _ = s.shutdown(Shutdown::Both);
            }
            // Each writer ends once what it holds is due: within `one_way`.
            for t in c.threads {
                let _ = t.join();
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Accepts clients until `closing`; each gets its upstream connection and
/// its four threads.
fn accept_all(
    listener: &TcpListener,
    upstream: SocketAddr,
    one_way: Duration,
    closing: &AtomicBool,
    open: &Mutex<Vec<Connection>>,
) {
    loop {
        let client = listener.accept();
        if closing.load(Ordering::SeqCst) {
            return;
        }
        // Join the connections that are over, closing their sockets.
        lock(open).retain_mut(|c| {
            let over = c.threads.iter().all(JoinHandle::is_finished);
            if over {
                c.threads.drain(..).for_each(|t| drop(t.join()));
            }
            !over
        });
        let Ok((client, _)) = client else { continue };
        // No server behind us: the client sees its connection closed at once,
        // as it would with the server's port closed.
        let Ok(server) = TcpStream::connect_timeout(&upstream, CONNECT_TIMEOUT)
        else {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        };
        match relay_one(client, server, one_way) {
            Ok(c) => lock(open).push(c),
            Err(e) => eprintln!("relay: cannot relay a connection: {e}"),
        }
    }
}

/// Starts both directions of one connection.
fn relay_one(
    client: TcpStream,
    server: TcpStream,
    one_way: Duration,
) -> std::io::Result<Connection> {
    // Send each chunk as soon as it is due: Nagle's algorithm would hold a
    // small write back until the last one is acknowledged.
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let mut threads = Vec::new();
    for (from, to) in [(&client, &server), (&server, &client)] {
        let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
        let (from, to) = (from.try_clone()?, to.try_clone()?);
        threads.push(std::thread::spawn(move || {
            run_ahead();
            read_side(&from, one_way, &tx)
        }));
        threads.push(std::thread::spawn(move || {
            run_ahead();
            write_side(&rx, &to)
        }));
    }
    Ok(Connection {
        sockets: [client, server],
        threads,
    })
}

/// Moves the calling thread ahead of every ordinary thread (real-time,
/// first in first out, a low real-time priority): it runs as soon as it
/// wakes. Without the privilege (not root) it stays an ordinary thread, and
/// its chunks may leave late while the cores are busy.
fn run_ahead() {
    let param = libc::sched_param { sched_priority: 1 };
    // SAFETY: `pthread_self` is the calling thread, alive during the call;
    // `param` is a valid `sched_param` that outlives it. Failure changes
    // nothing, and is not an error here.
    unsafe {
        libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param);
    }
}

// ANCHOR: delay_line
/// Reads `from` until it ends or fails, stamping each chunk with the moment
/// it is due on the other side. Ending drops `tx`, which tells the writer.
fn read_side(
    mut from: &TcpStream,
    one_way: Duration,
    tx: &mpsc::Sender<(Instant, Vec<u8>)>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let due = Instant::now() + one_way;
        if tx.send((due, buf[..n].to_vec())).is_err() {
            return; // the writer gave up: the other side is gone
        }
    }
}

/// Writes each chunk to `to` when it is due, in order. Once the reader has
/// ended and everything it read is delivered, closes the write half of `to`:
/// the other side sees the end, as it would have without the relay.
fn write_side(rx: &mpsc::Receiver<(Instant, Vec<u8>)>, mut to: &TcpStream) {
    for (due, chunk) in rx {
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        if to.write_all(&chunk).is_err() {
            // The receiving side is gone: close it whole. Its reader, in the
            // other direction, then ends too, and so does this connection.
            let _ = to.shutdown(Shutdown::Both);
            return;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
// ANCHOR_END: delay_line

#[cfg(test)]
mod tests {
    use super::*;
    use workers::redis_server::RedisServer;

    const ONE_WAY: Duration = Duration::from_millis(5);

    fn server_addr(redis: &RedisServer) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], redis.port))
    }

    fn relay_to(redis: &RedisServer) -> Relay {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Relay::start(any, server_addr(redis), ONE_WAY).unwrap()
    }

    fn connect(addr: SocketAddr) -> TcpStream {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap();
        s.set_nodelay(true).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// Reads exactly `n` bytes.
    fn read_n(mut s: &TcpStream, n: usize) -> Vec<u8> {
        let mut buf = vec![0; n];
        s.read_exact(&mut buf).unwrap();
        buf
    }

    /// Round trips of one PING each, in order.
    fn pings(mut s: &TcpStream, times: usize) -> Vec<Duration> {
        (0..times)
            .map(|_| {
                let t = Instant::now();
                s.write_all(b"PING\r\n").unwrap();
                assert_eq!(read_n(s, 7), b"+PONG\r\n");
                t.elapsed()
            })
            .collect()
    }

    fn median(mut v: Vec<Duration>) -> Duration {
        v.sort();
        v[v.len() / 2]
    }

    /// The relay adds twice its delay to a round trip: never less (a chunk
    /// is never released early), and not much more.
    #[test]
    fn a_round_trip_grows_by_twice_the_delay() {
        let redis = RedisServer::start(&[]).unwrap();
        let relay = relay_to(&redis);
        let direct = pings(&connect(server_addr(&redis)), 20);
        let relayed = pings(&connect(relay.addr()), 20);
        let fastest = *relayed.iter().min().unwrap();
        assert!(fastest >= 2 * ONE_WAY, "{fastest:?}");
        let growth = median(relayed).saturating_sub(median(direct));
        // Generous: a busy two-core machine may be slow to wake a thread.
        assert!(
            growth < 2 * ONE_WAY + Duration::from_millis(40),
            "{growth:?}"
        );
    }

    /// Requests sent one after the other without waiting are not made to
    /// wait for each other: once the last of 100 PINGs, each its own write,
    /// has left, every reply is back within about one round trip. A relay
    /// that slept after each read would pass them on one delay apart: the
    /// last would reach the server 100 delays after the first.
    #[test]
    fn pipelined_requests_are_not_serialized() {
        let redis = RedisServer::start(&[]).unwrap();
        let relay = relay_to(&redis);
        let mut s = connect(relay.addr());
        let n = 100;
        let t = Instant::now();
        for _ in 0..n {
            s.write_all(b"PING\r\n").unwrap();
            // Each its own chunk at the relay, which is waiting to read.
            std::thread::sleep(Duration::from_millis(1));
        }
        let sending = t.elapsed();
        assert_eq!(read_n(&s, 7 * n), b"+PONG\r\n".repeat(n));
        let after = t.elapsed() - sending;
        // Serialized, the replies would end at least n delays after the
        // start, so at least n delays less the sending after it: a quarter
        // of that is a bound no scheduler's noise reaches, unless sending
        // alone took most of the n delays (the test then proves less).
        assert!(
            after < (n as u32 / 4) * ONE_WAY,
            "{after:?} after {sending:?}"
        );
    }

    /// A megabyte of every byte value goes up in a SET and comes back in a
    /// GET, unchanged.
    #[test]
    fn bytes_pass_unchanged_both_ways() {
        let redis = RedisServer::start(&[]).unwrap();
        let relay = relay_to(&redis);
        let mut s = connect(relay.addr());
        let value: Vec<u8> =
            (0..1 << 20).map(|i: u32| (i * 7 % 251) as u8).collect();
        let mut set =
            format!("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n${}\r\n", value.len())
                .into_bytes();
        set.extend_from_slice(&value);
        set.extend_from_slice(b"\r\n*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n");
        s.write_all(&set).unwrap();
        let head = format!("+OK\r\n${}\r\n", value.len());
        assert_eq!(read_n(&s, head.len()), head.as_bytes());
        assert_eq!(read_n(&s, value.len()), value);
        assert_eq!(read_n(&s, 2), b"\r\n");
        redis.cli(&["DEL", "key"]);
    }

    /// Clients connected to the server now, as it counts them (redis-cli is
    /// one of them).
    fn clients(redis: &RedisServer) -> usize {
        redis.cli(&["CLIENT", "LIST"]).lines().count()
    }

    fn eventually(what: &str, mut done: impl FnMut() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(start.elapsed() < Duration::from_secs(5), "never: {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Closing either side closes the other; dropping the relay closes every
    /// connection and the listening port.
    #[test]
    fn closing_either_side_closes_the_other() {
        let redis = RedisServer::start(&[]).unwrap();
        let relay = relay_to(&redis);
        let alone = clients(&redis);
        // The client hangs up: the server's side goes.
        let s = connect(relay.addr());
        pings(&s, 1);
        assert_eq!(clients(&redis), alone + 1);
        drop(s);
        eventually("the server saw the client leave", || {
            clients(&redis) == alone
        });
        // The server hangs up: the client reads the end.
        let s = connect(relay.addr());
        pings(&s, 1);
        redis.cli(&["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"]);
        let mut buf = [0u8; 1];
        assert_eq!((&s).read(&mut buf).unwrap(), 0);
        // The relay goes: its clients read the end, its port is closed.
        let s = connect(relay.addr());
        pings(&s, 1);
        let addr = relay.addr();
        drop(relay);
        assert_eq!((&s).read(&mut buf).unwrap(), 0);
        assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err());
        eventually("the server saw the relay leave", || {
            clients(&redis) == alone
        });
    }

    /// No server behind the relay: a client is hung up on at once.
    #[test]
    fn no_server_means_a_closed_connection() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        let relay = Relay::start(any, port, ONE_WAY).unwrap();
        let s = connect(relay.addr());
        let mut buf = [0u8; 1];
        let got = (&s).read(&mut buf);
        assert!(matches!(got, Ok(0) | Err(_)), "{got:?}");
    }
}
