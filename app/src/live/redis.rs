//! The bus over Redis pub/sub: one channel that every instance publishes to and subscribes to.
//!
//! Three tasks per instance. The publisher drains the hub's outbox in order on one
//! connection, pipelining what has queued up, and when Redis is away keeps the messages and
//! sends them once it is back. The subscriber delivers what the other instances publish to
//! this instance's hub; whenever it had to reconnect, every local socket resyncs from the
//! database, since anything published meanwhile is gone from Redis. The heartbeat reports
//! this instance's users every [`HEARTBEAT_EVERY`] and forgets instances that stopped.
//!
//! A subscription can also die without its socket closing (a proxy or a network cut keeps
//! the TCP connection open). Each instance hears its own heartbeats back, so one that has not
//! for [`ECHO_TIMEOUT`] drops the subscription and starts over.

use std::collections::VecDeque;
use std::time::Duration;

use futures::StreamExt;
use redis::aio::{MultiplexedConnection, PubSub};
use tokio::time::{Instant, timeout};

use crate::live::bus::{Outbox, Wire, WireBody};
use crate::live::hub::Hub;

/// The one pub/sub channel.
pub const CHANNEL: &str = "parley:events";
/// How often each instance reports its users, and checks that it still hears itself.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// Silence from our own heartbeats after which the subscription counts as dead.
const ECHO_TIMEOUT: Duration = Duration::from_secs(6);
/// Pause between attempts to reach Redis again.
const RETRY_EVERY: Duration = Duration::from_millis(250);
/// Longest wait for Redis to connect or answer.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);
/// Messages published in one round trip.
const PIPELINE_MAX: usize = 512;

/// Connects `hub` to the Redis at `url` and starts the bus tasks. Fails when Redis cannot be
/// reached now, so a wrong URL stops start-up; later outages are retried for ever.
pub async fn start(url: &str, hub: Hub, outbox: Outbox) -> Result<(), redis::RedisError> {
    let client = redis::Client::open(url)?;
    let subscription = subscribe(&client).await?;
    let connection = connect(&client).await?;
    tracing::info!(instance = hub.instance(), "bus connected to Redis");

    tokio::spawn(publish(client.clone(), connection, outbox));
    tokio::spawn(listen(client, subscription, hub.clone()));
    tokio::spawn(heartbeat(hub));
    Ok(())
}

async fn connect(client: &redis::Client) -> Result<MultiplexedConnection, redis::RedisError> {
    timeout(REDIS_TIMEOUT, client.get_multiplexed_async_connection())
        .await
        .map_err(|_| timed_out())?
}

async fn subscribe(client: &redis::Client) -> Result<PubSub, redis::RedisError> {
    let mut pubsub =
        timeout(REDIS_TIMEOUT, client.get_async_pubsub()).await.map_err(|_| timed_out())??;
    timeout(REDIS_TIMEOUT, pubsub.subscribe(CHANNEL)).await.map_err(|_| timed_out())??;
    Ok(pubsub)
}

fn timed_out() -> redis::RedisError {
    redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut))
}

/// Publishes the outbox in order. Messages that Redis did not take stay at the front of
/// `unsent` and go first once it is back: delivery order per instance holds across outages.
async fn publish(client: redis::Client, connection: MultiplexedConnection, mut outbox: Outbox) {
    let mut connection = Some(connection);
    let mut unsent: VecDeque<String> = VecDeque::new();
    while let Some(first) = outbox.receiver.recv().await {
        let from = first.from;
        let mut batch = vec![first];
        while batch.len() < PIPELINE_MAX
            && let Ok(next) = outbox.receiver.try_recv()
        {
            batch.push(next);
        }
        if outbox.take_overflow() {
            batch.push(Wire { from, body: WireBody::Resync });
        }
        for wire in batch {
            match serde_json::to_string(&wire) {
                Ok(text) => unsent.push_back(text),
                Err(e) => tracing::error!(error = %e, "bus message not serializable"),
            }
        }

        // One warning per outage, not one per retry.
        let mut failing = false;
        while !unsent.is_empty() {
            match send(&client, &mut connection, &unsent).await {
                Ok(()) => {
                    if failing {
                        tracing::info!(sent = unsent.len(), "publishing to Redis again");
                    }
                    unsent.clear();
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(error = %e, "publishing to Redis failed; retrying");
                    }
                    failing = true;
                    connection = None;
                    tokio::time::sleep(RETRY_EVERY).await;
                }
            }
        }
    }
}

/// One pipelined round trip. On failure some may have gone out; resending them is safe,
/// since receivers drop messages they already delivered.
async fn send(
    client: &redis::Client,
    connection: &mut Option<MultiplexedConnection>,
    messages: &VecDeque<String>,
) -> Result<(), redis::RedisError> {
    if connection.is_none() {
        *connection = Some(connect(client).await?);
    }
    let Some(conn) = connection.as_mut() else { return Err(timed_out()) };
    let mut pipe = redis::pipe();
    for text in messages {
        pipe.cmd("PUBLISH").arg(CHANNEL).arg(text).ignore();
    }
    timeout(REDIS_TIMEOUT, pipe.query_async::<()>(conn)).await.map_err(|_| timed_out())?
}

/// Delivers other instances' messages until the subscription dies, then subscribes again and
/// has every local socket resync.
async fn listen(client: redis::Client, first: PubSub, hub: Hub) {
    let mut subscription = Some(first);
    loop {
        if let Some(pubsub) = subscription.take() {
            deliver(pubsub, &hub).await;
            tracing::warn!("bus subscription lost; reconnecting");
        }
        tokio::time::sleep(RETRY_EVERY).await;
        match subscribe(&client).await {
            Ok(pubsub) => {
                tracing::info!("bus subscription back; sockets resync from the database");
                hub.resync_all();
                subscription = Some(pubsub);
            }
            Err(e) => tracing::debug!(error = %e, "Redis still unreachable"),
        }
    }
}

async fn deliver(pubsub: PubSub, hub: &Hub) {
    let me = hub.instance();
    let mut messages = pubsub.into_on_message();
    let mut last_echo = Instant::now();
    let mut check = tokio::time::interval(HEARTBEAT_EVERY);
    loop {
        tokio::select! {
            message = messages.next() => {
                let Some(message) = message else { return };
                let wire: Wire = match serde_json::from_slice(message.get_payload_bytes()) {
                    Ok(wire) => wire,
                    Err(e) => {
                        tracing::warn!(error = %e, "unreadable bus message ignored");
                        continue;
                    }
                };
                if Some(wire.from) == me {
                    last_echo = Instant::now();
                    continue;
                }
                match wire.body {
                    WireBody::Event(envelope) => hub.deliver(&envelope),
                    WireBody::Presence { users, complete } => {
                        hub.peer_presence(wire.from, &users, complete);
                    }
                    WireBody::Resync => hub.resync_all(),
                }
            }
            _ = check.tick() => {
                if last_echo.elapsed() > ECHO_TIMEOUT {
                    tracing::warn!("no echo of our own heartbeat; the subscription is dead");
                    return;
                }
            }
        }
    }
}

async fn heartbeat(hub: Hub) {
    let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
    loop {
        tick.tick().await;
        hub.heartbeat();
    }
}
