//! A moto server (the local AWS emulator) for integration tests.
//!
//! * Python: `$MOTO_PYTHON`, else `<workspace root>/.tools/venv/bin/python`. Missing → the test
//!   FAILS with an install hint (it never skips).
//! * A free loopback port per server, so tests run in parallel.
//! * The process is killed when the guard drops, also when the test panics.
//! * moto's output goes to a temporary log file (shown when start-up fails): a pipe nobody reads
//!   would fill up and stall moto mid-test.
//! * [`Moto::start_serialized`] runs moto single-threaded. Needed to test concurrent writers:
//!   moto 5.2.5 rolls back a failed TransactWriteItems by restoring a copy of the whole table taken
//!   when that transaction started, which erases items other requests wrote in the meantime (real
//!   DynamoDB does not). One request at a time makes every request atomic, as in DynamoDB, while
//!   clients still interleave their read-merge-write rounds.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const INSTALL_HINT: &str =
    "moto server not found. Install the pinned tools with `scripts/bootstrap.sh` or `./just tools` \
(creates .tools/venv with moto[server]==5.2.5), or point MOTO_PYTHON at a python that has \
`pip install 'moto[server]==5.2.5'`";

/// `python -m moto.server ARGS` with werkzeug's `run_simple` forced to `threaded=False`.
const SERIALIZED_MAIN: &str = "import sys, moto.server as s\n\
_run = s.run_simple\n\
def run(*a, **k):\n    k['threaded'] = False\n    return _run(*a, **k)\n\
s.run_simple = run\n\
s.main(sys.argv[1:])\n";

pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    log: PathBuf,
}

/// The workspace root: the nearest ancestor of this crate whose Cargo.toml has `[workspace]`
/// (this crate's, so the venv is found whichever crate's tests run).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|d| {
            std::fs::read_to_string(d.join("Cargo.toml")).is_ok_and(|t| t.contains("[workspace]"))
        })
        .unwrap_or(&manifest)
        .to_path_buf()
}

/// The python that runs moto: `$MOTO_PYTHON` when set and non-empty, else the workspace venv's.
pub fn python() -> PathBuf {
    match std::env::var_os("MOTO_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace_root().join(".tools/venv/bin/python"),
    }
}

/// A loopback port nobody listens on right now (the OS picks it, so parallel tests differ).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral loopback port");
    listener
        .local_addr()
        .expect("local address of the ephemeral port")
        .port()
}

impl Moto {
    /// Starts moto (multi-threaded, its default) and waits until it accepts connections.
    pub fn start() -> Moto {
        Self::launch(false)
    }

    /// Starts moto handling one request at a time (see the module docs for why).
    pub fn start_serialized() -> Moto {
        Self::launch(true)
    }

    fn launch(serialized: bool) -> Moto {
        let python = python();
        assert!(
            Path::new(&python).exists(),
            "{INSTALL_HINT} (looked for {})",
            python.display()
        );
        let port = free_port();
        let log = std::env::temp_dir().join(format!("test-support-moto-{port}.log"));
        let log_file = std::fs::File::create(&log).expect("create the moto log file");
        let port_arg = port.to_string();
        let mut args = vec!["-m", "moto.server", "-H", "127.0.0.1", "-p", &port_arg];
        if serialized {
            // `python -c CODE -H ... -p ...`: CODE passes sys.argv[1:] on to moto's main.
            args.splice(0..2, ["-c", SERIALIZED_MAIN]);
        }
        let child = Command::new(&python)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("clone the log file handle"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("{INSTALL_HINT}: cannot run {}: {e}", python.display()));
        let mut moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
        };
        moto.wait_ready(port);
        moto
    }

    fn wait_ready(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "moto exited early ({status}); {INSTALL_HINT}\n--- moto log ---\n{}",
                    self.log_text()
                );
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "moto did not listen on port {port} within 60 s\n--- moto log ---\n{}",
            self.log_text()
        );
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
