//! The one DNS question 1Auth asks: the TXT records of a domain's challenge
//! name (`domains.rs` decides what they prove). Asked of the system's
//! resolvers, or of the server `ONEAUTH_DNS_SERVER` names (a resolver that
//! sees the public zone; tests stand one in). A fresh resolver per
//! question, so a record just published is not hidden by a cached answer.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::Resolver;
use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;

/// A question that got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    #[error("The DNS could not be asked about {0}: {1}")]
    Unreachable(String, String),
}

/// The TXT strings at `name` (each record's strings joined, as RFC 7208
/// §3.3 reads a long record); none when the name has no TXT record.
pub async fn txt_records(server: Option<SocketAddr>, name: &str) -> Result<Vec<String>, DnsError> {
    let unreachable =
        |err: &dyn std::fmt::Display| DnsError::Unreachable(name.to_owned(), err.to_string());
    let mut options = ResolverOpts::default();
    options.timeout = Duration::from_secs(3);
    options.attempts = 2;
    options.cache_size = 0;
    let builder = match server {
        Some(server) => Resolver::builder_with_config(
            ResolverConfig::from_parts(
                None,
                Vec::new(),
                NameServerConfigGroup::from_ips_clear(&[server.ip()], server.port(), true),
            ),
            TokioConnectionProvider::default(),
        ),
        None => Resolver::builder_tokio().map_err(|err| unreachable(&err))?,
    };
    let resolver = builder.with_options(options).build();
    // Fully qualified: no search domain of the host is appended.
    let fqdn = format!("{}.", name.trim_end_matches('.'));
    match resolver.txt_lookup(fqdn).await {
        Ok(found) => Ok(found
            .iter()
            .map(|txt| {
                txt.iter()
                    .map(|part| String::from_utf8_lossy(part).into_owned())
                    .collect::<String>()
            })
            .collect()),
        Err(err) if err.is_no_records_found() || err.is_nx_domain() => Ok(Vec::new()),
        Err(err) => Err(unreachable(&err)),
    }
}
