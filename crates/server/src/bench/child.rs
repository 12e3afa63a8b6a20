//! The server under test, as its own process: started from this very binary, measured from
//! outside (time to `/readyz`, resident memory from `/proc`).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

pub struct ServerUnderTest {
    child: Child,
    pub base: String,
    /// The built-in SMTP receiver's port.
    pub smtp_port: u16,
    pub started_in: Duration,
}

/// Resident memory of a process, now and at its peak, in MiB (Linux `/proc`).
pub fn memory_mib(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

impl ServerUnderTest {
    /// Starts the server on the data set; `env` adds settings (`THROUGHLINE_*`) to the bench's.
    pub async fn start(
        data_dir: &Path,
        database_url: &str,
        env: &[(String, String)],
    ) -> anyhow::Result<ServerUnderTest> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let smtp_port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut cmd = Command::new(std::env::current_exe()?);
        for (name, _) in std::env::vars() {
            if name.starts_with("THROUGHLINE_") {
                cmd.env_remove(name);
            }
        }
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--database-url")
            .arg(database_url)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--smtp-listen")
            .arg(format!("127.0.0.1:{smtp_port}"))
            // THROUGHLINE_BENCH_SERVER_LOG sets the server's filter to trace a figure down.
            .env(
                "THROUGHLINE_LOG",
                std::env::var("THROUGHLINE_BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            // The load comes from one address: limits far above it, so the limiter's cost is
            // measured without it refusing anything.
            .env("THROUGHLINE_PUBLIC_RATE_PER_IP", "10000000")
            .env("THROUGHLINE_PUBLIC_RATE_PER_VISITOR", "10000000")
            .env("THROUGHLINE_PUBLIC_MESSAGE_RATE_PER_IP", "10000000")
            // Likewise the per-address connection cap (10 000 idle widget sockets and the load's
            // connections, all from 127.0.0.1); those sockets stand for browsers, which answer
            // the server's pings, but the bench holds them without reading: no idle close.
            .env("THROUGHLINE_MAX_CONNECTIONS_PER_IP", "0")
            .env("THROUGHLINE_WS_IDLE_TIMEOUT_SECS", "3600")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            // The server logs warnings and errors on stdout: pass them on with the bench's own
            // diagnostics, so a failure in the table can be traced.
            .stdout(std::io::stderr())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let client = reqwest::Client::new();
        let started = Instant::now();
        let child = cmd.spawn()?;
        let ready = format!("{base}/readyz");
        loop {
            if let Ok(r) = client.get(&ready).send().await
                && r.status().is_success()
            {
                break;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(120),
                "the server did not become ready within two minutes"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(ServerUnderTest {
            child,
            base,
            smtp_port,
            started_in: started.elapsed(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    pub fn memory(&self) -> Option<(f64, f64)> {
        self.child.id().and_then(memory_mib)
    }

    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        if tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}
