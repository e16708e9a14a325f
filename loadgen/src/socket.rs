//! A receiving socket, as a browser tab holds one: the session cookie and the site's Origin on
//! the handshake, `Resume` after `Hello`, every `MessageCreated` into its [`Tally`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message as Frame};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use app::ids::RoomId;
use app::live::protocol::{ClientFrame, RoomCursor, SOCKET_PATH, ServerEvent};

use crate::account::Account;
use crate::tally::Tally;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The final sequence number of every room once sending is over; `None` while it goes on.
pub type Finals = watch::Receiver<Option<Arc<HashMap<RoomId, i64>>>>;

/// After sending stops, how long a receiver waits for the rest before counting it lost.
const DRAIN_PATIENCE: Duration = Duration::from_secs(30);

/// An open socket that has been greeted and has resumed.
pub struct Receiver {
    ws: Ws,
    tally: Tally,
}

impl Receiver {
    /// Opens the socket and resumes each of `rooms` from its sequence number in `start`
    /// (from the beginning for a room not in it).
    pub async fn connect(
        account: &Account,
        rooms: &[RoomId],
        start: &HashMap<RoomId, i64>,
    ) -> Result<Self> {
        let url = format!("{}{SOCKET_PATH}", account.base().replacen("http", "ws", 1));
        let mut request = url.as_str().into_client_request()?;
        request.headers_mut().insert("cookie", HeaderValue::from_str(&account.cookie)?);
        request.headers_mut().insert("origin", HeaderValue::from_str(account.base())?);
        let (ws, _) = tokio_tungstenite::connect_async(request).await.context("socket")?;

        let mut receiver =
            Self { ws, tally: Tally::new(account.id, rooms.iter().copied(), start) };
        match receiver.next_event().await? {
            ServerEvent::Hello { .. } => {}
            other => bail!("the first frame was not hello: {other:?}"),
        }
        receiver.resume().await?;
        Ok(receiver)
    }

    async fn resume(&mut self) -> Result<()> {
        let rooms = self.tally.cursors().map(|(room_id, seq)| RoomCursor { room_id, seq });
        let frame = ClientFrame::Resume { rooms: rooms.collect() };
        self.ws.send(Frame::Text(serde_json::to_string(&frame)?.into())).await?;
        Ok(())
    }

    async fn next_event(&mut self) -> Result<ServerEvent> {
        loop {
            match self.ws.next().await.context("the server closed the socket")?? {
                Frame::Text(text) => return Ok(serde_json::from_str(text.as_str())?),
                Frame::Close(frame) => bail!("the server closed the socket: {frame:?}"),
                // Pings are answered by the library.
                _ => continue,
            }
        }
    }

    /// Receives until `finals` is set and every room has reached it (or the drain patience
    /// runs out), then closes and hands back what it saw.
    pub async fn run(mut self, mut finals: Finals) -> Result<Tally> {
        let mut drain_deadline = None;
        loop {
            let current = finals.borrow().clone();
            if let Some(finals) = current
                && self.tally.caught_up(&finals)
            {
                return self.close(&finals).await;
            }

            let deadline = async {
                match drain_deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                event = self.next_event() => self.handle(event?).await?,
                changed = finals.changed() => {
                    if changed.is_err() {
                        bail!("the benchmark ended without final counts");
                    }
                    drain_deadline = Some(tokio::time::Instant::now() + DRAIN_PATIENCE);
                }
                () = deadline => {
                    let current = finals.borrow().clone().unwrap_or_default();
                    return self.close(&current).await;
                }
            }
        }
    }

    async fn handle(&mut self, event: ServerEvent) -> Result<()> {
        match event {
            ServerEvent::MessageCreated { message } => self.tally.received(&message),
            // The server dropped events for this socket and says so: resume from what we hold.
            ServerEvent::Resync => {
                self.tally.resyncs += 1;
                self.resume().await?;
            }
            ServerEvent::RoomReset { room_id } => bail!("room {room_id} was reset"),
            ServerEvent::Reconnect => bail!("the server is restarting"),
            _ => {}
        }
        Ok(())
    }

    async fn close(mut self, finals: &HashMap<RoomId, i64>) -> Result<Tally> {
        // The tally is complete whether or not the close handshake finishes.
        if let Err(error) = self.ws.close(None).await
            && !matches!(error, tungstenite::Error::ConnectionClosed)
        {
            eprintln!("loadgen: closing a socket failed: {error}");
        }
        Ok(self.tally.finish(finals))
    }
}

/// An authenticated socket that only keeps itself open, for the idle-connection scenario.
pub struct Idler {
    ws: Ws,
}

impl Idler {
    pub async fn connect(account: &Account) -> Result<Self> {
        let receiver = Receiver::connect(account, &[], &HashMap::new()).await?;
        Ok(Self { ws: receiver.ws })
    }

    /// Reads (and so answers pings) until `stop` flips.
    pub async fn hold(mut self, mut stop: watch::Receiver<bool>) -> Result<()> {
        loop {
            tokio::select! {
                frame = self.ws.next() => match frame {
                    Some(Ok(_)) => {}
                    Some(Err(error)) => return Err(error.into()),
                    None => bail!("the server closed an idle socket"),
                },
                _ = stop.wait_for(|stop| *stop) => break,
            }
        }
        // Idle sockets carry no tally, so a failed close handshake loses nothing.
        if let Err(error) = self.ws.close(None).await {
            eprintln!("loadgen: closing an idle socket failed: {error}");
        }
        Ok(())
    }
}
