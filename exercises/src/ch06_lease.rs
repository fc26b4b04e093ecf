//! Exercise 6.B: a lease in Redis that nobody else can give back.
//!
//! A lease is a key that says who holds something, with a time to live: if
//! the holder dies, the key expires and someone else can take it.
//! [`acquire`] is done (`SET key token NX PX ttl`). But a holder that was
//! slow (paused, swapped out, cut off) may come back *after* its lease
//! expired and someone else took it. Then `release` below deletes the new
//! holder's lease, and `renew` extends it. Make both act only while `token`
//! still holds the key, in one step that no other client can come between
//! (a Lua script run with `EVAL` is one way; the text of chapter 6 shows
//! where this project does it).
//!
//! Check: `cargo test -p exercises -- --ignored ch06`. The test starts a
//! `redis-server` of its own and plays the slow holder against it.

use redis::Commands;

/// Takes the lease `key` for `token` for `ttl_ms` milliseconds, if nobody
/// holds it: true if taken.
pub fn acquire(
    con: &mut redis::Connection,
    key: &str,
    token: &str,
    ttl_ms: u64,
) -> redis::RedisResult<bool> {
    let set: Option<String> = redis::cmd("SET")
        .arg(key)
        .arg(token)
        .arg("NX")
        .arg("PX")
        .arg(ttl_ms)
        .query(con)?;
    Ok(set.is_some())
}

/// Gives the lease back, if `token` still holds it: true if it did.
pub fn release(
    con: &mut redis::Connection,
    key: &str,
    token: &str,
) -> redis::RedisResult<bool> {
    let _ = token;
    let deleted: u64 = con.del(key)?;
    Ok(deleted == 1)
}

/// Extends the lease to `ttl_ms` from now, if `token` still holds it: true
/// if it did.
pub fn renew(
    con: &mut redis::Connection,
    key: &str,
    token: &str,
    ttl_ms: u64,
) -> redis::RedisResult<bool> {
    let _ = token;
    con.pexpire(key, ttl_ms as i64)
}
