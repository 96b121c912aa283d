//! The browser client's files, embedded in the binary, and the security
//! headers every response carries.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use crate::privacy::{self, PrivacyPage};

#[derive(Embed)]
#[folder = "../web/"]
#[exclude = "*.md"]
#[exclude = "jsconfig.json"]
#[exclude = ".*"]
struct WebAssets;

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Serves an embedded file for GET and HEAD, mapping `/` to the practitioner
/// console and `/join` to the join page.
pub async fn asset(method: Method, uri: axum::http::Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let path = match uri.path() {
        "/" => "index.html",
        "/join" => "join.html",
        other => other.trim_start_matches('/'),
    };
    let Some(file) = WebAssets::get(path) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "Not found",
        )
            .into_response();
    };
    let mut response = Response::new(if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(file.data.into_owned())
    });
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    // Revalidate every time: the pages are small and a stale client would
    // speak an old protocol.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// Settings of the web client's responses: the public base URL and, in AWS,
/// the WebSocket API's address.
#[derive(Debug, Clone)]
pub struct WebSettings {
    pub public_url: String,
    /// `wss://…` address of the signaling API. `None` means the `/ws` path of
    /// the host the page was loaded from (the local server).
    pub signaling_url: Option<String>,
    content_security_policy: HeaderValue,
    /// The privacy page, served at [`privacy::PATHS`]. `None` serves no page
    /// there, as in the rooms API function, which gets no page requests.
    privacy: Option<Arc<PrivacyPage>>,
}

/// A signaling URL that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error(
    "the signaling URL must be ws:// or wss:// followed by a host and an optional path, got {0:?}"
)]
pub struct InvalidSignalingUrl(String);

impl WebSettings {
    pub fn new(public_url: &str, signaling_url: Option<&str>) -> Result<Self, InvalidSignalingUrl> {
        let mut connect_sources = "'self'".to_owned();
        if let Some(url) = signaling_url {
            let rest = url
                .strip_prefix("wss://")
                .or_else(|| url.strip_prefix("ws://"))
                .ok_or_else(|| InvalidSignalingUrl(url.to_owned()))?;
            let host = rest.split('/').next().unwrap_or_default();
            let clean = |text: &str| {
                text.bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || b"-._~:/[]%".contains(&byte))
            };
            if host.is_empty() || !clean(rest) {
                return Err(InvalidSignalingUrl(url.to_owned()));
            }
            let origin = &url[..url.len() - rest.len() + host.len()];
            connect_sources.push(' ');
            connect_sources.push_str(origin);
        }
        // `object-src` would fall back to `default-src 'none'` anyway; it is
        // spelled out so that loosening `default-src` cannot enable plugins.
        let policy = format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             media-src 'self' blob:; connect-src {connect_sources}; object-src 'none'; \
             base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        );
        Ok(Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            signaling_url: signaling_url.map(str::to_owned),
            content_security_policy: HeaderValue::from_str(&policy)
                .map_err(|_| InvalidSignalingUrl(signaling_url.unwrap_or_default().to_owned()))?,
            privacy: None,
        })
    }

    /// Serves `page` at [`privacy::PATHS`].
    pub fn with_privacy_page(mut self, page: Arc<PrivacyPage>) -> Self {
        self.privacy = Some(page);
        self
    }

    /// Returns the Content-Security-Policy of every response: scripts,
    /// styles and images come from this origin only, and the page connects
    /// to nothing but this origin and the signaling API.
    pub fn content_security_policy(&self) -> &HeaderValue {
        &self.content_security_policy
    }
}

/// `GET /config.json`: where the client finds the signaling server. Without
/// a configured address, it follows the Host the page was loaded from, so
/// the socket stays same-origin whether the page was opened as localhost or
/// 127.0.0.1.
pub async fn runtime_config(
    State(settings): State<Arc<WebSettings>>,
    headers: HeaderMap,
) -> Response {
    let signaling_url = match &settings.signaling_url {
        Some(url) => url.clone(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|value| value.to_str().ok())
                .filter(|host| host.bytes().all(|byte| byte.is_ascii_graphic()))
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    settings
                        .public_url
                        .split("://")
                        .nth(1)
                        .unwrap_or_default()
                        .to_owned()
                });
            let scheme = if settings.public_url.starts_with("https://") {
                "wss"
            } else {
                "ws"
            };
            format!("{scheme}://{host}/ws")
        }
    };
    let body = serde_json::json!({ "signalingUrl": signaling_url });
    let mut response = axum::Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /privacy` and `/datenschutz`: the privacy page in the language of
/// `?lang=` or `Accept-Language` (see [`privacy::choose_locale`]).
async fn privacy_page(
    page: Arc<PrivacyPage>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let accept_language = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok());
    let locale = privacy::choose_locale(uri.query(), accept_language);
    let language = match locale {
        crate::room::Locale::De => "de",
        crate::room::Locale::En => "en",
    };
    let mut response = Response::new(Body::from(page.html(locale).to_owned()));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(language));
    // The language follows Accept-Language, so caches must keep one copy per value.
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// Adds the security headers to every response.
pub async fn security_headers(
    State(settings): State<Arc<WebSettings>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name: &'static str, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    headers.insert(
        "content-security-policy",
        settings.content_security_policy().clone(),
    );
    set(headers, "x-content-type-options", "nosniff");
    set(headers, "referrer-policy", "no-referrer");
    set(headers, "x-frame-options", "DENY");
    set(headers, "cross-origin-opener-policy", "same-origin");
    set(headers, "cross-origin-resource-policy", "same-origin");
    set(
        headers,
        "permissions-policy",
        "camera=(self), microphone=(self), fullscreen=(self), display-capture=(), geolocation=(), payment=(), usb=()",
    );
    if settings.public_url.starts_with("https://") {
        set(
            headers,
            "strict-transport-security",
            "max-age=63072000; includeSubDomains",
        );
    }
    response
}

/// Builds the web client's routes: the files, `/config.json`, the privacy
/// page when the settings carry one, and the security headers. The Lambda
/// `web` function serves exactly this.
pub fn router(settings: WebSettings) -> Router {
    let settings = Arc::new(settings);
    let mut router = Router::new().route("/config.json", get(runtime_config));
    if let Some(page) = settings.privacy.clone() {
        for path in privacy::PATHS {
            let page = page.clone();
            router = router.route(
                path,
                get(move |uri, headers| privacy_page(page, uri, headers)),
            );
        }
    }
    router
        .fallback(asset)
        .with_state(settings.clone())
        .layer(axum::middleware::from_fn_with_state(
            settings,
            security_headers,
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_allows_only_self_by_default() {
        let settings = WebSettings::new("http://127.0.0.1:8080", None).unwrap();
        let policy = settings.content_security_policy().to_str().unwrap();
        assert!(policy.contains("connect-src 'self';"), "{policy}");
        assert!(policy.contains("default-src 'none'"), "{policy}");
    }

    #[test]
    fn csp_forbids_plugins_framing_and_inline_code() {
        let settings = WebSettings::new("http://127.0.0.1:8080", None).unwrap();
        let policy = settings.content_security_policy().to_str().unwrap();
        let directives: Vec<&str> = policy.split(';').map(str::trim).collect();
        for expected in [
            "script-src 'self'",
            "style-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(
                directives.contains(&expected),
                "{expected} missing: {policy}"
            );
        }
        for loophole in ["'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:"] {
            assert!(
                !policy
                    .split(|c: char| c == ';' || c.is_whitespace())
                    .any(|source| source == loophole),
                "{loophole} in {policy}"
            );
        }
    }

    #[test]
    fn csp_adds_signaling_origin() {
        let settings = WebSettings::new(
            "https://video.example.org",
            Some("wss://abc.execute-api.eu-central-1.amazonaws.com/prod"),
        )
        .unwrap();
        let policy = settings.content_security_policy().to_str().unwrap();
        assert!(
            policy.contains("connect-src 'self' wss://abc.execute-api.eu-central-1.amazonaws.com;"),
            "{policy}"
        );
    }

    #[test]
    fn signaling_url_cannot_inject_directives() {
        for url in [
            "https://x.example",
            "wss://x.example; script-src *",
            "wss://",
            "wss://a b",
            "x",
        ] {
            assert!(
                WebSettings::new("https://video.example.org", Some(url)).is_err(),
                "{url}"
            );
        }
    }
}
