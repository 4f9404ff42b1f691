//! The model behind an OpenAI-compatible chat-completions endpoint, through `async-openai`.

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestUserMessage, CreateChatCompletionRequest, ResponseFormat,
};
use async_openai::Client;
use cloudsage_runtime::config::LlmConfig;

/// Why a call produced no usable content.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Transport failure or an error status (after the client's own retries).
    #[error("http error: {0}")]
    Http(String),
    /// The server answered, but not with a chat completion carrying text.
    #[error("unusable response: {0}")]
    Response(String),
}

/// A chat model: one system and one user message in, the first choice's text out.
#[derive(Clone)]
pub struct ChatModel {
    client: Client<OpenAIConfig>,
    model: String,
    json_mode: bool,
}

impl ChatModel {
    pub fn new(c: &LlmConfig) -> Self {
        install_crypto_provider();
        // Always set every value `OpenAIConfig` would otherwise take from `OPENAI_*`
        // variables, so nothing from the environment is sent to a server it was not
        // configured for. An empty key sends an empty bearer token, which servers without
        // authentication ignore.
        let key = c.api_key.as_ref().map(|k| k.expose()).unwrap_or_default();
        let config = OpenAIConfig::new()
            .with_api_base(c.base_url.trim_end_matches('/'))
            .with_api_key(key)
            .with_org_id("")
            .with_project_id("");
        Self {
            client: Client::with_config(config),
            model: c.model.clone(),
            json_mode: c.json_mode,
        }
    }

    pub fn name(&self) -> &str {
        &self.model
    }

    /// One request. The caller bounds its duration.
    pub async fn complete(&self, system: &str, user: &str) -> Result<String, CallError> {
        let request = CreateChatCompletionRequest {
            model: self.model.clone(),
            messages: vec![
                ChatCompletionRequestMessage::System(ChatCompletionRequestSystemMessage::from(
                    system,
                )),
                ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage::from(user)),
            ],
            response_format: self.json_mode.then_some(ResponseFormat::JsonObject),
            temperature: Some(0.2),
            ..Default::default()
        };
        let response = self
            .client
            .chat()
            .create(request)
            .await
            .map_err(|e| match e {
                OpenAIError::JSONDeserialize(err, _) => CallError::Response(err.to_string()),
                other => CallError::Http(other.to_string()),
            })?;
        response
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .ok_or_else(|| CallError::Response("no choice with text content".into()))
    }
}

/// reqwest (through async-openai) is built without a bundled TLS crypto provider; use ring,
/// as the rest of the workspace does. Installing twice is harmless.
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
