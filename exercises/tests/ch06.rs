//! Exercise 6.B: `cargo test -p exercises -- --ignored ch06`.
//!
//! Each test starts a `redis-server` of its own on a free loopback port and
//! plays two lease holders on two connections: A, slow, whose lease expires,
//! and B, who takes the lease after it.

use exercises::ch06_lease::{acquire, release, renew};
use redis::{Commands, Connection};
use std::time::{Duration, Instant};
use workers::redis_server::RedisServer;

/// A server, and two connections to it (A's and B's).
fn server() -> (RedisServer, Connection, Connection) {
    let server = RedisServer::start(&[]).expect("redis-server starts");
    let client = redis::Client::open(server.url()).unwrap();
    let connect = || {
        let con = client
            .get_connection_with_timeout(Duration::from_secs(5))
            .unwrap();
        con.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        con.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
        con
    };
    (server, connect(), connect())
}

/// A takes the lease for 50 ms and is slow: the test waits until Redis has
/// expired it (no timing asserted: only the order of events matters); then
/// B takes it for a minute.
fn a_expires_then_b_holds(a: &mut Connection, b: &mut Connection, key: &str) {
    assert!(acquire(a, key, "A", 50).unwrap());
    let start = Instant::now();
    while a.exists::<_, bool>(key).unwrap() {
        assert!(start.elapsed() < Duration::from_secs(10), "never expired");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(acquire(b, key, "B", 60_000).unwrap());
}

#[test]
#[ignore = "exercise 6.B: run with --ignored"]
fn ch06_a_late_release_leaves_the_new_holders_lease() {
    let (_server, mut a, mut b) = server();
    let key = "exercise-06:release";
    a_expires_then_b_holds(&mut a, &mut b, key);
    assert!(!release(&mut a, key, "A").unwrap(), "A no longer holds it");
    let holder: Option<String> = b.get(key).unwrap();
    assert_eq!(holder.as_deref(), Some("B"), "B's lease must survive");
    assert!(release(&mut b, key, "B").unwrap());
    assert!(!b.exists::<_, bool>(key).unwrap());
}

#[test]
#[ignore = "exercise 6.B: run with --ignored"]
fn ch06_a_late_renewal_leaves_the_new_holders_lease() {
    let (_server, mut a, mut b) = server();
    let key = "exercise-06:renew";
    a_expires_then_b_holds(&mut a, &mut b, key);
    // A asks for 1 ms more, which would end B's lease almost at once.
    assert!(!renew(&mut a, key, "A", 1).unwrap(), "A no longer holds it");
    let ttl: i64 = b.pttl(key).unwrap();
    assert!(ttl > 1000, "B's lease was cut to {ttl} ms");
    assert!(renew(&mut b, key, "B", 120_000).unwrap());
    let ttl: i64 = b.pttl(key).unwrap();
    assert!(ttl > 60_000, "B's renewal did not take: {ttl} ms left");
}
