//! NAB's application profiles (`config/profiles.json` in
//! https://github.com/numenta/NAB): the weights of true positives, false
//! positives and false negatives.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::NabError;

/// The weights of one profile.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct CostMatrix {
    #[serde(rename = "tpWeight")]
    pub tp_weight: f64,
    #[serde(rename = "fpWeight")]
    pub fp_weight: f64,
    #[serde(rename = "fnWeight")]
    pub fn_weight: f64,
    #[serde(rename = "tnWeight", default)]
    pub tn_weight: f64,
}

impl CostMatrix {
    /// NAB's "standard" profile.
    pub const STANDARD: CostMatrix = CostMatrix {
        tp_weight: 1.0,
        fp_weight: 0.11,
        fn_weight: 1.0,
        tn_weight: 1.0,
    };
}

#[derive(Deserialize)]
struct Profile {
    #[serde(rename = "CostMatrix")]
    cost_matrix: CostMatrix,
}

/// Parse `profiles.json`: profile name → weights.
pub fn parse_profiles(json: &str) -> Result<BTreeMap<String, CostMatrix>, NabError> {
    let profiles: BTreeMap<String, Profile> =
        serde_json::from_str(json).map_err(|source| NabError::Json {
            what: "profiles".into(),
            source,
        })?;
    Ok(profiles
        .into_iter()
        .map(|(name, p)| (name, p.cost_matrix))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nab_profiles() {
        let json = r#"{
          "standard": {"CostMatrix": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.11, "tnWeight": 1.0}},
          "reward_low_FN_rate": {"CostMatrix": {"tpWeight": 1.0, "fnWeight": 2.0, "fpWeight": 0.11, "tnWeight": 1.0}}
        }"#;
        let p = parse_profiles(json).unwrap();
        assert_eq!(p["standard"], CostMatrix::STANDARD);
        assert_eq!(p["reward_low_FN_rate"].fn_weight, 2.0);
        assert!(parse_profiles("{\"x\": {}}").is_err());
    }
}
