//! `glassbox keys`: create, list and revoke API keys in a data directory.
//!
//! Creating and revoking change the store and append an audit entry, so they
//! run only while no server uses the data directory (the server holds a lock
//! on it); with a server running, use its admin API instead
//! (`POST /api/v1/admin/keys`, `POST /api/v1/admin/keys/{id}/revoke`), which
//! takes effect at once. Listing works either way.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;
use glassbox_store::StoreError;
use glassbox_store::sqlite::keys::{self, ApiKey, KeyChange, KeyOutcome};

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it (once: only its hash is stored).
    Create {
        /// The project whose data the key sends or reads (`default` without projects).
        #[arg(long, value_name = "NAME")]
        project: String,
        /// ingest (send telemetry only), viewer (read), engineer (read + evaluations),
        /// auditor (read + the audit trail), admin (everything).
        #[arg(long, value_name = "ROLE")]
        role: String,
        /// A label to recognise the key by (e.g. the agent or person using it).
        #[arg(long, value_name = "LABEL")]
        name: Option<String>,
        #[arg(
            long,
            env = "GLASSBOX_DATA_DIR",
            default_value = "glassbox-data",
            value_name = "DIR"
        )]
        data_dir: PathBuf,
    },
    /// List keys (never their secrets).
    List {
        #[arg(
            long,
            env = "GLASSBOX_DATA_DIR",
            default_value = "glassbox-data",
            value_name = "DIR"
        )]
        data_dir: PathBuf,
    },
    /// Revoke a key by id (see `glassbox keys list`).
    Revoke {
        #[arg(value_name = "ID")]
        id: i64,
        #[arg(
            long,
            env = "GLASSBOX_DATA_DIR",
            default_value = "glassbox-data",
            value_name = "DIR"
        )]
        data_dir: PathBuf,
    },
}

fn offline(dir: &std::path::Path, change: &KeyChange) -> anyhow::Result<KeyOutcome> {
    match keys::change_offline(dir, change) {
        Err(StoreError::Locked(m)) => bail!(
            "{m}. Stop it first, or use its admin API with an admin key: \
             curl -X POST -H 'authorization: Bearer gbx_…' -H 'content-type: application/json' \
             -d '{{\"project\":\"…\",\"role\":\"…\"}}' http://127.0.0.1:4318/api/v1/admin/keys \
             (revoke: POST /api/v1/admin/keys/ID/revoke)"
        ),
        other => other.with_context(|| format!("changing the keys in {}", dir.display())),
    }
}

fn line(k: &ApiKey) -> String {
    format!(
        "{:>4}  {:<14}  {:<20}  {:<9}  {:<8}  {}",
        k.id,
        format!("{}…", k.prefix),
        k.project,
        k.role,
        if k.revoked { "revoked" } else { "active" },
        k.name.as_deref().unwrap_or("")
    )
}

pub fn run(cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Create {
            project,
            role,
            name,
            data_dir,
        } => {
            glassbox_server::validate_new_key(&project, &role).map_err(anyhow::Error::msg)?;
            let change = KeyChange::Create {
                project,
                role,
                name,
            };
            let KeyOutcome::Created { key, secret } = offline(&data_dir, &change)? else {
                bail!("the store did not create a key");
            };
            eprintln!(
                "Created key {} ({}, project {}, role {}). It is shown only now; store it safely:",
                key.id, key.prefix, key.project, key.role
            );
            println!("{secret}");
            Ok(())
        }
        KeysCommand::List { data_dir } => {
            let keys = keys::list_offline(&data_dir)
                .with_context(|| format!("reading the keys in {}", data_dir.display()))?;
            if keys.is_empty() {
                eprintln!(
                    "No API keys: authentication is off (loopback only). Create the first with \
                     `glassbox keys create --project default --role admin`."
                );
                return Ok(());
            }
            println!(
                "{:>4}  {:<14}  {:<20}  {:<9}  {:<8}  name",
                "id", "key", "project", "role", "state"
            );
            for k in &keys {
                println!("{}", line(k));
            }
            Ok(())
        }
        KeysCommand::Revoke { id, data_dir } => {
            let KeyOutcome::Revoked(key) = offline(&data_dir, &KeyChange::Revoke { id })? else {
                bail!("the store did not revoke the key");
            };
            eprintln!("Revoked key {} ({}).", key.id, key.prefix);
            Ok(())
        }
    }
}
