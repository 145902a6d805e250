//! Per-connection SQLite settings that sqlx has no option for, set through the C API when a
//! pooled connection is opened. Both came out of profiling the turn path (issue #7):
//!
//! - the query planner stability guarantee (`SQLITE_DBCONFIG_ENABLE_QPSG`). The bundled
//!   SQLite is built with STAT4, under which every statement with a bound `LIMIT ?` (every
//!   `.one()` of sea-orm) is marked expired on each bind and parsed and planned again on
//!   every execution. With QPSG the cached plan is reused.
//! - a busy handler that retries soon. SQLite runs one writer at a time; a connection that
//!   finds the write lock taken calls its busy handler. The stock one (`busy_timeout`) sleeps
//!   1, 2, 5, 10, ... 100 ms between tries, while a turn's write holds the lock for tens of
//!   microseconds: under the benchmark's 64 users `strace` counted ~700 such sleeps per
//!   second averaging 5 ms, so writes waited milliseconds for a lock that had long been
//!   free. [`busy_wait`] yields first, then sleeps 50 µs between tries, then 1 ms, and gives
//!   up after about ten seconds, as the old `busy_timeout(10 s)` did.

use std::ffi::{c_int, c_void};
use std::time::Duration;

use sea_orm::sqlx::sqlite::SqliteConnection;

/// Tries that only yield the CPU.
const YIELDS: c_int = 4;
/// Tries after those that sleep [`SHORT_SLEEP`] (about 10 ms in all).
const SHORT_TRIES: c_int = 200;
const SHORT_SLEEP: Duration = Duration::from_micros(50);
/// Then one try per millisecond until about ten seconds have passed.
const LONG_SLEEP: Duration = Duration::from_millis(1);
const GIVE_UP_AFTER: c_int = YIELDS + SHORT_TRIES + 10_000;

/// Applies both settings to a newly opened connection.
pub async fn tune(conn: &mut SqliteConnection) -> Result<(), sea_orm::sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `lock_handle` guarantees that the connection's worker thread makes no call on
    // this handle while `handle` lives. `sqlite3_db_config(QPSG, int, int*)` is called with
    // the argument types its documentation names (a null out-pointer is allowed);
    // `sqlite3_busy_handler` gets a function of the documented signature that ignores its
    // (null) context pointer.
    let (qpsg, busy) = unsafe {
        (
            libsqlite3_sys::sqlite3_db_config(
                db,
                libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
                1 as c_int,
                std::ptr::null_mut::<c_int>(),
            ),
            libsqlite3_sys::sqlite3_busy_handler(db, Some(busy_wait), std::ptr::null_mut()),
        )
    };
    for (what, rc) in [
        ("sqlite3_db_config(ENABLE_QPSG)", qpsg),
        ("sqlite3_busy_handler", busy),
    ] {
        if rc != libsqlite3_sys::SQLITE_OK {
            return Err(sea_orm::sqlx::Error::Configuration(
                format!("{what} returned {rc}").into(),
            ));
        }
    }
    Ok(())
}

/// SQLite's busy callback: `tries` is how often it was called for this lock so far; a
/// nonzero return means "try again". Runs on the connection's worker thread (sqlx gives each
/// SQLite connection its own), so sleeping here stalls nothing else.
extern "C" fn busy_wait(_context: *mut c_void, tries: c_int) -> c_int {
    match backoff(tries) {
        Some(None) => std::thread::yield_now(),
        Some(Some(pause)) => std::thread::sleep(pause),
        None => return 0,
    }
    1
}

/// What to do before try number `tries + 1`: yield (`Some(None)`), sleep, or give up.
fn backoff(tries: c_int) -> Option<Option<Duration>> {
    if tries < YIELDS {
        Some(None)
    } else if tries < YIELDS + SHORT_TRIES {
        Some(Some(SHORT_SLEEP))
    } else if tries < GIVE_UP_AFTER {
        Some(Some(LONG_SLEEP))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_yields_then_sleeps_short_then_long_then_gives_up() {
        assert_eq!(backoff(0), Some(None));
        assert_eq!(backoff(YIELDS), Some(Some(SHORT_SLEEP)));
        assert_eq!(backoff(YIELDS + SHORT_TRIES), Some(Some(LONG_SLEEP)));
        assert_eq!(backoff(GIVE_UP_AFTER), None);
        let waited: Duration = (0..GIVE_UP_AFTER)
            .filter_map(|n| backoff(n).flatten())
            .sum();
        assert!(waited >= Duration::from_secs(10) && waited < Duration::from_secs(11));
    }
}
