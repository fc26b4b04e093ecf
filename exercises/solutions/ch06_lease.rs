//! Exercise 6.B, solved: a lease in Redis that nobody else can give back.
//!
//! Compare and act in one step: a Lua script runs inside the server with no
//! other command in between, so "is it still mine?" and "delete it" (or
//! "extend it") cannot be split by another client's `SET`. A `GET` followed
//! by a `DEL` from the client could be: the lease may change hands between
//! the two.

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
    let script = redis::Script::new(
        r"if redis.call('GET', KEYS[1]) == ARGV[1] then
              return redis.call('DEL', KEYS[1])
          end
          return 0",
    );
    let deleted: u64 = script.key(key).arg(token).invoke(con)?;
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
    let script = redis::Script::new(
        r"if redis.call('GET', KEYS[1]) == ARGV[1] then
              return redis.call('PEXPIRE', KEYS[1], ARGV[2])
          end
          return 0",
    );
    let extended: u64 = script.key(key).arg(token).arg(ttl_ms).invoke(con)?;
    Ok(extended == 1)
}
