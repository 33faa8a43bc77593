//! `tollgate keygen` and `tollgate sign`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{hexarg, ClientError};
use crate::api::wire::{to_hex, Item};
use crate::signer::SecretKey;
use crate::suite::{Scheme, Suite, Variant};

#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Group layout of the public key and proof printed.
    #[arg(long, value_enum, default_value_t = Variant::MinPk)]
    variant: Variant,
    /// File holding input keying material (≥ 32 bytes, hex) for a reproducible key; `-` reads
    /// stdin. OS randomness otherwise. (Never an argument: argv is visible to other users.)
    #[arg(long, value_name = "FILE")]
    ikm_file: Option<PathBuf>,
}

/// What `keygen` prints and what `sign --key-file` reads.
#[derive(Debug, Serialize, Deserialize)]
pub struct KeyFile {
    pub secret_key: String,
    pub variant: Variant,
    pub public_key: String,
    pub proof_of_possession: String,
}

pub fn keygen(args: KeygenArgs) -> anyhow::Result<()> {
    let key = match &args.ikm_file {
        Some(path) => SecretKey::from_ikm(&hexarg::parse("--ikm-file", &read_secret(path)?)?)?,
        None => SecretKey::generate()?,
    };
    let file = KeyFile {
        secret_key: to_hex(&key.to_bytes()),
        variant: args.variant,
        public_key: to_hex(&key.public_key(args.variant)),
        proof_of_possession: to_hex(&key.prove_possession(args.variant)),
    };
    println!("{}", serde_json::to_string_pretty(&file)?);
    Ok(())
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("key").required(true).args(["secret_key_file", "key_file"])))]
#[command(group(clap::ArgGroup::new("msg").required(true).args(["message", "text"])))]
pub struct SignArgs {
    /// File holding the secret key, 32 bytes hex; `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    secret_key_file: Option<PathBuf>,
    /// A key file written by `tollgate keygen`; `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
    /// The message, hex.
    #[arg(long)]
    message: Option<String>,
    /// The message as UTF-8 text.
    #[arg(long)]
    text: Option<String>,
    #[arg(long, value_enum, default_value_t = Scheme::Pop)]
    scheme: Scheme,
    #[arg(long, value_enum, default_value_t = Variant::MinPk)]
    variant: Variant,
}

pub fn sign(args: SignArgs) -> anyhow::Result<()> {
    let key = match (&args.secret_key_file, &args.key_file) {
        (Some(path), _) => {
            SecretKey::from_bytes(&hexarg::parse("--secret-key-file", &read_secret(path)?)?)?
        }
        (None, Some(path)) => {
            let file: KeyFile =
                serde_json::from_str(&read_secret(path)?).map_err(|source| ClientError::Json {
                    what: path.display().to_string(),
                    source,
                })?;
            SecretKey::from_bytes(&hexarg::parse("secret_key", &file.secret_key)?)?
        }
        (None, None) => {
            return Err(ClientError::Usage("give --secret-key-file or --key-file".into()).into())
        }
    };
    let message = match (&args.message, &args.text) {
        (Some(hex), _) => hexarg::parse("--message", hex)?,
        (None, Some(text)) => text.as_bytes().to_vec(),
        (None, None) => return Err(ClientError::Usage("give --message or --text".into()).into()),
    };
    let suite = Suite::new(args.scheme, args.variant);
    let item = Item {
        public_key: to_hex(&key.public_key(args.variant)),
        key_id: None,
        message: to_hex(&message),
        signature: to_hex(&key.sign(suite, &message)),
    };
    println!("{}", serde_json::to_string_pretty(&item)?);
    Ok(())
}

/// The text of a file holding secret material, `-` for stdin, surrounding whitespace removed
/// (so `echo HEX > F` works).
fn read_secret(path: &Path) -> Result<String, ClientError> {
    let io = |source| ClientError::Io {
        path: path.display().to_string(),
        source,
    };
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).map_err(io)?
    } else {
        std::fs::read_to_string(path).map_err(io)?
    };
    Ok(text.trim().to_string())
}
