//! `noc init`: a first install in one directory: `noc.toml`, `tls/cert.pem`, `tls/key.pem` (mode 0600), `data/`.
//! The operator API token is printed once; only its SHA-256 is written to the config.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::config::sha256_hex;

#[derive(clap::Args, Debug)]
pub struct InitArgs {
    /// Directory to write into (created if missing).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:8443")]
    pub listen: String,
    /// Extra DNS names or IP addresses for the certificate (localhost, 127.0.0.1 and ::1 are always included).
    #[arg(long = "san")]
    pub sans: Vec<String>,
    /// Overwrite an existing noc.toml and certificate.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &InitArgs) -> anyhow::Result<()> {
    let dir = &args.dir;
    std::fs::create_dir_all(dir.join("tls")).with_context(|| format!("create {}", dir.join("tls").display()))?;
    std::fs::create_dir_all(dir.join("data")).with_context(|| format!("create {}", dir.join("data").display()))?;
    let config_path = dir.join("noc.toml");
    if config_path.exists() && !args.force {
        bail!("{} exists; pass --force to overwrite it", config_path.display());
    }
    let mut sans = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    sans.extend(args.sans.iter().cloned());
    let cert = rcgen::generate_simple_self_signed(sans).context("generate a self-signed certificate")?;
    write_private(&dir.join("tls/key.pem"), cert.signing_key.serialize_pem().as_bytes())?;
    write_private(&dir.join("tls/cert.pem"), cert.cert.pem().as_bytes())?;

    let mut token = [0u8; 32];
    rand::fill(&mut token);
    let token = hex::encode(token);
    let config = format!(
        "# Outpost NOC configuration; every field is described in docs/noc-config.md.\n\
         listen = \"{listen}\"\n\
         data_dir = \"data\"\n\
         \n\
         [tls]\n\
         cert = \"tls/cert.pem\"\n\
         key = \"tls/key.pem\"\n\
         \n\
         [api]\n\
         # SHA-256 of operator API bearer tokens (`printf %s TOKEN | sha256sum`).\n\
         tokens_sha256 = [\"{hash}\"]\n",
        listen = args.listen,
        hash = sha256_hex(&token)
    );
    write_private(&config_path, config.as_bytes())?;
    println!("wrote {}", config_path.display());
    println!("wrote {} and {}", dir.join("tls/cert.pem").display(), dir.join("tls/key.pem").display());
    println!("operator API token (shown once; keep it secret): {token}");
    println!("start with: noc serve --config {}", config_path.display());
    Ok(())
}

/// Writes a file readable only by its owner: temp file, fsync, rename, fsync the directory.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("create {}", tmp.display()))?;
    f.write_all(bytes).and_then(|_| f.sync_all()).with_context(|| format!("write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("rename to {}", path.display()))?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("fsync {}", parent.display()))?;
    }
    Ok(())
}
