//! Streaming Drain-class template miner.
//!
//! The algorithm follows Drain (He et al., ICWS 2017): every message is
//! tokenized and masked ([`crate::mask`]), then routed through a fixed-depth
//! prefix tree — first by token count, then by its leading tokens — to a leaf
//! holding a short list of clusters. The message joins the most similar
//! cluster of that leaf when the similarity reaches the threshold; the
//! differing positions of the template then become `<*>`. Otherwise a new
//! cluster is created.
//!
//! Similarity: the share of positions where the template token equals the
//! message token, *leaving out positions where both are variables* (a
//! template `<*>` facing a masked message variable). Drain counts those as
//! mismatches, so with thorough masking a message identical to a
//! wildcard-heavy template could fail to match it; leaving them out fixes
//! that. A template `<*>` facing a literal still counts as a mismatch. The
//! default threshold 0.6 on this measure corresponds to about 0.4–0.5 on
//! Drain's for typical messages (3 variables out of 10 tokens).
//!
//! Differences from the reference implementation, all generic:
//!
//! * the masking of [`crate::mask`] runs first (numbers, IPs, hex, UUIDs,
//!   paths, URLs, e-mails, `key=<*>`, `blk_<*>`, units, collapsed runs);
//! * tokens are compared by 64-bit hashes, not strings;
//! * memory is bounded: at most [`MinerConfig::max_clusters`] clusters (the
//!   least recently matched ones are evicted in batches), at most
//!   [`MinerConfig::max_children`] children per tree node, at most
//!   [`MinerConfig::max_tokens`] tokens per message.
//!
//! # Template ids
//!
//! A [`TemplateId`] is the XXH3-64 of the template text, so it is the same on
//! every replica and across restarts for the same template text — it does
//! not depend on arrival order. A cluster's template can still change while
//! mining (a merge turns a token into `<*>`), and its id changes with it:
//! [`TemplateMiner::add`] returns the id of the template as it is *after*
//! the line was added. The [`ClusterId`] on the other hand is local to one
//! miner and stays the same through merges.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use smallvec::SmallVec;
use xxhash_rust::xxh3::xxh3_64;

use crate::features::{features_of_words, Features};
use crate::format::ParsedEvent;
use crate::mask::{mask_tokens, mask_words, split_words, MaskedToken, TokenKind, Word, WILDCARD};
use crate::prepared::PreparedMessages;

/// Miner configuration. The defaults are generic (not tuned per log source).
#[derive(Clone, Debug, PartialEq)]
pub struct MinerConfig {
    /// Depth of the prefix tree, counting the root, the token-count layer
    /// and the leaf layer as in Drain: depth 4 routes on 1 leading token.
    /// Values below 3 are treated as 3 (token count only).
    pub depth: usize,
    /// Minimum similarity (0..=1) for a message to join a cluster (see the
    /// module docs for the measure).
    pub sim_threshold: f64,
    /// Maximum children per tree node; further tokens share the `<*>` child.
    pub max_children: usize,
    /// Maximum number of clusters kept; the least recently matched are
    /// evicted (in batches of about 1/16th) when the cap is reached.
    pub max_clusters: usize,
    /// Messages longer than this many tokens have their tail folded into one
    /// final `<*>`.
    pub max_tokens: usize,
}

impl Default for MinerConfig {
    fn default() -> Self {
        MinerConfig {
            depth: 4,
            sim_threshold: 0.6,
            max_children: 100,
            max_clusters: 50_000,
            max_tokens: 256,
        }
    }
}

/// Stable template identifier: XXH3-64 of the template text. Displays as 16
/// lowercase hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TemplateId(pub u64);

impl TemplateId {
    /// The id of a template text.
    pub fn of(template: &str) -> TemplateId {
        TemplateId(xxh3_64(template.as_bytes()))
    }

    /// 16 lowercase hex digits.
    pub fn to_hex(self) -> String {
        format!("{:016x}", self.0)
    }

    /// The 16 lowercase hex digits as bytes, without formatting machinery
    /// (for writers printing one id per line).
    pub fn hex_bytes(self) -> [u8; 16] {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 16];
        for (i, d) in out.iter_mut().enumerate() {
            *d = DIGITS[(self.0 >> (60 - 4 * i)) as usize & 15];
        }
        out
    }
}

impl fmt::Display for TemplateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Identifier of a cluster inside one miner: unchanged through template
/// merges, never reused after eviction (within 2^32 creations), but local to
/// the miner instance (depends on arrival order): do not persist it, use
/// [`TemplateId`] for that.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClusterId(pub u64);

impl ClusterId {
    fn new(slot: u32, serial: u32) -> Self {
        ClusterId(((serial as u64) << 32) | slot as u64)
    }
    fn slot(self) -> usize {
        (self.0 & 0xffff_ffff) as usize
    }
}

/// What [`TemplateMiner::add`] did with a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatchResult<'m> {
    /// Id of the cluster's template after this message.
    pub template_id: TemplateId,
    /// The cluster's template after this message.
    pub template: &'m str,
    /// The cluster the message joined (stable through merges).
    pub cluster_id: ClusterId,
    /// A new cluster was created for this message.
    pub is_new: bool,
    /// The template changed because of this message (a merge); implies the
    /// template id changed.
    pub template_changed: bool,
    /// Number of messages in the cluster, this one included.
    pub cluster_size: u64,
}

/// A cluster as listed by [`TemplateMiner::templates`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TemplateInfo<'m> {
    /// Id of the current template.
    pub template_id: TemplateId,
    /// Current template text.
    pub template: &'m str,
    /// The cluster.
    pub cluster_id: ClusterId,
    /// Messages seen by the cluster.
    pub size: u64,
}

struct Cluster {
    /// Token hashes of the template; `wild` for `<*>`.
    tokens: Vec<u64>,
    /// Byte spans of the tokens in `text`.
    spans: Vec<(u32, u32)>,
    text: String,
    id: TemplateId,
    size: u64,
    last_seen: u64,
    serial: u32,
    /// Tree nodes from the token-count node down to the leaf.
    path: SmallVec<[u64; 4]>,
}

#[derive(Default)]
struct Node {
    children: u32,
    clusters: Vec<u32>,
}

/// Hasher for keys that already are well-mixed 64-bit hashes.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

#[inline]
fn mix(a: u64, b: u64) -> u64 {
    let m = ((a ^ 0x9e37_79b9_7f4a_7c15) as u128).wrapping_mul((b ^ 0xd6e8_feb8_6659_fd93) as u128);
    (m as u64) ^ ((m >> 64) as u64)
}

const ROOT: u64 = 0x2545_f491_4f6c_dd1d;

/// The miner's internal 64-bit hash of one token (tree keys and template
/// comparisons; never shown: a [`TemplateId`] is the XXH3 of the template
/// text). Tokens of up to 16 bytes, almost all of them, take two
/// overlapping loads and two folded multiplies (as wyhash / rapidhash do);
/// longer ones XXH3.
#[inline]
fn token_hash(b: &[u8]) -> u64 {
    let n = b.len();
    let (x, y) = if n >= 8 {
        if n > 16 {
            return xxh3_64(b);
        }
        (read8(b, 0), read8(b, n - 8))
    } else if n >= 4 {
        (read4(b, 0), read4(b, n - 4))
    } else if n > 0 {
        (
            (b[0] as u64) << 16 | (b[n / 2] as u64) << 8 | b[n - 1] as u64,
            0,
        )
    } else {
        (0, 0)
    };
    mix(
        mix(x ^ 0xa076_1d64_78bd_642f, y ^ 0xe703_7ed1_a0b4_28db) ^ n as u64,
        0x8ebc_6af0_9c88_c6e3,
    )
}

#[inline]
fn read8(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

#[inline]
fn read4(b: &[u8], at: usize) -> u64 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes")) as u64
}

/// Append the routing hash of each masked token of `msg` to `hashes`, and
/// whether it routes as a wildcard to `is_var` (`scratch` is a reused buffer).
#[inline]
pub(crate) fn hash_masked(
    msg: &str,
    toks: &[MaskedToken],
    wild: u64,
    scratch: &mut String,
    hashes: &mut Vec<u64>,
    is_var: &mut Vec<bool>,
) {
    for t in toks {
        let (h, v) = match t.kind {
            TokenKind::Literal => (
                token_hash(&msg.as_bytes()[t.start as usize..t.end as usize]),
                false,
            ),
            TokenKind::Variable {
                prefix: 0,
                suffix: 0,
            } => (wild, true),
            TokenKind::Variable { prefix, .. } => {
                scratch.clear();
                t.render(msg, scratch);
                // `key=<*>` / `blk_<*>` keep a constant key and route
                // like literals; `[<*>]` / `<*>,` route as wildcards.
                let keyed = msg.as_bytes()[t.start as usize..][..prefix as usize]
                    .iter()
                    .any(|c| c.is_ascii_alphanumeric());
                (token_hash(scratch.as_bytes()), !keyed)
            }
        };
        hashes.push(h);
        is_var.push(v);
    }
}

/// The routing hash of the wildcard `<*>`.
pub(crate) fn wildcard_hash() -> u64 {
    token_hash(WILDCARD.as_bytes())
}

/// Streaming template miner. See the [module docs](self).
pub struct TemplateMiner {
    tree: ClusterTree,
    // Reused per-message buffers.
    words: Vec<Word>,
    toks: Vec<MaskedToken>,
    hashes: Vec<u64>,
    is_var: Vec<bool>,
    scratch: String,
}

/// The clusters and the prefix tree routing messages to them: all of the
/// miner's state but its per-message buffers, so a message masked into
/// those buffers (or into a [`PreparedMessages`] batch) is matched without
/// copying it.
struct ClusterTree {
    config: MinerConfig,
    layers: usize,
    wild: u64,
    clusters: Vec<Option<Cluster>>,
    free: Vec<u32>,
    live: usize,
    nodes: IdMap<Node>,
    serial: u32,
    tick: u64,
    evicted: u64,
}

/// One message masked and hashed: its tokens, their routing hashes and
/// wildcard flags (one each per token).
#[derive(Clone, Copy)]
struct Masked<'a> {
    msg: &'a str,
    toks: &'a [MaskedToken],
    hashes: &'a [u64],
    is_var: &'a [bool],
}

impl fmt::Debug for TemplateMiner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemplateMiner")
            .field("config", &self.tree.config)
            .field("clusters", &self.tree.live)
            .field("evicted", &self.tree.evicted)
            .finish()
    }
}

impl Default for TemplateMiner {
    fn default() -> Self {
        Self::new(MinerConfig::default())
    }
}

impl TemplateMiner {
    /// A new, empty miner.
    pub fn new(config: MinerConfig) -> Self {
        let layers = config.depth.max(3) - 3;
        TemplateMiner {
            tree: ClusterTree {
                layers: layers.min(16),
                config,
                wild: wildcard_hash(),
                clusters: Vec::new(),
                free: Vec::new(),
                live: 0,
                nodes: IdMap::default(),
                serial: 0,
                tick: 0,
                evicted: 0,
            },
            words: Vec::with_capacity(64),
            toks: Vec::with_capacity(64),
            hashes: Vec::with_capacity(64),
            is_var: Vec::with_capacity(64),
            scratch: String::with_capacity(64),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &MinerConfig {
        &self.tree.config
    }

    /// Number of clusters currently kept.
    pub fn len(&self) -> usize {
        self.tree.live
    }

    /// No cluster yet.
    pub fn is_empty(&self) -> bool {
        self.tree.live == 0
    }

    /// Clusters evicted so far because of [`MinerConfig::max_clusters`].
    pub fn evicted(&self) -> u64 {
        self.tree.evicted
    }

    /// Iterate over the current clusters (in no particular order).
    pub fn templates(&self) -> impl Iterator<Item = TemplateInfo<'_>> + '_ {
        self.tree
            .clusters
            .iter()
            .enumerate()
            .filter_map(|(slot, c)| {
                c.as_ref().map(|c| TemplateInfo {
                    template_id: c.id,
                    template: &c.text,
                    cluster_id: ClusterId::new(slot as u32, c.serial),
                    size: c.size,
                })
            })
    }

    /// The cluster `id`, if it still exists.
    pub fn cluster(&self, id: ClusterId) -> Option<TemplateInfo<'_>> {
        let c = self.tree.clusters.get(id.slot())?.as_ref()?;
        (ClusterId::new(id.slot() as u32, c.serial) == id).then_some(TemplateInfo {
            template_id: c.id,
            template: &c.text,
            cluster_id: id,
            size: c.size,
        })
    }

    /// Tokenize, mask and hash `msg` into the reused buffers.
    fn prepare(&mut self, msg: &str) {
        mask_tokens(msg, self.tree.config.max_tokens, &mut self.toks);
        self.hash_tokens(msg);
    }

    /// Hash the masked tokens of `msg` (in `self.toks`).
    fn hash_tokens(&mut self, msg: &str) {
        self.hashes.clear();
        self.is_var.clear();
        hash_masked(
            msg,
            &self.toks,
            self.tree.wild,
            &mut self.scratch,
            &mut self.hashes,
            &mut self.is_var,
        );
    }

    /// Look up the template of `msg` without learning from it (no cluster
    /// is created or changed). Returns `None` when no cluster reaches the
    /// similarity threshold.
    pub fn match_only(&mut self, msg: &str) -> Option<TemplateInfo<'_>> {
        self.prepare(msg);
        let tree = &self.tree;
        let m = Masked {
            msg,
            toks: &self.toks,
            hashes: &self.hashes,
            is_var: &self.is_var,
        };
        let (slot, _) = tree.best_match(m)?;
        let c = tree.clusters[slot as usize].as_ref()?;
        Some(TemplateInfo {
            template_id: c.id,
            template: &c.text,
            cluster_id: ClusterId::new(slot, c.serial),
            size: c.size,
        })
    }

    /// Add one message (the part of a log line after its header) and return
    /// the cluster it joined, with the cluster's template after the merge.
    pub fn add(&mut self, msg: &str) -> MatchResult<'_> {
        self.prepare(msg);
        self.add_buffered(msg)
    }

    /// [`extract_features`](crate::extract_features) of `ev` and
    /// [`add`](Self::add) of its message in one: the message is split into
    /// words once, for both the feature scan and the masker. The same results
    /// as the two separate calls.
    pub fn add_with_features(&mut self, ev: &ParsedEvent<'_>) -> (Features, MatchResult<'_>) {
        let msg: &str = &ev.message;
        let f = if split_words(msg, &mut self.words) {
            let f = features_of_words(ev, &self.words);
            mask_words(
                msg,
                &self.words,
                self.tree.config.max_tokens,
                &mut self.toks,
            );
            self.hash_tokens(msg);
            f
        } else {
            let f = crate::extract_features(ev);
            self.prepare(msg);
            f
        };
        (f, self.add_buffered(msg))
    }

    /// [`add`](Self::add) of message `i` of `batch`, masked and hashed ahead
    /// (possibly on another thread): the same result as `add` of that
    /// message. Panics if `i >= batch.len()`.
    pub fn add_prepared(&mut self, batch: &PreparedMessages, i: usize) -> MatchResult<'_> {
        let msg = batch.message(i);
        if batch.max_tokens() == self.tree.config.max_tokens {
            // Matched straight from the batch: nothing is copied.
            let (toks, hashes, is_var) = batch.tokens(i);
            self.tree.add(Masked {
                msg,
                toks,
                hashes,
                is_var,
            })
        } else {
            // Prepared for another token cap: mask again, so the result
            // still is the one of `add`.
            self.add(msg)
        }
    }

    /// An empty batch for [`add_prepared`](Self::add_prepared), masking as
    /// this miner does.
    pub fn prepared_batch(&self) -> PreparedMessages {
        PreparedMessages::new(&self.tree.config)
    }

    /// [`add`](Self::add) of the message prepared in the buffers.
    fn add_buffered(&mut self, msg: &str) -> MatchResult<'_> {
        let m = Masked {
            msg,
            toks: &self.toks,
            hashes: &self.hashes,
            is_var: &self.is_var,
        };
        self.tree.add(m)
    }
}

impl ClusterTree {
    /// Find the leaf for the message, if the path exists. (The node itself,
    /// so the leaf is not looked up a second time.)
    fn search_leaf(&self, m: Masked<'_>) -> Option<&Node> {
        let n = m.hashes.len();
        let mut key = mix(ROOT, n as u64);
        let mut node = self.nodes.get(&key)?;
        for i in 0..self.layers.min(n) {
            let tok = if m.is_var[i] { self.wild } else { m.hashes[i] };
            let child = mix(key, tok);
            if let Some(c) = self.nodes.get(&child) {
                key = child;
                node = c;
            } else {
                // A wildcard token whose child is missing has no fallback.
                if tok == self.wild {
                    return None;
                }
                let w = mix(key, self.wild);
                node = self.nodes.get(&w)?;
                key = w;
            }
        }
        Some(node)
    }

    /// Best cluster of the leaf `node` for the message: (slot, similarity).
    fn best_in_leaf(&self, node: &Node, m: Masked<'_>) -> Option<(u32, f64)> {
        let n = m.hashes.len();
        let mut best: Option<(u32, f64, usize)> = None;
        for &slot in &node.clusters {
            let Some(c) = self.clusters[slot as usize].as_ref() else {
                continue;
            };
            if c.tokens.len() != n {
                continue;
            }
            // Positions where both sides are variables carry no evidence
            // either way and are left out of the ratio; template wildcards
            // against a literal count as mismatches, as in Drain.
            let mut sim = 0usize;
            let mut params = 0usize;
            let mut both_var = 0usize;
            for (a, b) in c.tokens.iter().zip(m.hashes) {
                if *a == self.wild {
                    params += 1;
                    if *b == self.wild {
                        both_var += 1;
                    }
                } else if a == b {
                    sim += 1;
                }
            }
            let denom = n - both_var;
            let ratio = if denom == 0 {
                1.0
            } else {
                sim as f64 / denom as f64
            };
            let better = match best {
                None => true,
                Some((_, br, bp)) => ratio > br || (ratio == br && params > bp),
            };
            if better {
                best = Some((slot, ratio, params));
            }
        }
        best.map(|(slot, ratio, _)| (slot, ratio))
    }

    /// The cluster the message joins, if one reaches the similarity
    /// threshold: (slot, similarity).
    fn best_match(&self, m: Masked<'_>) -> Option<(u32, f64)> {
        self.search_leaf(m)
            .and_then(|leaf| self.best_in_leaf(leaf, m))
            .filter(|&(_, sim)| sim >= self.config.sim_threshold)
    }

    /// Add the masked message: join its best cluster or create one.
    fn add(&mut self, m: Masked<'_>) -> MatchResult<'_> {
        self.tick += 1;
        match self.best_match(m) {
            Some((slot, _)) => self.merge_into(slot, m.hashes),
            None => self.create(m),
        }
    }

    fn merge_into(&mut self, slot: u32, hashes: &[u64]) -> MatchResult<'_> {
        let wild = self.wild;
        let tick = self.tick;
        let c = self.clusters[slot as usize]
            .as_mut()
            .expect("leaf lists only live clusters");
        let mut changed = false;
        for (a, b) in c.tokens.iter_mut().zip(hashes) {
            if *a != wild && a != b {
                *a = wild;
                changed = true;
            }
        }
        if changed {
            // Rebuild the text from the old one: wildcards or kept spans.
            let old = std::mem::take(&mut c.text);
            let mut text = String::with_capacity(old.len());
            for (i, t) in c.tokens.iter().enumerate() {
                if i > 0 {
                    text.push(' ');
                }
                let start = text.len() as u32;
                if *t == wild {
                    text.push_str(WILDCARD);
                } else {
                    let (s, e) = c.spans[i];
                    text.push_str(&old[s as usize..e as usize]);
                }
                c.spans[i] = (start, text.len() as u32);
            }
            c.text = text;
            c.id = TemplateId::of(&c.text);
        }
        c.size += 1;
        c.last_seen = tick;
        MatchResult {
            template_id: c.id,
            template: &c.text,
            cluster_id: ClusterId::new(slot, c.serial),
            is_new: false,
            template_changed: changed,
            cluster_size: c.size,
        }
    }

    fn create(&mut self, m: Masked<'_>) -> MatchResult<'_> {
        if self.live >= self.config.max_clusters.max(1) {
            self.evict_batch();
        }
        // Render the template text.
        let mut text = String::with_capacity(m.msg.len() + 8);
        let mut spans = Vec::with_capacity(m.toks.len());
        for (i, t) in m.toks.iter().enumerate() {
            if i > 0 {
                text.push(' ');
            }
            let s = text.len() as u32;
            t.render(m.msg, &mut text);
            spans.push((s, text.len() as u32));
        }
        let path = self.insert_path(m);
        let leaf = *path.last().expect("path has the token-count node");
        self.serial = self.serial.wrapping_add(1);
        let cluster = Cluster {
            tokens: m.hashes.to_vec(),
            spans,
            id: TemplateId::of(&text),
            text,
            size: 1,
            last_seen: self.tick,
            serial: self.serial,
            path,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.clusters[s as usize] = Some(cluster);
                s
            }
            None => {
                self.clusters.push(Some(cluster));
                (self.clusters.len() - 1) as u32
            }
        };
        self.live += 1;
        self.nodes.entry(leaf).or_default().clusters.push(slot);
        let c = self.clusters[slot as usize].as_ref().expect("just set");
        MatchResult {
            template_id: c.id,
            template: &c.text,
            cluster_id: ClusterId::new(slot, c.serial),
            is_new: true,
            template_changed: false,
            cluster_size: 1,
        }
    }

    /// Create (or walk) the tree path for the message.
    fn insert_path(&mut self, m: Masked<'_>) -> SmallVec<[u64; 4]> {
        let n = m.hashes.len();
        let mut path = SmallVec::new();
        let mut key = mix(ROOT, n as u64);
        self.nodes.entry(key).or_default();
        path.push(key);
        let max_children = self.config.max_children.max(2) as u32;
        for i in 0..self.layers.min(n) {
            let tok = if m.is_var[i] { self.wild } else { m.hashes[i] };
            let child = mix(key, tok);
            let next = if self.nodes.contains_key(&child) {
                child
            } else {
                let wild_child = mix(key, self.wild);
                let has_wild = self.nodes.contains_key(&wild_child);
                let children = self.nodes.get(&key).map_or(0, |n| n.children);
                let use_token = tok != self.wild
                    && if has_wild {
                        children < max_children
                    } else {
                        children + 1 < max_children
                    };
                if use_token {
                    child
                } else {
                    wild_child
                }
            };
            if let std::collections::hash_map::Entry::Vacant(e) = self.nodes.entry(next) {
                e.insert(Node::default());
                if let Some(p) = self.nodes.get_mut(&key) {
                    p.children += 1;
                }
            }
            key = next;
            path.push(key);
        }
        path
    }

    /// Evict the least recently matched ~1/16th of the clusters.
    fn evict_batch(&mut self) {
        let batch = (self.config.max_clusters / 16).max(1);
        let mut ages: Vec<(u64, u32)> = self
            .clusters
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.as_ref().map(|c| (c.last_seen, i as u32)))
            .collect();
        if ages.is_empty() {
            return;
        }
        let k = batch.min(ages.len());
        if k < ages.len() {
            ages.select_nth_unstable(k - 1);
        }
        for &(_, slot) in &ages[..k] {
            self.remove_cluster(slot);
        }
    }

    fn remove_cluster(&mut self, slot: u32) {
        let Some(c) = self.clusters[slot as usize].take() else {
            return;
        };
        self.live -= 1;
        self.evicted += 1;
        self.free.push(slot);
        let path = c.path;
        let Some(&leaf) = path.last() else { return };
        if let Some(node) = self.nodes.get_mut(&leaf) {
            node.clusters.retain(|&s| s != slot);
        }
        // Prune empty nodes bottom-up.
        for depth in (0..path.len()).rev() {
            let key = path[depth];
            let empty = self
                .nodes
                .get(&key)
                .is_some_and(|n| n.children == 0 && n.clusters.is_empty());
            if !empty {
                break;
            }
            self.nodes.remove(&key);
            if depth > 0 {
                if let Some(p) = self.nodes.get_mut(&path[depth - 1]) {
                    p.children = p.children.saturating_sub(1);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_bytes_equal_display() {
        for v in [
            0,
            1,
            0xf,
            0x10,
            0xdead_beef,
            u64::MAX,
            0x0123_4567_89ab_cdef,
        ] {
            let id = TemplateId(v);
            assert_eq!(
                std::str::from_utf8(&id.hex_bytes()).unwrap(),
                id.to_string()
            );
        }
    }

    #[test]
    fn groups_and_merges() {
        let mut m = TemplateMiner::default();
        let r = m.add("connected to alpha in 10 ms");
        assert!(r.is_new);
        assert_eq!(r.template, "connected to alpha in <*>");
        let first = r.cluster_id;
        let r = m.add("connected to beta in 12 ms");
        assert!(!r.is_new);
        assert!(r.template_changed);
        assert_eq!(r.template, "connected to <*> in <*>");
        assert_eq!(r.cluster_id, first);
        assert_eq!(r.cluster_size, 2);
        assert_eq!(r.template_id, TemplateId::of("connected to <*> in <*>"));
        let r = m.add("disk full on /dev/sda1");
        assert!(r.is_new);
        assert_eq!(m.len(), 2);
        assert_eq!(m.templates().count(), 2);
    }

    #[test]
    fn ids_are_order_independent() {
        let lines = [
            "user a logged in",
            "user b logged in",
            "job 7 failed",
            "job 9 failed",
        ];
        let mut m1 = TemplateMiner::default();
        let mut m2 = TemplateMiner::default();
        for l in lines {
            m1.add(l);
        }
        for l in lines.iter().rev() {
            m2.add(l);
        }
        let mut a: Vec<_> = m1
            .templates()
            .map(|t| (t.template_id, t.template.to_string()))
            .collect();
        let mut b: Vec<_> = m2
            .templates()
            .map(|t| (t.template_id, t.template.to_string()))
            .collect();
        a.sort();
        b.sort();
        assert_eq!(a, b);
        assert_eq!(format!("{}", a[0].0).len(), 16);
    }

    #[test]
    fn match_only_does_not_learn() {
        let mut m = TemplateMiner::default();
        m.add("cache hit for key 1");
        assert!(m.match_only("cache hit for key 2").is_some());
        assert!(m.match_only("something else entirely here").is_none());
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn bounded_clusters_evict_lru() {
        let cfg = MinerConfig {
            max_clusters: 32,
            ..MinerConfig::default()
        };
        let mut m = TemplateMiner::new(cfg);
        let keep = m.add("keep this hot template").cluster_id;
        for i in 0..1000 {
            // Distinct literal words: a new cluster each time.
            let w: String = format!("{i}")
                .bytes()
                .map(|d| (b'a' + (d - b'0')) as char)
                .collect();
            m.add(&format!("{w}a {w}b {w}c {w}d"));
            m.add("keep this hot template");
            assert!(m.len() <= 32);
        }
        assert!(m.evicted() > 0);
        assert!(m.cluster(keep).is_some());
        // Tree nodes are pruned with their clusters.
        assert!(
            m.tree.nodes.len() <= 3 * 32 + 8,
            "nodes {}",
            m.tree.nodes.len()
        );
    }

    #[test]
    fn empty_and_whitespace() {
        let mut m = TemplateMiner::default();
        let a = m.add("").cluster_id;
        let b = m.add("   \t ").cluster_id;
        assert_eq!(a, b);
        assert_eq!(m.add("").template, "");
    }

    #[test]
    fn max_children_routes_to_wildcard() {
        let cfg = MinerConfig {
            max_children: 4,
            ..MinerConfig::default()
        };
        let mut m = TemplateMiner::new(cfg);
        for w in ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"] {
            m.add(&format!("{w} started ok"));
        }
        // Root-by-length node has at most 4 children.
        let len3 = mix(ROOT, 3);
        assert!(m.tree.nodes[&len3].children <= 4);
    }

    /// `add_with_features` = `extract_features` + `add`, also for the
    /// messages whose words are split apart (vertical tab, long lines).
    #[test]
    fn add_with_features_matches_separate_calls() {
        let cfg = crate::ParseConfig::default();
        let lines = [
            "2024-01-02 03:04:05,123 ERROR [main] app.Db: query took 350 ms",
            "took\u{b}350 ms heap 93% used",
            "a\u{b}b 12 connection\u{b}refused",
            "Out of memory: Kill process 1234 (java) cpu=97",
            "  ",
            "",
            "level=warn msg=\"timed out after 2.5s\" latency=3s status=503",
        ];
        let long = "x1 ".repeat(300);
        for max_tokens in [2, 64, 1024] {
            let config = MinerConfig {
                max_tokens,
                ..MinerConfig::default()
            };
            let mut a = TemplateMiner::new(config.clone());
            let mut b = TemplateMiner::new(config);
            for l in lines.iter().copied().chain([long.as_str()]) {
                let ev = crate::parse_line(l, &cfg);
                let (fa, ra) = a.add_with_features(&ev);
                let ra = (
                    ra.template_id,
                    ra.template.to_owned(),
                    ra.cluster_id,
                    ra.is_new,
                );
                let fb = crate::extract_features(&ev);
                let rb = b.add(&ev.message);
                let rb = (
                    rb.template_id,
                    rb.template.to_owned(),
                    rb.cluster_id,
                    rb.is_new,
                );
                assert_eq!((fa, ra), (fb, rb), "{l:?}");
                assert_eq!(
                    crate::extract_features_and_mask(&ev),
                    (fb, crate::mask::mask_line(&ev.message)),
                    "{l:?}"
                );
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// The combined entry points give the separate calls' results.
        #[test]
        fn combined_equals_separate(lines in proptest::collection::vec(crate::fuzzing::strategies::log_line(), 1..24)) {
            let cfg = crate::ParseConfig::default();
            let config = MinerConfig { max_clusters: 8, max_tokens: 16, ..MinerConfig::default() };
            let mut a = TemplateMiner::new(config.clone());
            let mut b = TemplateMiner::new(config);
            for l in &lines {
                let ev = crate::parse_line(l, &cfg);
                let (fa, ra) = a.add_with_features(&ev);
                let ra = (ra.template_id, ra.template.to_owned(), ra.cluster_id, ra.is_new);
                let fb = crate::extract_features(&ev);
                let rb = b.add(&ev.message);
                let rb = (rb.template_id, rb.template.to_owned(), rb.cluster_id, rb.is_new);
                proptest::prop_assert_eq!((fa, ra), (fb, rb));
                proptest::prop_assert_eq!(
                    crate::extract_features_and_mask(&ev),
                    (fb, crate::mask::mask_line(&ev.message))
                );
            }
        }

        /// No miner call panics, and the invariants hold: the returned
        /// template id is the hash of the returned template, and the cluster
        /// cap is respected.
        #[test]
        fn miner_never_panics(lines in proptest::collection::vec(crate::fuzzing::strategies::log_line(), 1..24)) {
            let mut m = TemplateMiner::new(MinerConfig { max_clusters: 8, max_tokens: 64, ..MinerConfig::default() });
            for l in &lines {
                let r = m.add(l);
                proptest::prop_assert_eq!(r.template_id, TemplateId::of(r.template));
                let id = r.cluster_id;
                proptest::prop_assert!(m.cluster(id).is_some());
                let _ = m.match_only(l);
                proptest::prop_assert!(m.len() <= 8);
            }
            proptest::prop_assert_eq!(m.templates().count(), m.len());
        }

        #[test]
        fn mask_never_panics(line in crate::fuzzing::strategies::log_line()) {
            let _ = crate::mask::mask_line(&line);
        }
    }
}
