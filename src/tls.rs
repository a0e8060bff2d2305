//! TLS with Redis's directives (`tls-port`, `tls-replication`, `tls-cert-file`, ...):
//! the settings, the certificate loading with operator-facing errors, and the rustls
//! configurations for our listener and for our links, reloadable at runtime.
//!
//! rustls on the `ring` provider. What we cannot honour exactly is refused at load
//! (encrypted keys, TLS 1.0/1.1, OpenSSL cipher-list keywords, DH parameters): a TLS
//! setting must never quietly become something weaker. docs/security.md says what is
//! supported.
//!
//! As Redis does for replication and sentinel links, the peer's certificate chain is
//! verified against the CA but its host name is not checked.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::sign::CertifiedKey;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme,
    SupportedCipherSuite, SupportedProtocolVersion,
};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// `tls-auth-clients`: whether clients of the TLS listener must show a certificate
/// signed by the CA (Redis's default `yes`), may (`optional`), or need not (`no`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuthClients {
    #[default]
    Yes,
    Optional,
    No,
}

/// Every `tls-*` setting, as read from sentinel.conf or sentinel.toml (paths absolute).
#[derive(Clone, Debug)]
pub struct TlsSettings {
    /// `tls-port` (0 = no TLS listener).
    pub port: u16,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// For our outgoing links; `tls-cert-file`/`tls-key-file` when unset (as Redis).
    pub client_cert_file: Option<PathBuf>,
    pub client_key_file: Option<PathBuf>,
    pub ca_cert_file: Option<PathBuf>,
    pub ca_cert_dir: Option<PathBuf>,
    pub auth_clients: AuthClients,
    /// `tls-replication yes`: links to Redis instances and peer sentinels use TLS.
    pub replication: bool,
    /// `tls-protocols` (empty: TLS 1.2 and 1.3, Redis's default).
    pub protocols: Vec<&'static SupportedProtocolVersion>,
    /// `tls-ciphersuites` (TLS 1.3) and `tls-ciphers` (TLS 1.2); empty: rustls's set.
    pub ciphersuites: Vec<SupportedCipherSuite>,
    pub ciphers: Vec<SupportedCipherSuite>,
    /// `tls-prefer-server-ciphers`.
    pub prefer_server_ciphers: bool,
    /// `tls-session-caching` and `tls-session-cache-size` (Redis: yes, 20480).
    pub session_caching: bool,
    pub session_cache_size: usize,
}

impl Default for TlsSettings {
    fn default() -> TlsSettings {
        TlsSettings {
            port: 0,
            cert_file: None,
            key_file: None,
            client_cert_file: None,
            client_key_file: None,
            ca_cert_file: None,
            ca_cert_dir: None,
            auth_clients: AuthClients::Yes,
            replication: false,
            protocols: Vec::new(),
            ciphersuites: Vec::new(),
            ciphers: Vec::new(),
            prefer_server_ciphers: false,
            session_caching: true,
            session_cache_size: 20480,
        }
    }
}

impl TlsSettings {
    /// Whether anything asks for TLS (a listener or TLS links).
    pub fn enabled(&self) -> bool {
        self.port != 0 || self.replication
    }
}

/// Applies one `tls-*` directive (Redis's name and arguments; relative paths against
/// `dir`). `Ok(false)`: not a TLS directive we handle. Errors are Redis-like texts
/// without the file and line (the caller adds them).
pub fn directive(s: &mut TlsSettings, name: &str, args: &[String], dir: &Path) -> Result<bool, String> {
    let one = || -> Result<&str, String> {
        match args {
            [v] => Ok(v.as_str()),
            _ => Err("wrong number of arguments".into()),
        }
    };
    let path = |v: &str| (!v.is_empty()).then(|| dir.join(v));
    let yes_no = |v: &str| match v.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".to_string()),
    };
    match name {
        "tls-port" => s.port = one()?.parse().map_err(|_| "argument must be between 0 and 65535 inclusive")?,
        "tls-cert-file" => s.cert_file = path(one()?),
        "tls-key-file" => s.key_file = path(one()?),
        "tls-client-cert-file" => s.client_cert_file = path(one()?),
        "tls-client-key-file" => s.client_key_file = path(one()?),
        "tls-ca-cert-file" => s.ca_cert_file = path(one()?),
        "tls-ca-cert-dir" => s.ca_cert_dir = path(one()?),
        "tls-key-file-pass" | "tls-client-key-file-pass" => {
            if !one()?.is_empty() {
                return Err(format!(
                    "{name}: encrypted private keys are not supported by this sentinel; decrypt the key \
                     (openssl pkey -in encrypted.key -out plain.key, mode 0600) and remove this line"
                ));
            }
        }
        "tls-auth-clients" => {
            s.auth_clients = match one()?.to_ascii_lowercase().as_str() {
                "yes" => AuthClients::Yes,
                "no" => AuthClients::No,
                "optional" => AuthClients::Optional,
                _ => return Err("argument(s) must be one of the following: no, yes, optional".into()),
            }
        }
        "tls-replication" => s.replication = yes_no(one()?)?,
        "tls-protocols" => s.protocols = protocols(&args.join(" "))?,
        "tls-ciphersuites" => s.ciphersuites = suites(one()?, TLS13_NAMES, "tls-ciphersuites")?,
        "tls-ciphers" => s.ciphers = suites(one()?, TLS12_NAMES, "tls-ciphers")?,
        "tls-prefer-server-ciphers" => s.prefer_server_ciphers = yes_no(one()?)?,
        "tls-session-caching" => s.session_caching = yes_no(one()?)?,
        "tls-session-cache-size" => {
            s.session_cache_size = one()?.parse().map_err(|_| "argument couldn't be parsed into an integer")?
        }
        // rustls keeps tickets and cached sessions for its own fixed lifetime.
        "tls-session-cache-timeout" if one()? != "300" => {
            return Err("tls-session-cache-timeout: only Redis's default (300) is supported".into())
        }
        "tls-session-cache-timeout" => {}
        // rustls offers no finite-field Diffie-Hellman suites: the file would mean nothing.
        "tls-dh-params-file" => {
            return Err(
                "tls-dh-params-file: DH parameters are not supported (only ECDHE key exchange is offered)".into()
            )
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// `tls-protocols "TLSv1.2 TLSv1.3"`.
fn protocols(v: &str) -> Result<Vec<&'static SupportedProtocolVersion>, String> {
    let mut out = Vec::new();
    for p in v.split_whitespace() {
        let version = match p.to_ascii_lowercase().as_str() {
            "tlsv1.2" => &rustls::version::TLS12,
            "tlsv1.3" => &rustls::version::TLS13,
            "tlsv1" | "tlsv1.1" => {
                return Err(format!("tls-protocols: {p} is not supported (only TLSv1.2 and TLSv1.3 are)"))
            }
            _ => return Err(format!("tls-protocols: unknown protocol '{p}'")),
        };
        if !out.iter().any(|o: &&SupportedProtocolVersion| o.version == version.version) {
            out.push(version);
        }
    }
    if out.is_empty() {
        return Err("tls-protocols: no protocol given".into());
    }
    Ok(out)
}

/// OpenSSL's names of the suites rustls offers (TLS 1.3, then TLS 1.2), with rustls's.
const TLS13_NAMES: &[(&str, rustls::CipherSuite)] = &[
    ("TLS_AES_256_GCM_SHA384", rustls::CipherSuite::TLS13_AES_256_GCM_SHA384),
    ("TLS_AES_128_GCM_SHA256", rustls::CipherSuite::TLS13_AES_128_GCM_SHA256),
    ("TLS_CHACHA20_POLY1305_SHA256", rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256),
];
const TLS12_NAMES: &[(&str, rustls::CipherSuite)] = &[
    ("ECDHE-ECDSA-AES256-GCM-SHA384", rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384),
    ("ECDHE-ECDSA-AES128-GCM-SHA256", rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
    ("ECDHE-ECDSA-CHACHA20-POLY1305", rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256),
    ("ECDHE-RSA-AES256-GCM-SHA384", rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384),
    ("ECDHE-RSA-AES128-GCM-SHA256", rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
    ("ECDHE-RSA-CHACHA20-POLY1305", rustls::CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256),
];

/// A colon-separated list of exact suite names. OpenSSL's keywords and operators
/// (`DEFAULT`, `HIGH`, `!aNULL`, ...) select sets we could not reproduce exactly: refused.
fn suites(
    v: &str,
    names: &[(&str, rustls::CipherSuite)],
    directive: &str,
) -> Result<Vec<SupportedCipherSuite>, String> {
    let mut out = Vec::new();
    for name in v.split(':').filter(|n| !n.is_empty()) {
        let Some((_, id)) = names.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) else {
            let known: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "{directive}: '{name}' is not supported; give a colon-separated list of: {}",
                known.join(", ")
            ));
        };
        let suite = rustls::crypto::ring::ALL_CIPHER_SUITES.iter().find(|s| s.suite() == *id).copied();
        out.extend(suite);
    }
    if out.is_empty() {
        return Err(format!("{directive}: no cipher suite given"));
    }
    Ok(out)
}

/// Reads the certificates of a PEM file.
fn read_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let data = std::fs::read(path).map_err(|e| format!("{what} {}: cannot read: {e}", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&data)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{what} {}: not a valid PEM certificate file: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{what} {}: no certificate in it (a PEM 'BEGIN CERTIFICATE' block)", path.display()));
    }
    Ok(certs)
}

/// Reads a PEM private key (PKCS#8, PKCS#1 or SEC1). Encrypted keys are refused.
fn read_key(path: &Path, what: &str) -> Result<PrivateKeyDer<'static>, String> {
    let data = std::fs::read(path).map_err(|e| format!("{what} {}: cannot read: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&data);
    if text.contains("ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(format!(
            "{what} {}: the key is encrypted, which this sentinel does not support; decrypt it \
             (openssl pkey -in encrypted.key -out plain.key)",
            path.display()
        ));
    }
    PrivateKeyDer::from_pem_slice(&data)
        .map_err(|e| format!("{what} {}: no usable private key in it: {e}", path.display()))
}

/// Reads the CA certificates (`tls-ca-cert-file`, and every certificate file of
/// `tls-ca-cert-dir`).
fn read_roots(s: &TlsSettings) -> Result<Arc<RootCertStore>, String> {
    let mut roots = RootCertStore::empty();
    let provider = provider(s);
    let mut add = |path: &Path, what: &str| -> Result<(), String> {
        for cert in read_certs(path, what)? {
            // An expired CA would fail every handshake: said at start-up instead.
            check_validity(&provider, &cert, &[], path, what)?;
            roots.add(cert).map_err(|e| format!("{what} {}: unusable CA certificate: {e}", path.display()))?;
        }
        Ok(())
    };
    if let Some(file) = &s.ca_cert_file {
        add(file, "tls-ca-cert-file")?;
    }
    if let Some(dir) = &s.ca_cert_dir {
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("tls-ca-cert-dir {}: cannot read: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            // OpenSSL's hashed-name links and plain .pem/.crt files; anything else is skipped.
            let is_cert = std::fs::read(&path).is_ok_and(|d| d.windows(17).any(|w| w == b"BEGIN CERTIFICATE"));
            if path.is_file() && is_cert {
                add(&path, "tls-ca-cert-dir")?;
            }
        }
    }
    if roots.is_empty() {
        return Err("TLS needs the CA: set tls-ca-cert-file or tls-ca-cert-dir (with tls-port and \
                    tls-auth-clients, or tls-replication)"
            .into());
    }
    Ok(Arc::new(roots))
}

// ring is the provider that builds without cmake or a C toolchain beyond cc; rustls
// 0.23.48 deprecates it only for lacking post-quantum key exchange.
#[allow(deprecated)]
fn provider(s: &TlsSettings) -> Arc<CryptoProvider> {
    let mut p = rustls::crypto::ring::default_provider();
    if !s.ciphersuites.is_empty() || !s.ciphers.is_empty() {
        let is13 = |c: &SupportedCipherSuite| matches!(c, SupportedCipherSuite::Tls13(_));
        let defaults = p.cipher_suites.clone();
        let tls13 = if s.ciphersuites.is_empty() {
            defaults.iter().filter(|c| is13(c)).copied().collect()
        } else {
            s.ciphersuites.clone()
        };
        let tls12 = if s.ciphers.is_empty() {
            defaults.iter().filter(|c| !is13(c)).copied().collect()
        } else {
            s.ciphers.clone()
        };
        p.cipher_suites = tls13.into_iter().chain(tls12).collect();
    }
    Arc::new(p)
}

fn versions(s: &TlsSettings) -> Vec<&'static SupportedProtocolVersion> {
    if s.protocols.is_empty() {
        vec![&rustls::version::TLS13, &rustls::version::TLS12]
    } else {
        s.protocols.clone()
    }
}

/// A certificate chain and its key, checked to belong together and to be valid now.
fn certified_key(
    provider: &CryptoProvider,
    cert: &Path,
    key: &Path,
    names: (&str, &str),
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let certs = read_certs(cert, names.0)?;
    let der = read_key(key, names.1)?;
    let signer = provider
        .key_provider
        .load_private_key(der.clone_key())
        .map_err(|e| format!("{} {}: unusable private key: {e}", names.1, key.display()))?;
    CertifiedKey::new(certs.clone(), signer).keys_match().map_err(|_| {
        format!("{} {} does not match the certificate in {} {}", names.1, key.display(), names.0, cert.display())
    })?;
    check_validity(provider, &certs[0], &certs[1..], cert, names.0)?;
    Ok((certs, der))
}

/// Refuses a certificate outside its validity period (checked by verifying it against
/// itself as the only root; any other complaint is for the peer to make).
fn check_validity(
    provider: &CryptoProvider,
    cert: &CertificateDer<'static>,
    chain: &[CertificateDer<'static>],
    path: &Path,
    what: &str,
) -> Result<(), String> {
    let mut roots = RootCertStore::empty();
    for c in chain.iter().chain(std::iter::once(cert)) {
        let _ = roots.add(c.clone());
    }
    let Ok(verifier) = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::new(provider.clone())).build()
    else {
        return Ok(());
    };
    let name = ServerName::try_from("sentinel.invalid").expect("a valid name");
    match verifier.verify_server_cert(cert, chain, &name, &[], UnixTime::now()) {
        Err(rustls::Error::InvalidCertificate(CertificateError::Expired))
        | Err(rustls::Error::InvalidCertificate(CertificateError::ExpiredContext { .. })) => {
            Err(format!("{what} {}: the certificate has expired", path.display()))
        }
        Err(rustls::Error::InvalidCertificate(CertificateError::NotValidYet))
        | Err(rustls::Error::InvalidCertificate(CertificateError::NotValidYetContext { .. })) => {
            Err(format!("{what} {}: the certificate is not valid yet", path.display()))
        }
        _ => Ok(()),
    }
}

/// Builds the listener's configuration from the files named in `s`.
fn server_config(s: &TlsSettings) -> Result<Arc<ServerConfig>, String> {
    let provider = provider(s);
    let cert = s.cert_file.as_deref().ok_or("tls-port is set but tls-cert-file is not")?;
    let key = s.key_file.as_deref().ok_or("tls-port is set but tls-key-file is not")?;
    let (certs, key) = certified_key(&provider, cert, key, ("tls-cert-file", "tls-key-file"))?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions(s))
        .map_err(|e| format!("tls-protocols/tls-ciphersuites/tls-ciphers: {e}"))?;
    let builder = match s.auth_clients {
        AuthClients::No => builder.with_no_client_auth(),
        auth => {
            let verifier = WebPkiClientVerifier::builder_with_provider(read_roots(s)?, provider.clone());
            let verifier = if auth == AuthClients::Optional { verifier.allow_unauthenticated() } else { verifier };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| format!("tls-ca-cert-file: {e}"))?)
        }
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|e| format!("tls-cert-file/tls-key-file: {e}"))?;
    config.ignore_client_order = s.prefer_server_ciphers;
    config.session_storage = if s.session_caching && s.session_cache_size > 0 {
        rustls::server::ServerSessionMemoryCache::new(s.session_cache_size)
    } else {
        Arc::new(rustls::server::NoServerSessionStorage {})
    };
    Ok(Arc::new(config))
}

/// Builds the configuration of our TLS links (`tls-replication yes`).
fn client_config(s: &TlsSettings) -> Result<Arc<ClientConfig>, String> {
    let provider = provider(s);
    let verifier = WebPkiServerVerifier::builder_with_provider(read_roots(s)?, provider.clone())
        .build()
        .map_err(|e| format!("tls-ca-cert-file: {e}"))?;
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions(s))
        .map_err(|e| format!("tls-protocols/tls-ciphersuites/tls-ciphers: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyName(verifier)));
    let pair = match (&s.client_cert_file, &s.client_key_file) {
        (Some(c), Some(k)) => Some((c, k, ("tls-client-cert-file", "tls-client-key-file"))),
        (Some(_), None) | (None, Some(_)) => {
            return Err("tls-client-cert-file and tls-client-key-file go together: set both or neither".into())
        }
        (None, None) => match (&s.cert_file, &s.key_file) {
            (Some(c), Some(k)) => Some((c, k, ("tls-cert-file", "tls-key-file"))),
            _ => None,
        },
    };
    let config = match pair {
        Some((cert, key, names)) => {
            let (certs, key) = certified_key(&provider, cert, key, names)?;
            builder.with_client_auth_cert(certs, key).map_err(|e| format!("{}: {e}", names.0))?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The client configuration for `sentinel-cli --tls` (redis-cli's `--cacert`,
/// `--cacertdir`, `--cert`, `--key`): the server's chain is verified against the CA, not
/// its name (as redis-cli does).
pub fn cli_config(
    cacert: Option<&Path>,
    cacertdir: Option<&Path>,
    cert: Option<&Path>,
    key: Option<&Path>,
) -> Result<Arc<ClientConfig>, String> {
    if cacert.is_none() && cacertdir.is_none() {
        return Err("--tls needs --cacert or --cacertdir (the CA that signed the server's certificate)".into());
    }
    let s = TlsSettings {
        replication: true,
        ca_cert_file: cacert.map(Path::to_path_buf),
        ca_cert_dir: cacertdir.map(Path::to_path_buf),
        client_cert_file: cert.map(Path::to_path_buf),
        client_key_file: key.map(Path::to_path_buf),
        ..TlsSettings::default()
    };
    client_config(&s).map_err(|e| {
        e.replace("tls-client-cert-file and tls-client-key-file", "--cert and --key").replace("tls-", "--tls-")
    })
}

/// Verifies the server's chain against the CA and ignores its names: like Redis (and
/// OpenSSL without a host check), a replica or sentinel address need not be in the
/// certificate.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The live TLS configurations: built at start-up, replaced by [`Tls::reload`]. A
/// connection takes the configuration in force when it starts.
pub struct Tls {
    settings: TlsSettings,
    server: RwLock<Option<Arc<ServerConfig>>>,
    client: RwLock<Option<Arc<ClientConfig>>>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("port", &self.settings.port)
            .field("replication", &self.settings.replication)
            .finish()
    }
}

type Configs = (Option<Arc<ServerConfig>>, Option<Arc<ClientConfig>>);

impl Tls {
    /// Loads every file `settings` names; `Ok(None)` when TLS is not asked for. The
    /// error names the directive and the file.
    pub fn load(settings: &TlsSettings) -> Result<Option<Arc<Tls>>, String> {
        if !settings.enabled() {
            return Ok(None);
        }
        let (server, client) = Tls::build(settings)?;
        Ok(Some(Arc::new(Tls { settings: settings.clone(), server: RwLock::new(server), client: RwLock::new(client) })))
    }

    fn build(s: &TlsSettings) -> Result<Configs, String> {
        let server = if s.port != 0 { Some(server_config(s)?) } else { None };
        let client = if s.replication { Some(client_config(s)?) } else { None };
        Ok((server, client))
    }

    /// Reads the certificate, key and CA files again; new connections then use them. On
    /// any error nothing changes (the configurations in force stay).
    pub fn reload(&self) -> Result<(), String> {
        let (server, client) = Tls::build(&self.settings)?;
        *self.server.write().unwrap_or_else(|e| e.into_inner()) = server;
        *self.client.write().unwrap_or_else(|e| e.into_inner()) = client;
        Ok(())
    }

    /// `tls-port`.
    pub fn port(&self) -> u16 {
        self.settings.port
    }

    /// Whether our links use TLS (`tls-replication yes`).
    pub fn replication(&self) -> bool {
        self.settings.replication
    }

    /// For one accepted connection, the listener's configuration in force.
    pub fn acceptor(&self) -> Option<tokio_rustls::TlsAcceptor> {
        self.server.read().unwrap_or_else(|e| e.into_inner()).clone().map(tokio_rustls::TlsAcceptor::from)
    }

    /// For one outgoing link, the links' configuration in force (`None` without
    /// `tls-replication`).
    pub fn connector(&self) -> Connector {
        Connector(self.client.read().unwrap_or_else(|e| e.into_inner()).clone().map(tokio_rustls::TlsConnector::from))
    }
}

/// What a link needs for its handshake (`tls-replication yes`). Without a configuration
/// (`None` inside) the link fails rather than speak plain text.
#[derive(Clone)]
pub struct Connector(pub Option<tokio_rustls::TlsConnector>);

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Connector(TLS)" } else { "Connector(none)" })
    }
}

/// The server name sent (SNI) when connecting to `host`: its name, or its IP address.
pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(host.to_string()).map_err(|e| format!("'{host}' cannot be used as a TLS server name: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_refuse_what_cannot_be_honoured() {
        let mut s = TlsSettings::default();
        let d = Path::new("/etc");
        let a = |v: &str| vec![v.to_string()];
        assert!(directive(&mut s, "tls-key-file-pass", &a("secret"), d).unwrap_err().contains("not supported"));
        assert!(directive(&mut s, "tls-protocols", &a("TLSv1.1 TLSv1.2"), d).unwrap_err().contains("TLSv1.1"));
        assert!(directive(&mut s, "tls-ciphers", &a("DEFAULT:!MEDIUM"), d).unwrap_err().contains("DEFAULT"));
        assert!(directive(&mut s, "tls-dh-params-file", &a("dh.pem"), d).is_err());
        assert!(directive(&mut s, "tls-auth-clients", &a("maybe"), d).is_err());
        assert_eq!(directive(&mut s, "tls-cluster", &a("no"), d), Ok(false));
    }

    #[test]
    fn directives_are_applied() {
        let mut s = TlsSettings::default();
        let d = Path::new("/etc/sentinel");
        let a = |v: &str| vec![v.to_string()];
        directive(&mut s, "tls-port", &a("26380"), d).unwrap();
        directive(&mut s, "tls-cert-file", &a("s.crt"), d).unwrap();
        directive(&mut s, "tls-auth-clients", &a("optional"), d).unwrap();
        directive(&mut s, "tls-protocols", &a("TLSv1.3"), d).unwrap();
        directive(&mut s, "tls-ciphersuites", &a("TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"), d).unwrap();
        assert_eq!(s.port, 26380);
        assert_eq!(s.cert_file.as_deref(), Some(Path::new("/etc/sentinel/s.crt")));
        assert_eq!(s.auth_clients, AuthClients::Optional);
        assert_eq!(s.protocols.len(), 1);
        assert_eq!(s.ciphersuites.len(), 2);
        assert!(s.enabled());
    }

    #[test]
    fn missing_files_are_named() {
        let s = TlsSettings {
            port: 1,
            cert_file: Some("/nonexistent/s.crt".into()),
            key_file: Some("/nonexistent/s.key".into()),
            ..TlsSettings::default()
        };
        let e = Tls::load(&s).unwrap_err();
        assert!(e.contains("tls-cert-file /nonexistent/s.crt: cannot read"), "{e}");
    }
}
