//! NAB's anomaly windows (`labels/combined_windows.json` in
//! https://github.com/numenta/NAB): file name → list of `[start, end]`
//! timestamps, both inclusive.

use std::collections::BTreeMap;

use super::NabError;
use crate::timestamp::parse_timestamp_ms;

/// One labelled anomaly window, inclusive on both ends (UTC epoch ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start_ms: i64,
    pub end_ms: i64,
}

/// Parse the windows file; each file's windows come back sorted by start.
pub fn parse_windows(json: &str) -> Result<BTreeMap<String, Vec<Window>>, NabError> {
    let raw: BTreeMap<String, Vec<[String; 2]>> =
        serde_json::from_str(json).map_err(|source| NabError::Json {
            what: "windows".into(),
            source,
        })?;
    let mut out = BTreeMap::new();
    for (name, pairs) in raw {
        let mut windows = Vec::with_capacity(pairs.len());
        for [start, end] in pairs {
            let parse = |t: &str| {
                parse_timestamp_ms(t)
                    .ok_or_else(|| NabError::Invalid(format!("{name}: bad window timestamp {t:?}")))
            };
            let (start_ms, end_ms) = (parse(&start)?, parse(&end)?);
            if end_ms < start_ms {
                return Err(NabError::Invalid(format!(
                    "{name}: window ends before it starts ({start} .. {end})"
                )));
            }
            windows.push(Window { start_ms, end_ms });
        }
        windows.sort_by_key(|w| w.start_ms);
        out.insert(name, windows);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_sorts() {
        let json = r#"{"a/x.csv": [["2014-04-10 00:00:00.000000", "2014-04-10 01:00:00.000000"],
                                   ["2014-04-01 00:00:00.000000", "2014-04-01 00:10:00.000000"]],
                       "b/y.csv": []}"#;
        let w = parse_windows(json).unwrap();
        assert_eq!(w["b/y.csv"], vec![]);
        let a = &w["a/x.csv"];
        assert_eq!(a[0].start_ms, 1_396_310_400_000);
        assert_eq!(a[0].end_ms - a[0].start_ms, 600_000);
        assert!(a[1].start_ms > a[0].end_ms);
    }

    #[test]
    fn refuses_bad_windows() {
        assert!(parse_windows(r#"{"x": [["later", "2014-04-01 00:00:00"]]}"#).is_err());
        assert!(
            parse_windows(r#"{"x": [["2014-04-02 00:00:00", "2014-04-01 00:00:00"]]}"#).is_err()
        );
        assert!(parse_windows(r#"{"x": [["2014-04-01 00:00:00"]]}"#).is_err());
    }
}
