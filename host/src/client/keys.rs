//! `tollgate keygen` and `tollgate sign`.

use std::path::PathBuf;

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
    /// Input keying material (≥ 32 bytes, hex) for a reproducible key; OS randomness otherwise.
    #[arg(long)]
    ikm: Option<String>,
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
    let key = match args.ikm {
        Some(ikm) => SecretKey::from_ikm(&hexarg::parse("--ikm", &ikm)?)?,
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
#[command(group(clap::ArgGroup::new("key").required(true).args(["secret_key", "key_file"])))]
#[command(group(clap::ArgGroup::new("msg").required(true).args(["message", "text"])))]
pub struct SignArgs {
    /// The secret key, 32 bytes hex (prefer --key-file: arguments are visible to other users).
    #[arg(long)]
    secret_key: Option<String>,
    /// A key file written by `tollgate keygen`.
    #[arg(long)]
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
    let key = match (&args.secret_key, &args.key_file) {
        (Some(hex), _) => SecretKey::from_bytes(&hexarg::parse("--secret-key", hex)?)?,
        (None, path) => {
            let path = path
                .as_ref()
                .ok_or_else(|| ClientError::Usage("give --secret-key or --key-file".into()))?;
            let text = std::fs::read_to_string(path).map_err(|source| ClientError::Io {
                path: path.display().to_string(),
                source,
            })?;
            let file: KeyFile =
                serde_json::from_str(&text).map_err(|source| ClientError::Json {
                    what: path.display().to_string(),
                    source,
                })?;
            SecretKey::from_bytes(&hexarg::parse("secret_key", &file.secret_key)?)?
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
