//! An HTTP proxy in front of moto that answers chosen DynamoDB calls with the error responses
//! DynamoDB sends (throttling, cancelled transactions, unprocessed keys), and forwards the rest.
//! Exercises the retry paths that moto itself never takes. One request per connection.

use serde_json::Value;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A canned response: HTTP status and JSON body.
pub struct Fault {
    pub status: u16,
    pub body: Value,
}

/// Decides per request: `target` is the operation (`TransactWriteItems`, ...), `body` its JSON.
pub type Rule = Arc<dyn Fn(&str, &Value) -> Option<Fault> + Send + Sync>;

pub struct FaultProxy {
    pub endpoint: String,
    task: JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// DynamoDB's JSON error body.
pub fn error(code: &str, message: &str) -> Value {
    serde_json::json!({ "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"), "message": message })
}

impl FaultProxy {
    pub async fn start(upstream: &str, rule: Rule) -> FaultProxy {
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy port");
        let endpoint = format!("http://{}", listener.local_addr().expect("proxy address"));
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let (upstream, rule) = (upstream.clone(), rule.clone());
                tokio::spawn(async move {
                    let _ = serve(conn, &upstream, rule).await;
                });
            }
        });
        FaultProxy { endpoint, task }
    }
}

async fn serve(mut conn: TcpStream, upstream: &str, rule: Rule) -> std::io::Result<()> {
    let (head, body) = read_request(&mut conn).await?;
    let head_text = String::from_utf8_lossy(&head).into_owned();
    let target = header(&head_text, "x-amz-target")
        .and_then(|t| t.rsplit('.').next().map(str::to_owned))
        .unwrap_or_default();
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(fault) = rule(&target, &json) {
        let payload = fault.body.to_string();
        let response = format!(
            "HTTP/1.1 {} Injected\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            fault.status,
            payload.len(),
            payload
        );
        conn.write_all(response.as_bytes()).await?;
        return conn.shutdown().await;
    }
    // Forward with `Connection: close` so the upstream answer ends at EOF.
    let mut forwarded = String::new();
    for line in head_text.split("\r\n").filter(|l| !l.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            forwarded.push_str(line);
            forwarded.push_str("\r\n");
        }
    }
    forwarded.push_str("Connection: close\r\n\r\n");
    let mut up = TcpStream::connect(upstream).await?;
    up.write_all(forwarded.as_bytes()).await?;
    up.write_all(&body).await?;
    let mut response = Vec::new();
    up.read_to_end(&mut response).await?;
    conn.write_all(&response).await?;
    conn.shutdown().await
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Reads the head (up to the blank line) and a `Content-Length` body.
async fn read_request(conn: &mut TcpStream) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = buf[..head_end].to_vec();
    let length: usize = header(&String::from_utf8_lossy(&head), "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok((head, body))
}
