//! A real SMTP server for the tests, on `127.0.0.1`: the SMTP state machine
//! of the `mailin` crate behind a tokio socket loop. It accepts every
//! message and hands it to the test ([`SmtpServer::next_mail`]); stopping it
//! closes its port, so that the server under test sees a mail server that
//! is down, and starting one again on the same port brings it back.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, bail};
use mailin::{Action, Handler, Response, SessionBuilder};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One message as the SMTP server received it.
#[derive(Clone, Debug)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    /// The raw message (headers and MIME body).
    pub data: String,
}

impl ReceivedMail {
    /// The message with quoted-printable soft breaks and escapes undone, so
    /// that links and words can be searched for.
    pub fn decoded(&self) -> String {
        decode_quoted_printable(&self.data)
    }

    /// The token of the first `/<path>#<token>` link in the message.
    pub fn token(&self, path: &str) -> anyhow::Result<String> {
        let decoded = self.decoded();
        let marker = format!("/{path}#");
        let start = decoded
            .find(&marker)
            .with_context(|| format!("no /{path}# link in the e-mail:\n{decoded}"))?
            + marker.len();
        let token: String = decoded[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        if token.len() < 22 {
            bail!("the link's token is too short: {token:?}");
        }
        Ok(token)
    }

    /// The whole link `http://…/<path>#<token>`.
    pub fn link(&self, path: &str) -> anyhow::Result<String> {
        let decoded = self.decoded();
        let token = self.token(path)?;
        let end = decoded.find(&token).context("token")? + token.len();
        let start = decoded[..end].rfind("http").context("no http link")?;
        Ok(decoded[start..end].to_owned())
    }
}

/// Undoes quoted-printable: `=\r\n` soft breaks and `=XX` escapes.
pub fn decode_quoted_printable(text: &str) -> String {
    let unfolded = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = unfolded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&unfolded[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Collects one session's message for the test.
struct Collector {
    mails: mpsc::UnboundedSender<ReceivedMail>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Collector {
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.from = from.to_owned();
        self.to = to.to_vec();
        self.data.clear();
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let _ = self.mails.send(ReceivedMail {
            from: std::mem::take(&mut self.from),
            to: std::mem::take(&mut self.to),
            data: String::from_utf8_lossy(&std::mem::take(&mut self.data)).into_owned(),
        });
        mailin::response::OK
    }
}

/// A running SMTP server.
pub struct SmtpServer {
    pub addr: SocketAddr,
    mails: mpsc::UnboundedReceiver<ReceivedMail>,
    stop: CancellationToken,
}

impl SmtpServer {
    /// Starts on a free port of 127.0.0.1.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts on `addr` (a port a stopped server had, to bring it back).
    pub async fn start_on(addr: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (tx, mails) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = stopped.cancelled() => break,
                    accepted = listener.accept() => {
                        let Ok((socket, peer)) = accepted else { continue };
                        let tx = tx.clone();
                        let stopped = stopped.clone();
                        tokio::spawn(async move {
                            tokio::select! {
                                () = stopped.cancelled() => {}
                                _ = session(socket, peer.ip(), tx) => {}
                            }
                        });
                    }
                }
            }
        });
        Ok(Self { addr, mails, stop })
    }

    /// `smtp://127.0.0.1:PORT`, for `--smtp-url`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// The next message received, waiting at most `within`.
    pub async fn next_mail(&mut self, within: Duration) -> anyhow::Result<ReceivedMail> {
        tokio::time::timeout(within, self.mails.recv())
            .await
            .context("no e-mail arrived in time")?
            .context("the SMTP server stopped")
    }

    /// A message already received, if any (does not wait).
    pub fn try_next_mail(&mut self) -> Option<ReceivedMail> {
        self.mails.try_recv().ok()
    }

    /// Closes the port and every session.
    pub fn stop(self) {
        self.stop.cancel();
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// One SMTP session: the greeting, then line by line through `mailin`.
async fn session(
    socket: TcpStream,
    peer: IpAddr,
    mails: mpsc::UnboundedSender<ReceivedMail>,
) -> anyhow::Result<()> {
    let collector = Collector {
        mails,
        from: String::new(),
        to: Vec::new(),
        data: Vec::new(),
    };
    let mut session = SessionBuilder::new("cartroom-test-smtp").build(peer, collector);
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::new(read);
    write.write_all(&session.greeting().buffer()?).await?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let response = session.process(&line);
        match response.action {
            Action::Reply => write.write_all(&response.buffer()?).await?,
            Action::Close => {
                write.write_all(&response.buffer()?).await?;
                return Ok(());
            }
            Action::NoReply | Action::UpgradeTls => {}
        }
    }
}
