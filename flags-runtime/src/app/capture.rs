//! Batched capture: a bounded queue the application never waits on, and a background task
//! that sends the events to PostHog's `/batch/` in batches.
//!
//! Enqueuing is `try_send`: when the queue is full (PostHog slow or down for long) the event
//! is dropped and counted ([`super::FlagsStats::events_dropped`]) rather than blocking a
//! request. The task sends a batch when it holds `flush_at` events or `flush_interval` after
//! the first event of the batch, and on [`CaptureQueue::flush`] and [`CaptureQueue::close`].

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::state::{Shared, bump};
use crate::client::{CaptureEvent, Client};

/// How the queue batches.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CaptureSettings {
    /// Events the queue holds before it drops new ones.
    pub(crate) capacity: usize,
    /// Events per batch.
    pub(crate) flush_at: usize,
    /// Longest time an event waits for its batch to fill.
    pub(crate) flush_interval: Duration,
}

enum Msg {
    Event(Box<CaptureEvent>),
    Flush(oneshot::Sender<()>),
    Close(oneshot::Sender<()>),
}

/// The sending side, held by the client.
#[derive(Debug)]
pub(crate) struct CaptureQueue {
    tx: mpsc::Sender<Msg>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Msg::Event(_) => "Event",
            Msg::Flush(_) => "Flush",
            Msg::Close(_) => "Close",
        })
    }
}

impl CaptureQueue {
    /// Starts the sending task on the current tokio runtime.
    pub(crate) fn spawn(
        client: Client,
        settings: CaptureSettings,
        shared: Arc<Shared>,
    ) -> (CaptureQueue, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(settings.capacity.max(1));
        let task = tokio::spawn(run(client, rx, settings, shared.clone()));
        (CaptureQueue { tx, shared }, task)
    }

    /// Queues an event without waiting; `false` (and counted as dropped) when the queue is
    /// full or closed.
    pub(crate) fn enqueue(&self, event: CaptureEvent) -> bool {
        match self.tx.try_send(Msg::Event(Box::new(event))) {
            Ok(()) => {
                bump(&self.shared.counters.events_queued, 1);
                true
            }
            Err(_) => {
                bump(&self.shared.counters.events_dropped, 1);
                false
            }
        }
    }

    /// Sends everything queued so far and waits for PostHog's answer.
    pub(crate) async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// Sends everything queued, then stops the task; later events are dropped.
    pub(crate) async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Close(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

async fn run(
    client: Client,
    mut rx: mpsc::Receiver<Msg>,
    settings: CaptureSettings,
    shared: Arc<Shared>,
) {
    let flush_at = settings.flush_at.max(1);
    let mut batch: Vec<CaptureEvent> = Vec::with_capacity(flush_at);
    let mut acks: Vec<oneshot::Sender<()>> = Vec::new();
    let mut closing = false;
    while let Some(first) = rx.recv().await {
        let mut flush_now = handle(first, &mut batch, &mut acks, &mut closing);
        let deadline = Instant::now() + settings.flush_interval;
        while !flush_now && batch.len() < flush_at {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(msg) => flush_now = handle(msg, &mut batch, &mut acks, &mut closing),
                    None => break,
                },
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        if closing {
            // Take what was queued before the close, then stop accepting.
            rx.close();
            while let Some(msg) = rx.recv().await {
                handle(msg, &mut batch, &mut acks, &mut closing);
            }
        }
        send(&client, &mut batch, flush_at, &shared).await;
        for ack in acks.drain(..) {
            let _ = ack.send(());
        }
        if closing {
            return;
        }
    }
    // Every client handle is gone: send what is left.
    send(&client, &mut batch, flush_at, &shared).await;
}

/// Takes one message; `true` when the batch must go now.
fn handle(
    msg: Msg,
    batch: &mut Vec<CaptureEvent>,
    acks: &mut Vec<oneshot::Sender<()>>,
    closing: &mut bool,
) -> bool {
    match msg {
        Msg::Event(e) => {
            batch.push(*e);
            false
        }
        Msg::Flush(ack) => {
            acks.push(ack);
            true
        }
        Msg::Close(ack) => {
            acks.push(ack);
            *closing = true;
            true
        }
    }
}

async fn send(client: &Client, batch: &mut Vec<CaptureEvent>, flush_at: usize, shared: &Shared) {
    for chunk in batch.chunks(flush_at) {
        let n = chunk.len() as u64;
        match client.capture_batch(chunk).await {
            Ok(()) => bump(&shared.counters.events_sent, n),
            Err(e) => {
                bump(&shared.counters.events_failed, n);
                tracing::warn!(events = n, error = %e, "capture batch not accepted");
            }
        }
    }
    batch.clear();
}
