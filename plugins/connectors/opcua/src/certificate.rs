//! The checks of a server's certificate that name it: the host the gateway connects to must be
//! one of its DNS names or IP addresses, and the server's application URI one of its URIs, every
//! subject alternative name considered whatever its place. (async-opcua compares the URI with
//! the first name only and skips the first when it looks for the host, so it refuses the
//! certificates that several open-source servers make, with the URI last; the client runs with
//! its own name checks off, and these instead.) Trust and key length stay the library's.

use x509_cert::{
    Certificate,
    der::Decode as _,
    ext::pkix::{SubjectAltName, name::GeneralName},
};

/// The names a certificate carries for its subject.
#[derive(Debug, Default, PartialEq)]
pub struct Names {
    /// DNS names, as written.
    pub dns: Vec<String>,
    /// IP addresses.
    pub ips: Vec<std::net::IpAddr>,
    /// URIs.
    pub uris: Vec<String>,
}

impl Names {
    /// The subject alternative names of the DER certificate `der`.
    pub fn of(der: &[u8]) -> Result<Self, String> {
        let cert = Certificate::from_der(der)
            .map_err(|e| format!("its certificate cannot be read: {e}"))?;
        let mut names = Self::default();
        let san = cert
            .tbs_certificate
            .get::<SubjectAltName>()
            .map_err(|e| format!("its certificate's alternative names cannot be read: {e}"))?;
        for name in san.map(|(_, san)| san.0).unwrap_or_default() {
            match name {
                GeneralName::DnsName(d) => names.dns.push(d.as_str().to_string()),
                GeneralName::UniformResourceIdentifier(u) => {
                    names.uris.push(u.as_str().to_string())
                }
                GeneralName::IpAddress(octets) => match octets.as_bytes().len() {
                    4 => {
                        let b: [u8; 4] = octets.as_bytes().try_into().unwrap_or_default();
                        names.ips.push(b.into());
                    }
                    16 => {
                        let b: [u8; 16] = octets.as_bytes().try_into().unwrap_or_default();
                        names.ips.push(b.into());
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        Ok(names)
    }

    /// Whether `host` (a name or an address, as in the URL) is one of the names.
    pub fn has_host(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = host.parse::<std::net::IpAddr>() {
            // Some stacks write an address as a DNS name.
            return self.ips.contains(&ip) || self.dns.iter().any(|d| d == host);
        }
        self.dns.iter().any(|d| dns_matches(d, host))
    }

    /// The names, for a message: `DNS localhost, IP 127.0.0.1, URI urn:x`.
    pub fn listed(&self) -> String {
        let all: Vec<String> = self
            .dns
            .iter()
            .map(|d| format!("DNS {d}"))
            .chain(self.ips.iter().map(|i| format!("IP {i}")))
            .chain(self.uris.iter().map(|u| format!("URI {u}")))
            .collect();
        if all.is_empty() {
            "no alternative name at all".into()
        } else {
            all.join(", ")
        }
    }
}

/// A DNS name of a certificate against a host, case aside; `*.example.com` stands for one label.
fn dns_matches(pattern: &str, host: &str) -> bool {
    if pattern.eq_ignore_ascii_case(host) {
        return true;
    }
    match (pattern.strip_prefix("*."), host.split_once('.')) {
        (Some(rest), Some((label, host_rest))) => {
            !label.is_empty() && rest.eq_ignore_ascii_case(host_rest)
        }
        _ => false,
    }
}

/// Checks the certificate `der` of the server reached at `host`, whose application URI is
/// `application_uri`, at `now`; the refusal says what was looked for, what the certificate
/// names, and what to do.
pub fn check(
    der: &[u8],
    host: &str,
    application_uri: &str,
    now: std::time::SystemTime,
) -> Result<(), String> {
    let cert =
        Certificate::from_der(der).map_err(|e| format!("its certificate cannot be read: {e}"))?;
    let validity = &cert.tbs_certificate.validity;
    let (from, to) = (
        validity.not_before.to_system_time(),
        validity.not_after.to_system_time(),
    );
    let day = |t: std::time::SystemTime| {
        chrono::DateTime::<chrono::Utc>::from(t)
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string()
    };
    if now < from || now > to {
        return Err(format!(
            "its certificate is valid from {} to {}, not now: have the server's certificate \
             renewed (or the clocks set right)",
            day(from),
            day(to)
        ));
    }
    let names = Names::of(der)?;
    if !names.has_host(host) {
        return Err(format!(
            "its certificate does not name the host {host:?} of the url (it names {}): connect \
             with one of those names, or have the server's certificate made again with this one",
            names.listed()
        ));
    }
    if !names.uris.iter().any(|u| u == application_uri) {
        return Err(format!(
            "its certificate does not carry the server's application URI {application_uri:?} \
             (it names {}): have the server's certificate made again with its application URI",
            names.listed()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        Names {
            dns: vec!["plc-7".into(), "*.plant.example".into(), "10.0.0.9".into()],
            ips: vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()],
            uris: vec!["urn:plc-7".into()],
        }
    }

    #[test]
    fn a_host_is_any_of_the_names_or_addresses() {
        let n = names();
        for host in [
            "plc-7",
            "PLC-7",
            "a.plant.example",
            "127.0.0.1",
            "[::1]",
            "10.0.0.9",
        ] {
            assert!(n.has_host(host), "{host}");
        }
        for host in [
            "plc-8",
            "a.b.plant.example",
            "plant.example",
            "127.0.0.2",
            "localhost",
        ] {
            assert!(!n.has_host(host), "{host}");
        }
        assert_eq!(
            n.listed(),
            "DNS plc-7, DNS *.plant.example, DNS 10.0.0.9, IP 127.0.0.1, IP ::1, URI urn:plc-7"
        );
    }

    #[test]
    fn an_unreadable_certificate_is_named() {
        assert!(
            Names::of(b"not a certificate")
                .unwrap_err()
                .contains("cannot be read")
        );
    }
}
