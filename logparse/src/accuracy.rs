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
