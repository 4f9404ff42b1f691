//! Messages masked and hashed apart from a miner.
//!
//! Masking and hashing the tokens is most of the work of
//! [`TemplateMiner::add`](crate::TemplateMiner::add), and it depends only on
//! the message and the miner's configuration — not on the clusters. So it
//! can run on other threads: workers fill [`PreparedMessages`] batches, and
//! one miner takes them in order with
//! [`TemplateMiner::add_prepared`](crate::TemplateMiner::add_prepared), giving
//! exactly the results of `add` on the same messages in the same order.

use crate::drain::{hash_masked, wildcard_hash, MinerConfig};
use crate::mask::{mask_tokens, MaskedToken};

/// A batch of messages with their masked tokens and routing hashes. Fill it
/// with [`push`](Self::push); create it with
/// [`TemplateMiner::prepared_batch`](crate::TemplateMiner::prepared_batch) or
/// [`new`](Self::new) with the miner's configuration.
#[derive(Clone, Debug)]
pub struct PreparedMessages {
    max_tokens: usize,
    wild: u64,
    /// The messages, one after the other.
    text: String,
    /// Per message: end of its text and end of its tokens.
    ends: Vec<(usize, usize)>,
    toks: Vec<MaskedToken>,
    hashes: Vec<u64>,
    is_var: Vec<bool>,
    /// Reused buffers of `push`.
    current: Vec<MaskedToken>,
    scratch: String,
}

impl PreparedMessages {
    /// An empty batch masking as a miner with `config` does.
    pub fn new(config: &MinerConfig) -> Self {
        PreparedMessages {
            max_tokens: config.max_tokens,
            wild: wildcard_hash(),
            text: String::new(),
            ends: Vec::new(),
            toks: Vec::new(),
            hashes: Vec::new(),
            is_var: Vec::new(),
            current: Vec::new(),
            scratch: String::new(),
        }
    }

    /// Mask and hash `msg` and keep it as the next message of the batch.
    pub fn push(&mut self, msg: &str) {
        mask_tokens(msg, self.max_tokens, &mut self.current);
        hash_masked(
            msg,
            &self.current,
            self.wild,
            &mut self.scratch,
            &mut self.hashes,
            &mut self.is_var,
        );
        self.toks.extend_from_slice(&self.current);
        self.text.push_str(msg);
        self.ends.push((self.text.len(), self.toks.len()));
    }

    /// Number of messages.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when no message was pushed.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Forget the messages, keeping the buffers.
    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.toks.clear();
        self.hashes.clear();
        self.is_var.clear();
    }

    pub(crate) fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    fn starts(&self, i: usize) -> (usize, usize) {
        if i == 0 {
            (0, 0)
        } else {
            self.ends[i - 1]
        }
    }

    /// Message `i` as pushed. Panics if `i >= len()`.
    pub fn message(&self, i: usize) -> &str {
        let (end, _) = self.ends[i];
        &self.text[self.starts(i).0..end]
    }

    /// Masked tokens (offsets within [`message`](Self::message)`(i)`),
    /// their hashes and wildcard flags.
    pub(crate) fn tokens(&self, i: usize) -> (&[MaskedToken], &[u64], &[bool]) {
        let (_, end) = self.ends[i];
        let start = self.starts(i).1;
        (
            &self.toks[start..end],
            &self.hashes[start..end],
            &self.is_var[start..end],
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::{MinerConfig, TemplateMiner};

    const MESSAGES: &[&str] = &[
        "PacketResponder 1 for block blk_38865049064139660 terminating",
        "Receiving block blk_-1608999687919862906 src: /10.250.19.102:54106 dest: /10.250.19.102:50010",
        "PacketResponder 0 for block blk_-6952295868487656571 terminating",
        "",
        "   ",
        "user=alice action=login status=ok took 35 ms",
        "user=bob action=login status=failed took 120 ms",
        "Receiving block blk_7503483334202473044 src: /10.251.71.16:51590 dest: /10.251.71.16:50010",
        "Verification succeeded for blk_-4980916519894289629",
        "a b c d e f g h i j k l m n o p q r s t u v w x y z",
        // Nothing merges across messages (a unit word, a repeated key, a run
        // of variables).
        "took 35",
        "ms later",
        "deleting blk_1",
        "blk_2 blk_3 gone",
        "10.0.0.1",
        "42 7 requests",
    ];

    /// Every result of `add_prepared` equals the result of `add` on the same
    /// messages in the same order, over batches split anywhere, also with a
    /// batch prepared for another token cap.
    #[test]
    fn add_prepared_matches_add() {
        for max_tokens in [4, 256] {
            let config = MinerConfig {
                max_tokens,
                max_clusters: 3,
                ..MinerConfig::default()
            };
            let mut plain = TemplateMiner::new(config.clone());
            let expected: Vec<_> = MESSAGES
                .iter()
                .cycle()
                .take(40)
                .map(|m| {
                    let r = plain.add(m);
                    (
                        r.template_id,
                        r.template.to_string(),
                        r.is_new,
                        r.cluster_size,
                    )
                })
                .collect();
            for split in [1, 3, 7, 40] {
                for other_cap in [false, true] {
                    let mut miner = TemplateMiner::new(config.clone());
                    let batch_config = MinerConfig {
                        max_tokens: if other_cap {
                            max_tokens + 1
                        } else {
                            max_tokens
                        },
                        ..config.clone()
                    };
                    let mut got = Vec::new();
                    let all: Vec<&str> = MESSAGES.iter().cycle().take(40).copied().collect();
                    for chunk in all.chunks(split) {
                        let mut batch = super::PreparedMessages::new(&batch_config);
                        for m in chunk {
                            batch.push(m);
                        }
                        assert_eq!(batch.len(), chunk.len());
                        for (i, m) in chunk.iter().enumerate() {
                            assert_eq!(batch.message(i), *m);
                            let r = miner.add_prepared(&batch, i);
                            got.push((
                                r.template_id,
                                r.template.to_string(),
                                r.is_new,
                                r.cluster_size,
                            ));
                        }
                    }
                    assert_eq!(got, expected, "max_tokens {max_tokens} split {split}");
                }
            }
        }
    }

    #[test]
    fn clear_keeps_nothing() {
        let mut batch = TemplateMiner::default().prepared_batch();
        batch.push("one 1");
        batch.clear();
        assert!(batch.is_empty());
        batch.push("two 2");
        assert_eq!(batch.message(0), "two 2");
        let mut miner = TemplateMiner::default();
        assert_eq!(miner.add_prepared(&batch, 0).template, "two <*>");
    }
}
