//! The ResponseURL is a credential (a presigned S3 PUT): whoever holds it answers for the stack.
//! So it is (1) only answered when it points where CloudFormation's answers go, and (2) never
//! shown with its query string, which carries the signature.

use std::fmt;

use reqwest::Url;

/// The environment variable that adds answerable hosts (local testing): `host` or `host:port`,
/// comma-separated. For these hosts plain http is allowed too.
pub const ALLOWED_HOSTS_ENV: &str = "CFN_RESPONSE_ALLOWED_HOSTS";

/// S3 endpoints CloudFormation presigns answers for.
const S3_HOST_SUFFIXES: &[&str] = &[".amazonaws.com", ".amazonaws.com.cn"];

/// Hosts added by configuration.
#[derive(Clone, Debug, Default)]
pub struct AllowedHosts(Vec<(String, Option<u16>)>);

impl AllowedHosts {
    pub fn from_env() -> Self {
        Self::parse(&std::env::var(ALLOWED_HOSTS_ENV).unwrap_or_default())
    }

    pub fn parse(list: &str) -> Self {
        AllowedHosts(
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(split_host_port)
                .collect(),
        )
    }

    fn allows(&self, host: &str, port: Option<u16>) -> bool {
        self.0
            .iter()
            .any(|(h, p)| h.eq_ignore_ascii_case(host) && (p.is_none() || *p == port))
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`; hosts are kept as `Url::host_str` spells them.
fn split_host_port(entry: &str) -> (String, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        if let Some((host, after)) = rest.split_once(']') {
            let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
            return (format!("[{host}]"), port);
        }
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(port) => (host.to_owned(), Some(port)),
            Err(_) => (entry.to_owned(), None),
        },
        _ if entry.contains(':') => (format!("[{entry}]"), None), // a bare IPv6 address
        _ => (entry.to_owned(), None),
    }
}

/// A ResponseURL that passed the allow-list. `Display` and `Debug` never show the query.
#[derive(Clone)]
pub struct ResponseUrl(Url);

/// Why a ResponseURL was refused; its `Display` shows the URL redacted.
#[derive(Debug, thiserror::Error)]
#[error("ResponseURL {url} refused: {why}")]
pub struct Refused {
    pub url: String,
    pub why: String,
}

impl ResponseUrl {
    pub fn parse(raw: &str, allowed: &AllowedHosts) -> Result<Self, Refused> {
        let refuse = |url: String, why: &str| Refused {
            url,
            why: why.to_owned(),
        };
        let url = Url::parse(raw).map_err(|e| refuse(redact_raw(raw), &format!("not a URL ({e})")))?;
        let shown = redact(&url);
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse(shown, "credentials in the URL are not allowed"));
        }
        let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
            return Err(refuse(shown, "no host"));
        };
        let port = url.port(); // None when absent or the scheme's default
        let configured = allowed.allows(host, port);
        match url.scheme() {
            "https" => {}
            "http" if configured => {}
            "http" => {
                return Err(refuse(
                    shown,
                    "plain http is only allowed for hosts listed in CFN_RESPONSE_ALLOWED_HOSTS",
                ))
            }
            _ => return Err(refuse(shown, "only https URLs are answered")),
        }
        let is_s3 = matches!(url.host(), Some(url::Host::Domain(_))) && port.is_none() && is_s3_host(host);
        if !(is_s3 || configured) {
            return Err(refuse(
                shown,
                "host is not an AWS S3 endpoint (*.amazonaws.com on port 443) nor listed in CFN_RESPONSE_ALLOWED_HOSTS",
            ));
        }
        Ok(ResponseUrl(url))
    }

    pub fn url(&self) -> &Url {
        &self.0
    }
}

/// `*.amazonaws.com(.cn)` with an S3 label before the suffix: `bucket.s3.amazonaws.com`,
/// `bucket.s3.us-east-1.amazonaws.com`, `s3-us-west-2.amazonaws.com`, `s3-fips...`.
fn is_s3_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let Some(prefix) = S3_HOST_SUFFIXES.iter().find_map(|suffix| host.strip_suffix(suffix)) else {
        return false;
    };
    prefix.split('.').any(|label| label == "s3" || label.starts_with("s3-"))
}

impl fmt::Display for ResponseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

impl fmt::Debug for ResponseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResponseUrl({self})")
    }
}

/// scheme://host[:port]/path, with `?<redacted>` standing for any query.
pub fn redact(url: &Url) -> String {
    use crate::text::shorten;
    if url.cannot_be_a_base() {
        // data:, mailto:, urn: ... everything after the scheme is opaque and may hold a secret.
        return format!("{}:<redacted>", shorten(url.scheme(), 20));
    }
    let mut shown = format!(
        "{}://{}",
        shorten(url.scheme(), 20),
        shorten(url.host_str().unwrap_or(""), 100)
    );
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    shown.push_str(&shorten(url.path(), 200));
    if url.query().is_some() {
        shown.push_str("?<redacted>");
    }
    shown
}

/// For strings that do not even parse: keep what precedes any `?`, `#` or `@`, cut short.
fn redact_raw(raw: &str) -> String {
    let cut = raw.find(['?', '#', '@']).unwrap_or(raw.len());
    let mut shown = crate::text::shorten(&raw[..cut], 120);
    if cut < raw.len() {
        shown.push_str("<redacted>");
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=deadbeefcafe";

    fn check(url: &str, allowed: &str) -> Result<ResponseUrl, Refused> {
        ResponseUrl::parse(url, &AllowedHosts::parse(allowed))
    }

    #[test]
    fn real_s3_urls_are_answered() {
        for url in [
            format!("https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws%3Acloudformation/x?{SIG}"),
            format!("https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/x?{SIG}"),
            format!("https://bucket.s3.us-west-2.amazonaws.com:443/x?{SIG}"),
            format!("https://s3-external-1.amazonaws.com/bucket/x?{SIG}"),
            format!("https://bucket.s3.dualstack.eu-west-1.amazonaws.com/x?{SIG}"),
        ] {
            assert!(check(&url, "").is_ok(), "{url}");
        }
    }

    #[test]
    fn hostile_urls_are_refused() {
        for url in [
            format!("http://bucket.s3.amazonaws.com/x?{SIG}"),
            format!("https://bucket.s3.amazonaws.com@evil.example/x?{SIG}"),
            format!("https://user:pw@bucket.s3.amazonaws.com/x?{SIG}"),
            format!("https://bucket.s3.amazonaws.com.evil.example/x?{SIG}"),
            format!("https://bucket.s3.amazonaws.com:8443/x?{SIG}"),
            format!("https://amazonaws.com/x?{SIG}"),
            format!("https://abc123.execute-api.us-east-1.amazonaws.com/x?{SIG}"),
            format!("https://s3x.amazonaws.com/x?{SIG}"),
            format!("data:text/plain,{SIG}"),
            format!("mailto:x@example.com?{SIG}"),
            format!("https://evil.example/x?{SIG}"),
            format!("https://10.0.0.1/x?{SIG}"),
            format!("https://169.254.169.254/x?{SIG}"),
            format!("https://[::1]/x?{SIG}"),
            format!("http://127.0.0.2:8080/x?{SIG}"),
            format!("ftp://bucket.s3.amazonaws.com/x?{SIG}"),
            format!("file:///etc/passwd?{SIG}"),
            "not a url".to_string(),
            String::new(),
        ] {
            let refused = check(&url, "127.0.0.1").expect_err(&url);
            assert!(!refused.to_string().contains("deadbeef"), "{refused}");
        }
    }

    #[test]
    fn loopback_needs_configuration() {
        assert!(check(&format!("https://127.0.0.1/x?{SIG}"), "").is_err());
        assert!(check(&format!("http://localhost:80/x?{SIG}"), "").is_err());
    }

    #[test]
    fn configured_hosts_allow_http_and_their_port() {
        assert!(check(&format!("http://127.0.0.1:9000/r?{SIG}"), "127.0.0.1").is_ok());
        assert!(check(&format!("http://localhost:9000/r?{SIG}"), "127.0.0.1, localhost").is_ok());
        assert!(check(&format!("http://127.0.0.1:9000/r?{SIG}"), "127.0.0.1:9001").is_err());
        assert!(check(&format!("http://127.0.0.1:9001/r?{SIG}"), "127.0.0.1:9001").is_ok());
        assert!(check(&format!("http://[::1]:9001/r?{SIG}"), "::1").is_ok());
        assert!(check(&format!("http://[::1]:9001/r?{SIG}"), "[::1]:9001").is_ok());
        assert!(check(&format!("http://127.0.0.2:9001/r?{SIG}"), "127.0.0.1").is_err());
    }

    #[test]
    fn display_never_shows_the_query() {
        let url = check(&format!("https://b.s3.amazonaws.com/path/to?{SIG}"), "").unwrap();
        assert_eq!(url.to_string(), "https://b.s3.amazonaws.com/path/to?<redacted>");
        assert!(!format!("{url:?}").contains("deadbeef"));
        assert_eq!(redact_raw("htp:/x?sig=1"), "htp:/x<redacted>");
        assert_eq!(
            redact(&Url::parse(&format!("data:text/plain,{SIG}")).unwrap()),
            "data:<redacted>"
        );
        let long_host = format!("https://{}.s3.amazonaws.com/x", "a".repeat(5000));
        assert!(redact(&Url::parse(&long_host).unwrap()).len() < 400);
    }
}
