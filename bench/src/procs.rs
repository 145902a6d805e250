//! Processes, seen from `/proc`: the servers under test as children (a free loopback port,
//! readiness polling, CPU seconds, RSS / peak RSS / anonymous RSS, a stop on drop with SIGTERM
//! then SIGKILL, so no server outlives a run whatever happens to the scenario), and the CPU
//! this process spends in its own threads (load generator vs. mock LLM), to tell when the
//! harness rather than the server is the limit.

use std::net::SocketAddr;
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::Res;
use crate::http::http;

/// Name of the load generator's runtime threads (see `main`); `/proc` shows 15 characters.
pub const LOADGEN_THREAD: &str = "loadgen";

pub fn free_port() -> Res<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// Clock ticks per second (`getconf CLK_TCK`, asked once).
pub fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .unwrap_or(100.0)
    })
}

/// `(comm, user + system CPU seconds)` of a `/proc/.../stat` file.
fn stat_cpu(path: &str) -> Option<(String, f64)> {
    let stat = std::fs::read_to_string(path).ok()?;
    let (head, rest) = stat.rsplit_once(')')?;
    let comm = head.split_once('(').map(|(_, c)| c.to_owned())?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let get = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    Some((comm, (get(11) + get(12)) / clock_ticks()))
}

/// CPU seconds of this process's threads so far: the load generator's runtime threads and the
/// mock LLM's threads (`mock-llm`, actix's `actix-server acceptor` and `actix-rt|system:..`
/// workers; nothing else here runs actix). Threads that already ended are not counted, so take
/// differences over a run.
#[derive(Clone, Copy, Default)]
pub struct SelfCpu {
    pub loadgen: f64,
    pub mock: f64,
}

impl SelfCpu {
    pub fn now() -> Self {
        let mut out = Self::default();
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return out;
        };
        for task in tasks.flatten() {
            let path = format!("{}/stat", task.path().display());
            let Some((comm, cpu)) = stat_cpu(&path) else {
                continue;
            };
            if comm.starts_with(LOADGEN_THREAD) {
                out.loadgen += cpu;
            } else if comm.starts_with("mock-llm") || comm.starts_with("actix-") {
                out.mock += cpu;
            }
        }
        out
    }

    pub fn since(self, before: Self) -> Self {
        Self {
            loadgen: self.loadgen - before.loadgen,
            mock: self.mock - before.mock,
        }
    }
}

/// `TcpExtListenOverflows` of this network namespace so far: connections dropped because a
/// listen queue was full (the client then retries its SYN after 1 s, 3 s, ...). Take
/// differences over a run; counts every listener (the servers' and the mock's).
pub fn listen_overflows() -> Option<u64> {
    let netstat = std::fs::read_to_string("/proc/net/netstat").ok()?;
    let mut lines = netstat.lines().filter(|l| l.starts_with("TcpExt:"));
    let names = lines.next()?;
    let values = lines.next()?;
    let i = names
        .split_whitespace()
        .position(|n| n == "ListenOverflows")?;
    values.split_whitespace().nth(i)?.parse().ok()
}

/// Memory of a process in KiB, from `/proc/PID/status`.
#[derive(Clone, Copy, Default)]
pub struct Mem {
    /// VmRSS: resident pages, file-backed ones (the memory-mapped SQLite file) included.
    pub rss: u64,
    /// VmHWM: the peak of VmRSS since the last `reset_peak`.
    pub hwm: u64,
    /// RssAnon: resident anonymous memory (heap, stacks): what the process itself allocated.
    pub anon: u64,
}

pub struct Proc {
    pub name: String,
    pub child: Child,
    pub addr: SocketAddr,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// User + system CPU seconds of the process so far.
    pub fn cpu_secs(&self) -> f64 {
        stat_cpu(&format!("/proc/{}/stat", self.pid())).map_or(f64::NAN, |(_, cpu)| cpu)
    }

    pub fn mem(&self) -> Mem {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Mem {
            rss: field("VmRSS:"),
            hwm: field("VmHWM:"),
            anon: field("RssAnon:"),
        }
    }

    /// Resets VmHWM to the current RSS, so the next reading is the peak of one run.
    pub fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5");
    }

    pub async fn wait_ready(&mut self, path: &str, secs: u64) -> Res<()> {
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(format!("{} exited while starting: {status}", self.name).into());
            }
            if let Ok(Ok(r)) = tokio::time::timeout(
                Duration::from_secs(2),
                http(self.addr, "GET", path, None, None, |_| {}),
            )
            .await
                && r.status == 200
            {
                return Ok(());
            }
            if Instant::now() > until {
                return Err(format!("{} not ready after {secs} s", self.name).into());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // SIGTERM first (graceful), then SIGKILL after a short grace period.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
