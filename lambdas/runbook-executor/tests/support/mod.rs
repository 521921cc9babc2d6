//! Test support: a moto server on a free loopback port, killed on drop (also on panic).

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("MOTO_PYTHON") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.tools/venv/bin/python")
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    listener.local_addr().expect("local addr").port()
}

impl Moto {
    /// Starts `python -m moto.server` and waits until it accepts connections. Panics with an
    /// install hint when the venv or moto is missing: these tests must fail, not skip.
    pub fn start() -> Moto {
        let python = python();
        let hint = "install it with `./just bootstrap` (or: python3 -m venv .tools/venv && \
                    .tools/venv/bin/pip install 'moto[server]==5.2.5'), or point MOTO_PYTHON at a python with moto[server]";
        assert!(
            python.exists(),
            "moto's python not found at {}: {hint}",
            python.display()
        );
        let port = free_port();
        let child = Command::new(&python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} -m moto.server: {e}; {hint}",
                    python.display()
                )
            });
        let mut moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return moto;
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = moto.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                panic!("moto.server exited ({status}) before listening: {err}\n{hint}");
            }
            assert!(
                Instant::now() < deadline,
                "moto.server did not listen on port {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
