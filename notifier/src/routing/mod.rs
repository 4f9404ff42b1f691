//! Alert routing, Alertmanager style: [`route`]s choose receivers (first match wins unless
//! `continue`), [`group`]s batch alerts per route, receiver and group key with
//! `group_wait` / `group_interval` / `repeat_interval`, [`dnd`] defers non-critical
//! notifications in a receiver's quiet hours, and [`router`] ties them together with the
//! [`crate::silences`]. A group notification reaches the receivers as one representative
//! alert ([`notification`]).
//!
//! At-least-once with grouping: the delivery processor reports, as its retained offset, the
//! lowest `alerts` offset of any alert a group still holds (pending, silenced, deferred, or
//! firing with repeats to come). The runtime commits no further, so after a crash or a
//! rebalance those alerts are read again and the groups rebuilt; the notification log (one
//! row per member alert and receiver) skips what had already been sent, even if the replay
//! groups the alerts differently. Repeat timers restart after a restart.

pub mod dnd;
pub mod group;
pub mod matcher;
pub mod notification;
pub mod route;
pub mod router;

pub use router::{Emitted, Router};
