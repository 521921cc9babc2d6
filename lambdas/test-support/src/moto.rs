//! A moto server (the local AWS emulator) for integration tests.
//!
//! * Python: `$MOTO_PYTHON`, else `<workspace root>/.tools/venv/bin/python`. Missing → the test
//!   FAILS with an install hint (it never skips).
//! * Each server binds a loopback port the OS picks and says which ([`LAUNCHER`]), so tests run
//!   in parallel. (Picking a free port first and passing it to moto raced: another test's fault
//!   proxy could bind it in between, and this test then talked to that test's moto.)
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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const INSTALL_HINT: &str =
    "moto server not found. Install the pinned tools with `scripts/bootstrap.sh` or `./just tools` \
(creates .tools/venv with moto[server]==5.2.5), or point MOTO_PYTHON at a python that has \
`pip install 'moto[server]==5.2.5'`";

/// `python -c LAUNCHER threaded|serial ARGS`: moto's own `main(ARGS)`, with werkzeug's
/// `run_simple` replaced by the same server built by `make_server`, so that port 0 (the OS
/// picks) can be reported: it prints [`LISTENING`] and the port once bound. `serial` forces
/// `threaded=False` (see the module docs).
const LAUNCHER: &str = "import sys, moto.server as s\n\
from werkzeug.serving import make_server\n\
serial = sys.argv.pop(1) == 'serial'\n\
def run(host, port, app, threaded=True, request_handler=None, **_):\n    \
srv = make_server(host, port, app, threaded=threaded and not serial, request_handler=request_handler)\n    \
print('moto listening on port', srv.port, flush=True)\n    \
srv.serve_forever()\n\
s.run_simple = run\n\
s.main(sys.argv[1:])\n";

/// What [`LAUNCHER`] prints before the port it bound.
const LISTENING: &str = "moto listening on port ";

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
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let log = std::env::temp_dir().join(format!(
            "test-support-moto-{}-{}.log",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::SeqCst)
        ));
        let log_file = std::fs::File::create(&log).expect("create the moto log file");
        let mode = if serialized { "serial" } else { "threaded" };
        let child = Command::new(&python)
            .args(["-c", LAUNCHER, mode, "-H", "127.0.0.1", "-p", "0"])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("clone the log file handle"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("{INSTALL_HINT}: cannot run {}: {e}", python.display()));
        let mut moto = Moto {
            child,
            endpoint: String::new(),
            log,
        };
        let port = moto.wait_ready();
        moto.endpoint = format!("http://127.0.0.1:{port}");
        moto
    }

    /// The port moto reports it bound, once it accepts connections there.
    fn wait_ready(&mut self) -> u16 {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "moto exited early ({status}); {INSTALL_HINT}\n--- moto log ---\n{}",
                    self.log_text()
                );
            }
            let port = self.log_text().lines().find_map(|l| {
                l.strip_prefix(LISTENING)
                    .and_then(|p| p.trim().parse::<u16>().ok())
            });
            if let Some(port) = port {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return port;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "moto did not report a listening port within 60 s\n--- moto log ---\n{}",
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
