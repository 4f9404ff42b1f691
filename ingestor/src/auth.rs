//! Bearer tokens → project, from `[ingestor.projects.<name>] tokens = [...]`.

use cloudsage_runtime::config::IngestorConfig;
use std::collections::HashMap;

#[derive(Debug, Clone, Default)]
pub struct TokenTable {
    project_of: HashMap<String, String>,
}

impl TokenTable {
    pub fn from_config(c: &IngestorConfig) -> Self {
        let project_of = c
            .projects
            .iter()
            .flat_map(|(project, auth)| {
                auth.tokens
                    .iter()
                    .map(move |t| (t.clone(), project.clone()))
            })
            .collect();
        Self { project_of }
    }

    /// Refuses tokens that are blank or listed under two projects: a shared token would
    /// silently write into whichever project the table happened to keep. Errors name the
    /// projects, never the token.
    pub fn validate(c: &IngestorConfig) -> anyhow::Result<()> {
        let mut owner: HashMap<&str, &str> = HashMap::new();
        for (project, auth) in &c.projects {
            for token in &auth.tokens {
                anyhow::ensure!(
                    !token.trim().is_empty() && token.trim() == token,
                    "[ingestor.projects.{project}]: a token is blank or has surrounding whitespace"
                );
                if let Some(other) = owner.insert(token, project) {
                    anyhow::ensure!(
                        other == project,
                        "[ingestor.projects]: projects {other:?} and {project:?} share a token; give each project its own"
                    );
                }
            }
        }
        Ok(())
    }

    /// The project of an `Authorization` header value, if it is a known bearer token.
    pub fn project_for(&self, authorization: Option<&str>) -> Option<&str> {
        let token = authorization?.strip_prefix("Bearer ")?.trim();
        self.project_of.get(token).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudsage_runtime::config::ProjectAuth;

    #[test]
    fn tokens_map_to_their_project() {
        let mut c = IngestorConfig::default();
        c.projects.insert(
            "shop".into(),
            ProjectAuth {
                tokens: vec!["a".into(), "b".into()],
            },
        );
        let t = TokenTable::from_config(&c);
        assert_eq!(t.project_for(Some("Bearer b")), Some("shop"));
        assert_eq!(t.project_for(Some("Bearer nope")), None);
        assert_eq!(t.project_for(Some("b")), None);
        assert_eq!(t.project_for(None), None);
    }
}
