//! `throughline serve` as a child process, as an operator (or a crash) sees it: real flags, real
//! signals, restarts on the same address.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use throughline_store::testing::TestDatabase;

/// A `throughline` command on the test's database, with no `THROUGHLINE_*` variable inherited
/// from whoever runs the tests.
pub fn command(bin: &Path, db: &TestDatabase, args: &[&str]) -> Command {
    command_on(bin, &db.dir, &db.url, args)
}

fn command_on(bin: &Path, db_dir: &Path, db_url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin);
    for (name, _) in std::env::vars() {
        if name.starts_with("THROUGHLINE_") {
            cmd.env_remove(name);
        }
    }
    cmd.args(args)
        .arg("--data-dir")
        .arg(db_dir)
        .arg("--database-url")
        .arg(db_url)
        .env("THROUGHLINE_LOG", "warn")
        // The suites' webhook receivers listen on 127.0.0.1, which the outbound guard refuses
        // by default.
        .env("THROUGHLINE_OUTBOUND_ALLOW_PRIVATE_NETWORKS", "true")
        .current_dir(db_dir);
    cmd
}

/// The value after `label` on the first line of `text` that starts with it.
pub fn line_value(text: &str, label: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(label))
        .map(|v| v.trim().to_owned())
}

/// A running `throughline serve` and what it printed until it was ready.
pub struct ServerProcess {
    child: Child,
    pub url: String,
    pub banner: String,
    bin: PathBuf,
    db_dir: PathBuf,
    db_url: String,
    listen: String,
    env: Vec<(String, String)>,
}

impl ServerProcess {
    /// Starts `serve` on `listen` (`127.0.0.1:0` for any port) and waits until it says it is
    /// ready.
    pub fn start(bin: &Path, db: &TestDatabase, listen: &str, env: &[(&str, &str)]) -> Self {
        Self::start_on(bin, &db.dir, &db.url, listen, env)
    }

    /// [`ServerProcess::start`] on a database the test manages itself.
    pub fn start_on(
        bin: &Path,
        data_dir: &Path,
        db_url: &str,
        listen: &str,
        env: &[(&str, &str)],
    ) -> Self {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let (child, url, banner) = spawn(bin, data_dir, db_url, listen, &env);
        Self {
            child,
            url,
            banner,
            bin: bin.to_owned(),
            db_dir: data_dir.to_owned(),
            db_url: db_url.to_owned(),
            listen: listen.to_owned(),
            env,
        }
    }

    /// SIGKILL: no shutdown code runs, as in a power cut or the OOM killer.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts again on the same address after [`ServerProcess::kill`].
    pub fn restart(&mut self) {
        let listen = self
            .url
            .strip_prefix("http://")
            .unwrap_or(&self.listen)
            .to_owned();
        let (child, url, banner) = spawn(&self.bin, &self.db_dir, &self.db_url, &listen, &self.env);
        self.child = child;
        self.url = url;
        self.banner = banner;
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("serve did not stop within 15 s of SIGTERM");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(
    bin: &Path,
    db_dir: &Path,
    db_url: &str,
    listen: &str,
    env: &[(String, String)],
) -> (Child, String, String) {
    let mut cmd = command_on(bin, db_dir, db_url, &["serve", "--listen", listen]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    // A restart right after SIGKILL may find the port still held for a moment.
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut banner = String::new();
        let mut url = None;
        // The URL comes first; on the very first start the credentials follow right after it.
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
            banner.push_str(&line);
            banner.push('\n');
            if let Some(u) = line_value(&line, "Throughline is ready at") {
                url = Some(u);
                break;
            }
        }
        if let Some(url) = url {
            while let Ok(line) = rx.recv_timeout(Duration::from_millis(300)) {
                banner.push_str(&line);
                banner.push('\n');
                if line.starts_with("Password:") {
                    break;
                }
            }
            return (child, url, banner);
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            attempt < 20,
            "serve never said it was ready; it printed:\n{banner}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}
