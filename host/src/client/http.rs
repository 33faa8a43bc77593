//! A small blocking HTTP client for the JSON API (one keep-alive connection per `Server`).

use std::io::Read;
use std::time::Duration;

use super::ClientError;
use crate::api::wire::ErrorBody;

/// A running Tollgate server, addressed by its base URL (`http://127.0.0.1:8080`).
#[derive(Clone)]
pub struct Server {
    base: String,
    agent: ureq::Agent,
}

/// A response whatever its status: the load generator counts 429s rather than failing on them.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    /// Seconds, from `Retry-After` on a 429.
    pub retry_after: Option<u64>,
}

impl Server {
    pub fn new(base: &str, timeout: Duration) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout(timeout)
            .max_idle_connections_per_host(1)
            .build();
        Self {
            base: base.trim_end_matches('/').to_string(),
            agent,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// POSTs a JSON body and returns the reply whatever its HTTP status.
    pub fn post(&self, path: &str, body: &str) -> Result<Reply, ClientError> {
        self.send("POST", path, Some("application/json"), body.as_bytes())
    }

    /// Any method, content type and body bytes (the fuzz client sends what a broken client
    /// would); the reply whatever its HTTP status.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Reply, ClientError> {
        let url = self.url(path);
        let mut request = self.agent.request(method, &url);
        if let Some(content_type) = content_type {
            request = request.set("Content-Type", content_type);
        }
        Self::reply(url, request.send_bytes(body))
    }

    /// GETs a path and returns the reply whatever its HTTP status.
    pub fn get(&self, path: &str) -> Result<Reply, ClientError> {
        let url = self.url(path);
        let result = self.agent.get(&url).call();
        Self::reply(url, result)
    }

    /// POSTs a JSON body; a non-2xx answer becomes an error carrying the server's error code.
    pub fn post_ok(&self, path: &str, body: &str) -> Result<String, ClientError> {
        Self::ok(self.post(path, body)?)
    }

    /// `post_ok` with `Authorization: Bearer <token>` (registry writes).
    pub fn post_ok_authorized(
        &self,
        path: &str,
        body: &str,
        token: &str,
    ) -> Result<String, ClientError> {
        let url = self.url(path);
        let result = self
            .agent
            .post(&url)
            .set("Content-Type", "application/json")
            .set("Authorization", &format!("Bearer {token}"))
            .send_string(body);
        Self::ok(Self::reply(url, result)?)
    }

    fn ok(reply: Reply) -> Result<String, ClientError> {
        if (200..300).contains(&reply.status) {
            return Ok(reply.body);
        }
        Err(match serde_json::from_str::<ErrorBody>(&reply.body) {
            Ok(body) => ClientError::Rejected {
                status: reply.status,
                body,
            },
            Err(_) => ClientError::Status {
                status: reply.status,
                body: reply.body,
            },
        })
    }

    fn reply(
        url: String,
        result: Result<ureq::Response, ureq::Error>,
    ) -> Result<Reply, ClientError> {
        let response = match result {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(ureq::Error::Transport(t)) => {
                return Err(ClientError::Transport {
                    url,
                    detail: t.to_string(),
                })
            }
        };
        let status = response.status();
        let retry_after = response
            .header("Retry-After")
            .and_then(|v| v.trim().parse().ok());
        let mut body = String::new();
        // Read to the end (ureq's into_string caps bodies at 10 MB; verdicts of big batches are not capped).
        response
            .into_reader()
            .read_to_string(&mut body)
            .map_err(|e| ClientError::Transport {
                url,
                detail: format!("reading the body: {e}"),
            })?;
        Ok(Reply {
            status,
            body,
            retry_after,
        })
    }
}
