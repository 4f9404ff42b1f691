//! In-memory topics for the embedded all-in-one run: each stage subscribes to its input
//! topics and produces through a sink that holds senders only for the topics it writes, so
//! when a stage finishes, the stages after it see their input end and finish in turn.

use crate::stage::{InMessage, OutRecord, PartitionId};
use crate::transport::{Assigned, CommitPosition, Polled, Rebalance, Sink, Source};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

type Subscribers = HashMap<String, Vec<mpsc::UnboundedSender<InMessage>>>;

/// The set of in-memory topics. Subscribe every consumer before creating sinks.
#[derive(Default)]
pub struct MemoryBus {
    subscribers: Mutex<Subscribers>,
    offsets: Arc<Mutex<HashMap<String, Arc<AtomicI64>>>>,
}

impl MemoryBus {
    pub fn new() -> Self {
        Self::default()
    }

    /// A source reading `topics`.
    pub fn subscribe(&self, topics: &[&str]) -> MemorySource {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut subs = self.subscribers.lock().unwrap_or_else(|p| p.into_inner());
        for t in topics {
            subs.entry(t.to_string()).or_default().push(tx.clone());
        }
        MemorySource {
            rx,
            assigned: Some(topics.iter().map(|t| t.to_string()).collect()),
        }
    }

    /// A sink that may write `topics` (records to other topics are an error).
    pub fn sink(&self, topics: &[&str]) -> MemorySink {
        let subs = self.subscribers.lock().unwrap_or_else(|p| p.into_inner());
        let mut offsets = self.offsets.lock().unwrap_or_else(|p| p.into_inner());
        let routes = topics
            .iter()
            .map(|t| {
                let senders = subs.get(*t).cloned().unwrap_or_default();
                let offset = offsets.entry(t.to_string()).or_default().clone();
                (t.to_string(), (senders, offset))
            })
            .collect();
        MemorySink { routes }
    }
}

pub struct MemorySource {
    rx: mpsc::UnboundedReceiver<InMessage>,
    assigned: Option<Vec<String>>,
}

impl Source for MemorySource {
    async fn next_batch(&mut self, max: usize, linger: Duration) -> anyhow::Result<Polled> {
        let first = match tokio::time::timeout(linger, self.rx.recv()).await {
            Err(_) => return Ok(Polled::Idle),
            Ok(None) => return Ok(Polled::End),
            Ok(Some(m)) => m,
        };
        let mut batch = vec![first];
        while batch.len() < max {
            match self.rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        Ok(Polled::Messages(batch))
    }

    async fn take_rebalance(&mut self) -> anyhow::Result<Option<Rebalance>> {
        Ok(self.assigned.take().map(|topics| Rebalance {
            revoked: vec![],
            assigned: topics
                .into_iter()
                .map(|topic| {
                    Assigned::fresh(PartitionId {
                        topic,
                        partition: 0,
                    })
                })
                .collect(),
        }))
    }

    async fn commit(&mut self, _positions: &[CommitPosition]) -> anyhow::Result<()> {
        Ok(())
    }
}

type Route = (Vec<mpsc::UnboundedSender<InMessage>>, Arc<AtomicI64>);

pub struct MemorySink {
    routes: HashMap<String, Route>,
}

impl Sink for MemorySink {
    async fn send(&self, records: Vec<OutRecord>) -> anyhow::Result<()> {
        for r in records {
            let (senders, offset) = self
                .routes
                .get(&r.topic)
                .ok_or_else(|| anyhow::anyhow!("this sink does not write topic {}", r.topic))?;
            let msg = InMessage {
                topic: r.topic.clone(),
                partition: 0,
                offset: offset.fetch_add(1, Ordering::Relaxed),
                key: Some(r.key),
                payload: r.payload,
                timestamp_ms: None,
            };
            for s in senders {
                // A subscriber that finished early simply stops listening.
                let _ = s.send(msg.clone());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_reach_subscribers_and_input_ends_when_sinks_drop() {
        let bus = MemoryBus::new();
        let mut src = bus.subscribe(&["a"]);
        let sink = bus.sink(&["a"]);
        drop(bus);
        let rec = OutRecord {
            topic: "a".into(),
            key: b"k".to_vec(),
            payload: b"v".to_vec(),
        };
        sink.send(vec![rec.clone(), rec]).await.unwrap();
        drop(sink);
        match src.next_batch(10, Duration::from_millis(50)).await.unwrap() {
            Polled::Messages(m) => {
                assert_eq!(m.len(), 2);
                assert_eq!((m[0].offset, m[1].offset), (0, 1));
            }
            other => panic!("expected messages, got {other:?}"),
        }
        assert!(matches!(
            src.next_batch(10, Duration::from_millis(50)).await.unwrap(),
            Polled::End
        ));
    }

    #[tokio::test]
    async fn unknown_topic_is_an_error() {
        let bus = MemoryBus::new();
        let sink = bus.sink(&["a"]);
        let rec = OutRecord {
            topic: "b".into(),
            key: vec![],
            payload: vec![],
        };
        assert!(sink.send(vec![rec]).await.is_err());
    }
}
