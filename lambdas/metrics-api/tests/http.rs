//! A real HTTP client (curl) against the function served locally: the built
//! binary runs against `cargo lambda watch --only-lambda-apis` (the Lambda
//! runtime API plus a Function URL front that hands requests over as payload
//! 2.0 events), and reads/writes a moto table.

mod support;

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{create_table, repo_root, TABLE};
use test_support::{free_port, Moto};

/// Kills a spawned process when dropped, also on panic.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_listening(port: u16, what: &str, proc: &mut Proc) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = proc.0.try_wait() {
            panic!("{what} exited before listening: {status}");
        }
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn venv_bin() -> PathBuf {
    repo_root().join(".tools/venv/bin")
}

/// Function name `cargo lambda watch --only-lambda-apis` serves.
const FUNCTION: &str = "_";

struct Served {
    _moto: Moto,
    _watch: Proc,
    _function: Proc,
    base: String,
}

async fn serve() -> Served {
    let moto = Moto::start();
    create_table(&moto.endpoint).await;

    let cargo_lambda = venv_bin().join("cargo-lambda");
    assert!(
        cargo_lambda.exists(),
        "{} missing: run `scripts/bootstrap.sh` (or `just tools`) to install cargo-lambda into .tools/venv",
        cargo_lambda.display()
    );
    let path = format!(
        "{}:{}",
        venv_bin().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let port = free_port();
    let mut watch = Proc(
        Command::new(&cargo_lambda)
            .args([
                "lambda",
                "watch",
                "--only-lambda-apis",
                "--disable-cors",
                "-A",
                "127.0.0.1",
                "-P",
            ])
            .arg(port.to_string())
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("PATH", path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start cargo lambda watch"),
    );
    wait_listening(port, "cargo lambda watch", &mut watch);

    let function = Proc(
        Command::new(env!("CARGO_BIN_EXE_metrics-api"))
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{port}/.rt"),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", FUNCTION)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_ENDPOINT_URL", &moto.endpoint)
            .env("METRICS_TABLE", TABLE)
            .env("SERVICE_METRICS_NAMESPACE", support::NAMESPACE)
            .env("CORS_ALLOWED_ORIGINS", "https://dashboard.example.com")
            .env("MAX_BODY_BYTES", "2048")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the function binary"),
    );
    Served {
        _moto: moto,
        _watch: watch,
        _function: function,
        base: format!("http://127.0.0.1:{port}/lambda-url/{FUNCTION}"),
    }
}

struct HttpReply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl HttpReply {
    fn header(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// `curl -i` with `args`; parses status, headers and a JSON (or empty) body.
fn curl(args: &[&str]) -> HttpReply {
    let out = Command::new("curl")
        .args(["-s", "-i", "--max-time", "60", "-H", "Expect:"])
        .args(args)
        .output()
        .expect("curl is needed for this test: apt-get install curl");
    assert!(
        out.status.success(),
        "curl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("HTTP response");
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
    };
    HttpReply {
        status,
        headers,
        body,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_function_over_http() {
    let s = serve().await;
    let url = |p: &str| format!("{}{p}", s.base);

    let r = curl(&[&url("/health")]);
    assert_eq!(
        (r.status, &r.body),
        (200, &json!({"status": "ok", "table": "reachable"}))
    );

    // Ten minutes ago: inside the acceptance window around the request's time (the front's
    // `timeEpoch`, or the function's clock when it sends none).
    let now = chrono::Utc::now().timestamp();
    let t0 = now - now % 120 - 600;
    let ts = metrics_api::query::rfc3339;
    let body = json!({"points": [
        {"service": "checkout", "timestamp": ts(t0 + 30), "metrics": {"latency_ms": [10, 20, 30]}},
        {"service": "checkout", "timestamp": ts(t0 + 90), "metrics": {"latency_ms": 40}},
        {"service": "search", "timestamp": ts(t0 + 60), "metrics": {"latency_ms": 5}}
    ]})
    .to_string();
    let post = |key: &str| {
        curl(&[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-H",
            &format!("Idempotency-Key: {key}"),
            "-H",
            "Origin: https://dashboard.example.com",
            "--data-binary",
            &body,
            &url("/metrics"),
        ])
    };
    let r = post("http-1");
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["accepted"], json!({"points": 3, "values": 5}));
    assert!(r
        .header("access-control-allow-origin")
        .contains(&"https://dashboard.example.com"));
    let retry = post("http-1");
    assert_eq!(
        (retry.status, &retry.body["duplicate"]),
        (202, &json!(true))
    );

    let q = format!(
        "/metrics?from={}&to={}&period=120&stat=count,max,p50",
        ts(t0),
        ts(t0 + 120)
    );
    let r = curl(&[&url(&format!("{q}&service=checkout"))]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["series"],
        json!([{"service": "checkout", "metric": "latency_ms", "points": [
            {"timestamp": ts(t0), "count": 4, "max": 40.0, "p50": r.body["series"][0]["points"][0]["p50"]}
        ]}])
    );
    let p50 = r.body["series"][0]["points"][0]["p50"].as_f64().unwrap();
    assert!((p50 - 20.0).abs() <= 0.2, "{p50}");

    let r = curl(&[&url(&q)]);
    let services: Vec<&str> = r.body["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert_eq!(services, ["checkout", "search"]);

    let r = curl(&[&url("/metrics?stat=p42")]);
    assert_eq!((r.status, &r.body["field"]), (400, &json!("stat")));
    let r = curl(&["-X", "POST", "--data-binary", "{not json", &url("/metrics")]);
    assert_eq!((r.status, &r.body["error"]), (400, &json!("invalid_body")));
    let big = format!(
        "[{}]",
        vec![json!({"service": "a", "timestamp": t0, "metrics": {"x": 1}}).to_string(); 60]
            .join(",")
    );
    let r = curl(&["-X", "POST", "--data-binary", &big, &url("/metrics")]);
    assert_eq!(
        (r.status, &r.body["error"]),
        (413, &json!("payload_too_large"))
    );
    let r = curl(&[&url("/nothing")]);
    assert_eq!(r.status, 404);
    let r = curl(&["-X", "DELETE", &url("/metrics")]);
    assert_eq!(
        (r.status, r.header("allow")),
        (405, vec!["GET, POST, OPTIONS"])
    );
}
