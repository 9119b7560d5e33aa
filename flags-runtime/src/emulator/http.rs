//! Small request/response types the handlers work with, independent of hyper.

use serde_json::{Value, json};

/// A parsed request.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub(crate) method: String,
    pub(crate) path: String,
    /// Decoded query pairs, in order.
    pub(crate) query: Vec<(String, String)>,
    /// `scheme://host[:port]` the client used, for absolute `next` links.
    pub(crate) origin: String,
    pub(crate) authorization: Option<String>,
    pub(crate) project_api_key: Option<String>,
    pub(crate) if_none_match: Option<String>,
    pub(crate) body: Vec<u8>,
}

impl Req {
    /// The first value of a query parameter.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when empty); `Err` carries a 400 response.
    pub(crate) fn json(&self) -> Result<Value, Resp> {
        if self.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            Resp::error(
                400,
                "invalid_request",
                "parse_error",
                &format!("JSON parse error - {e}"),
                None,
            )
        })
    }

    /// This request's URL with some query parameters replaced (DRF's `replace_query_param`).
    pub(crate) fn url_with(&self, replace: &[(&str, String)]) -> String {
        let mut pairs: Vec<(String, String)> = self
            .query
            .iter()
            .filter(|(k, _)| !replace.iter().any(|(r, _)| r == k))
            .cloned()
            .collect();
        pairs.extend(replace.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &pairs {
            ser.append_pair(k, v);
        }
        format!("{}{}?{}", self.origin, self.path, ser.finish())
    }
}

/// A response to send.
#[derive(Debug, Clone)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
}

impl Resp {
    pub(crate) fn json(status: u16, value: &Value) -> Resp {
        Resp {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }

    pub(crate) fn ok(value: &Value) -> Resp {
        Resp::json(200, value)
    }

    pub(crate) fn empty(status: u16) -> Resp {
        Resp {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub(crate) fn text(status: u16, text: &str) -> Resp {
        Resp {
            status,
            headers: vec![("content-type", "text/plain".into())],
            body: text.as_bytes().to_vec(),
        }
    }

    /// PostHog's (drf-exceptions-hog) error envelope.
    pub(crate) fn error(
        status: u16,
        kind: &str,
        code: &str,
        detail: &str,
        attr: Option<&str>,
    ) -> Resp {
        Resp::json(
            status,
            &json!({ "type": kind, "code": code, "detail": detail, "attr": attr }),
        )
    }

    pub(crate) fn validation(code: &str, detail: &str, attr: Option<&str>) -> Resp {
        Resp::error(400, "validation_error", code, detail, attr)
    }

    pub(crate) fn not_found() -> Resp {
        Resp::error(404, "invalid_request", "not_found", "Not found.", None)
    }

    pub(crate) fn method_not_allowed(method: &str) -> Resp {
        Resp::error(
            405,
            "invalid_request",
            "method_not_allowed",
            &format!("Method \"{method}\" not allowed."),
            None,
        )
    }
}
