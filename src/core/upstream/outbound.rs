//! The one HTTP client that talks to upstream providers. A console user
//! chooses the URLs it fetches, so it must not become a way to probe the
//! internal network: it refuses loopback, private, link-local and other
//! non-public addresses (whether named directly or resolved from a host
//! name) unless the deployment allows them (`ONEAUTH_ALLOW_PRIVATE_UPSTREAMS`,
//! for a directory on the same network, and for tests). It follows no
//! redirects, gives up after a few seconds, and reads at most a megabyte.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use openidconnect::{HttpRequest, HttpResponse};

/// The most an upstream answer may weigh.
const MAX_BODY: usize = 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("{0} is a private or local address, which upstream providers may not use")]
    Forbidden(String),
    #[error("only http and https URLs can be fetched")]
    Scheme,
    #[error("the answer is larger than {MAX_BODY} bytes")]
    TooLarge,
    #[error("the provider did not answer in time")]
    Timeout,
    #[error("{0}")]
    Request(String),
}

impl OutboundError {
    fn of(err: reqwest::Error) -> Self {
        if err.is_timeout() {
            return Self::Timeout;
        }
        // The resolver's refusal travels as the request's source.
        let mut source: Option<&dyn std::error::Error> = Some(&err);
        while let Some(cause) = source {
            if let Some(forbidden) = cause.downcast_ref::<Forbidden>() {
                return Self::Forbidden(forbidden.0.clone());
            }
            source = cause.source();
        }
        Self::Request(err.to_string())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0} is a private or local address")]
struct Forbidden(String);

/// Whether `ip` is an address on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                // 100.64.0.0/10 (carrier-grade NAT), 0.0.0.0/8, 240.0.0.0/4
                || (a == 100 && (64..128).contains(&b))
                || a == 0
                || a >= 240
                // 192.0.0.0/24 (IETF protocol assignments), 198.18.0.0/15
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || (a == 198 && (b == 18 || b == 19)))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            // ::a.b.c.d (IPv4-compatible) carries an IPv4 address.
            if v6.segments()[..6].iter().all(|s| *s == 0)
                && !v6.is_loopback()
                && !v6.is_unspecified()
            {
                let [.., a, b, c, d] = v6.octets();
                return is_public(IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d)));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // fc00::/7 unique local, fe80::/10 link-local
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                // fec0::/10 site-local, 2002::/16 6to4 (an IPv4 inside)
                || (first & 0xffc0) == 0xfec0
                || first == 0x2002
                // 2001:db8::/32 documentation, 64:ff9b::/96 NAT64
                || (first == 0x2001 && v6.segments()[1] == 0x0db8)
                || (first == 0x0064 && v6.segments()[1] == 0xff9b))
        }
    }
}

/// Resolves host names, keeping only public addresses unless allowed.
struct GuardedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| allow_private || is_public(addr.ip()))
                .collect();
            if addresses.is_empty() {
                return Err(Box::new(Forbidden(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The upstream client; cheap to clone.
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    allow_private: bool,
}

impl Outbound {
    pub fn new(allow_private: bool) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve the target itself, past the guard.
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TIMEOUT)
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .user_agent(concat!("1Auth/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a client with rustls and a resolver builds");
        Self {
            client,
            allow_private,
        }
    }

    /// Refuse a URL before connecting: its scheme, and a host written as
    /// an address (which no resolver sees).
    fn check(&self, url: &url::Url) -> Result<(), OutboundError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(OutboundError::Scheme);
        }
        let literal = match url.host() {
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            _ => None,
        };
        match literal {
            Some(ip) if !self.allow_private && !is_public(ip) => {
                Err(OutboundError::Forbidden(ip.to_string()))
            }
            _ => Ok(()),
        }
    }

    /// Send `request` and read its answer (at most [`MAX_BODY`]).
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, OutboundError> {
        let url = url::Url::parse(&request.uri().to_string())
            .map_err(|e| OutboundError::Request(e.to_string()))?;
        self.check(&url)?;
        let request = reqwest::Request::try_from(request).map_err(OutboundError::of)?;
        let mut response = self
            .client
            .execute(request)
            .await
            .map_err(OutboundError::of)?;
        if response
            .content_length()
            .is_some_and(|len| len > MAX_BODY as u64)
        {
            return Err(OutboundError::TooLarge);
        }
        let mut answer = openidconnect::http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            answer = answer.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(OutboundError::of)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(OutboundError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        answer
            .body(body)
            .map_err(|e| OutboundError::Request(e.to_string()))
    }

    /// GET `url` (with a bearer token, for an API), expecting 200 and JSON.
    pub async fn get(&self, url: &str, bearer: Option<&str>) -> Result<Vec<u8>, OutboundError> {
        let mut request = openidconnect::http::Request::builder()
            .method(openidconnect::http::Method::GET)
            .uri(url)
            .header(openidconnect::http::header::ACCEPT, "application/json");
        if let Some(token) = bearer {
            request = request.header(
                openidconnect::http::header::AUTHORIZATION,
                format!("Bearer {token}"),
            );
        }
        let request = request
            .body(Vec::new())
            .map_err(|e| OutboundError::Request(e.to_string()))?;
        let response = self.send(request).await?;
        if !response.status().is_success() {
            return Err(OutboundError::Request(format!(
                "{url} answered {}",
                response.status()
            )));
        }
        Ok(response.into_body())
    }
}

impl<'c> openidconnect::AsyncHttpClient<'c> for Outbound {
    type Error = OutboundError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, OutboundError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "::10.0.0.1",
            "2002:7f00:1::1",
            "fec0::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "2606:2800:220:1::1"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
