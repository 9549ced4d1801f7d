//! A webhook receiver for the tests: a real HTTP/1.1 server on
//! `127.0.0.1` that records every request and answers with the statuses it
//! is told (200 once they run out), or holds requests unanswered.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The most of a request body the receiver reads.
const MAX_BODY: usize = 1 << 20;

/// One request as the receiver got it.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// Header names lower-cased.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    /// What the receiver answered (`None`: held, never answered).
    pub answered: Option<u16>,
}

impl Delivery {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// What the receiver does with the next requests.
#[derive(Default)]
struct Script {
    statuses: VecDeque<u16>,
    /// Hold every request unanswered (a receiver that hangs).
    hold: bool,
}

/// A running receiver; stops when dropped.
pub struct Receiver {
    pub addr: SocketAddr,
    script: Arc<Mutex<Script>>,
    rx: mpsc::UnboundedReceiver<Delivery>,
    stop: CancellationToken,
}

impl Receiver {
    /// Starts on a free port.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_on("127.0.0.1:0".parse()?).await
    }

    /// Starts on `addr` (a receiver that was down comes back).
    pub async fn start_on(addr: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let script = Arc::new(Mutex::new(Script::default()));
        let (tx, rx) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let (accept_script, accept_stop) = (script.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                let conn = tokio::select! {
                    () = accept_stop.cancelled() => break,
                    conn = listener.accept() => conn,
                };
                let Ok((stream, _)) = conn else { continue };
                let (script, tx, stop) = (accept_script.clone(), tx.clone(), accept_stop.clone());
                tokio::spawn(async move {
                    tokio::select! {
                        () = stop.cancelled() => {}
                        _ = serve(stream, script, tx) => {}
                    }
                });
            }
        });
        Ok(Self {
            addr,
            script,
            rx,
            stop,
        })
    }

    /// The URL to register.
    pub fn url(&self) -> String {
        format!("http://{}/hooks", self.addr)
    }

    /// Answers the next requests with these statuses, then 200.
    pub fn answer(&self, statuses: &[u16]) {
        let mut script = self.script.lock().unwrap();
        script.statuses.extend(statuses);
    }

    /// Holds (or stops holding) requests unanswered.
    pub fn hold(&self, hold: bool) {
        self.script.lock().unwrap().hold = hold;
    }

    /// The next request, waiting at most `within`.
    pub async fn next(&mut self, within: Duration) -> anyhow::Result<Delivery> {
        tokio::time::timeout(within, self.rx.recv())
            .await
            .context("no webhook delivery in time")?
            .context("the receiver stopped")
    }

    /// The next request whose body has `"type": kind`, skipping others.
    pub async fn next_of(&mut self, kind: &str, within: Duration) -> anyhow::Result<Delivery> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let delivery = self
                .next(left)
                .await
                .with_context(|| format!("no {kind} event in time"))?;
            if delivery.json()["type"] == kind {
                return Ok(delivery);
            }
        }
    }

    /// Stops listening and drops every connection.
    pub fn stop(self) {
        self.stop.cancel();
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Reads requests off one connection and answers them as scripted.
async fn serve(
    stream: TcpStream,
    script: Arc<Mutex<Script>>,
    tx: mpsc::UnboundedSender<Delivery>,
) -> anyhow::Result<()> {
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await? == 0 {
            return Ok(());
        }
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length.min(MAX_BODY)];
        reader.read_exact(&mut body).await?;
        let (hold, status) = {
            let mut script = script.lock().unwrap();
            (script.hold, script.statuses.pop_front().unwrap_or(200))
        };
        let answered = (!hold).then_some(status);
        let _ = tx.send(Delivery {
            headers,
            body,
            answered,
        });
        if hold {
            // Never answer; the connection ends when the receiver stops or
            // the client goes.
            std::future::pending::<()>().await;
        }
        let answer = format!("HTTP/1.1 {status} Scripted\r\ncontent-length: 2\r\n\r\nok");
        reader.get_mut().write_all(answer.as_bytes()).await?;
    }
}
