//! Grouping accuracy (GA), the standard metric of the log parsing
//! benchmarks (Zhu et al., "Tools and Benchmarks for Automated Log
//! Parsing", ICSE-SEIP 2019).
//!
//! A line is parsed correctly when the set of lines the parser put in its
//! group equals the set of lines sharing its ground-truth event id.
//! GA = correctly parsed lines / all lines.

use std::collections::HashMap;
use std::hash::Hash;

/// Grouping accuracy of `predicted` group labels against `truth` labels
/// (one label per line, same order). Returns 0 for empty input.
///
/// # Panics
/// If the two slices differ in length.
pub fn grouping_accuracy<T: Eq + Hash, P: Eq + Hash>(truth: &[T], predicted: &[P]) -> f64 {
    assert_eq!(truth.len(), predicted.len(), "one label per line");
    if truth.is_empty() {
        return 0.0;
    }
    let mut truth_size: HashMap<&T, usize> = HashMap::new();
    for t in truth {
        *truth_size.entry(t).or_default() += 1;
    }
    // For each predicted group: its size and whether all its lines share one
    // truth label.
    let mut groups: HashMap<&P, (usize, Option<&T>, bool)> = HashMap::new();
    for (t, p) in truth.iter().zip(predicted) {
        let g = groups.entry(p).or_insert((0, Some(t), true));
        g.0 += 1;
        if g.1 != Some(t) {
            g.2 = false;
        }
    }
    let correct: usize = groups
        .values()
        .filter_map(|&(size, t, pure)| {
            let t = t?;
            (pure && truth_size[t] == size).then_some(size)
        })
        .sum();
    correct as f64 / truth.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drain::{MinerConfig, TemplateMiner};
    use std::path::Path;

    const LOGHUB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/loghub");

    /// GA of the default miner on one Loghub 2k set (Content column).
    fn loghub_ga(set: &str) -> f64 {
        let path = Path::new(LOGHUB)
            .join(set)
            .join(format!("{set}_2k.log_structured.csv"));
        let mut rdr = csv::Reader::from_path(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (shared/data/loghub next to the workspace)",
                path.display()
            )
        });
        let h = rdr.headers().unwrap().clone();
        let ci = h.iter().position(|c| c == "Content").unwrap();
        let ei = h.iter().position(|c| c == "EventId").unwrap();
        let mut miner = TemplateMiner::new(MinerConfig::default());
        let (mut truth, mut pred) = (Vec::new(), Vec::new());
        for rec in rdr.records() {
            let rec = rec.unwrap();
            truth.push(rec[ei].to_string());
            pred.push(miner.add(&rec[ci]).cluster_id);
        }
        assert_eq!(truth.len(), 2000);
        grouping_accuracy(&truth, &pred)
    }

    /// Floors: the GA measured with `examples/loghub_accuracy.rs` minus a
    /// 0.01 margin (Drain's published numbers in comments).
    #[test]
    fn loghub_grouping_accuracy_floors() {
        let floors = [
            ("HDFS", 1.0 - 0.01),         // Drain 0.9975
            ("Apache", 1.0 - 0.01),       // Drain 1.0
            ("Hadoop", 0.963 - 0.01),     // Drain 0.9475
            ("Zookeeper", 0.9885 - 0.01), // Drain 0.9665
            ("OpenSSH", 0.925 - 0.01),    // Drain 0.7875
            ("Proxifier", 0.977 - 0.01),  // Drain 0.5265
        ];
        for (set, floor) in floors {
            let ga = loghub_ga(set);
            assert!(ga >= floor, "{set}: GA {ga:.4} < floor {floor:.4}");
        }
    }

    #[test]
    fn perfect_and_split_and_merged() {
        assert_eq!(grouping_accuracy(&["a", "a", "b"], &[1, 1, 2]), 1.0);
        // Split group "a": both a lines wrong.
        assert!((grouping_accuracy(&["a", "a", "b"], &[1, 3, 2]) - 1.0 / 3.0).abs() < 1e-12);
        // Merged a+b: all wrong.
        assert_eq!(grouping_accuracy(&["a", "a", "b"], &[1, 1, 1]), 0.0);
        assert_eq!(grouping_accuracy::<u8, u8>(&[], &[]), 0.0);
    }
}
