//! `glassbox audit`: verify a store's tamper-evident trail, export a bundle an
//! auditor can verify offline, print the public key.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;
use glassbox_store::sqlite::audit;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the audit trail and every stored span, log and metric point it
    /// covers. Works on a stopped server's data dir. Exit 0: intact; 1: tampered
    /// (the first bad entry is named); 2: could not verify.
    Verify {
        #[arg(
            long,
            env = "GLASSBOX_DATA_DIR",
            default_value = "glassbox-data",
            value_name = "DIR"
        )]
        data_dir: PathBuf,
        /// The auditor's copy of the public key (64 hex digits, or a file holding
        /// them). Without it, the key stored beside the data is trusted.
        #[arg(long, value_name = "HEX|FILE")]
        public_key: Option<String>,
    },
    /// Write a self-contained bundle (a consistent copy of the store, the
    /// public key, the entries as JSON lines) that verifies offline with
    /// `glassbox audit verify --data-dir BUNDLE --public-key KEY`.
    Export {
        #[arg(
            long,
            env = "GLASSBOX_DATA_DIR",
            default_value = "glassbox-data",
            value_name = "DIR"
        )]
        data_dir: PathBuf,
        /// The bundle directory to create (must not exist).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Print the public key that signs the checkpoints (give it to auditors).
    PublicKey {
        #[arg(
            long,
            env = "GLASSBOX_DATA_DIR",
            default_value = "glassbox-data",
            value_name = "DIR"
        )]
        data_dir: PathBuf,
    },
}

pub fn run(cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCommand::Verify {
            data_dir,
            public_key,
        } => {
            let key = public_key.as_deref().map(parse_key).transpose()?;
            Ok(verify(&data_dir, key))
        }
        AuditCommand::Export { data_dir, out } => export(&data_dir, &out),
        AuditCommand::PublicKey { data_dir } => {
            let p = data_dir.join(audit::PUBLIC_KEY_FILE);
            let key = std::fs::read_to_string(&p).with_context(|| {
                format!(
                    "reading {}; has `glassbox serve` run with this data dir?",
                    p.display()
                )
            })?;
            println!("{}", key.trim());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn parse_key(arg: &str) -> anyhow::Result<[u8; 32]> {
    let text = if Path::new(arg).is_file() {
        std::fs::read_to_string(arg).with_context(|| format!("reading {arg}"))?
    } else {
        arg.to_owned()
    };
    let bytes = hex::decode(text.trim()).ok().filter(|b| b.len() == 32);
    match bytes.and_then(|b| <[u8; 32]>::try_from(b).ok()) {
        Some(k) => Ok(k),
        None => bail!("--public-key: {arg:?} is neither 64 hex digits nor a file holding them"),
    }
}

fn verify(dir: &Path, key: Option<[u8; 32]>) -> ExitCode {
    match audit::verify(dir, key) {
        Err(e) => {
            eprintln!("error: could not verify {}: {e}", dir.display());
            ExitCode::from(2)
        }
        Ok(r) => {
            let rows: Vec<String> = r.rows.iter().map(|(t, n)| format!("{n} {t}")).collect();
            if r.problems.is_empty() {
                println!(
                    "ok: {} entries, {} signed checkpoints (public key {}), covering {}",
                    r.entries,
                    r.checkpoints,
                    r.public_key,
                    rows.join(", ")
                );
                ExitCode::SUCCESS
            } else {
                println!("TAMPERED: {}", r.problems[0]);
                for p in &r.problems[1..] {
                    println!("  also: {p}");
                }
                println!(
                    "checked {} entries and {} checkpoints in {}",
                    r.entries,
                    r.checkpoints,
                    dir.display()
                );
                ExitCode::from(1)
            }
        }
    }
}

fn export(dir: &Path, out: &Path) -> anyhow::Result<ExitCode> {
    if out.exists() {
        bail!(
            "{} already exists; choose a new directory for the bundle",
            out.display()
        );
    }
    let db = dir.join("glassbox.db");
    if !db.exists() {
        bail!("no Glassbox store in {}", dir.display());
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    // VACUUM INTO takes a consistent snapshot, even while the server writes.
    let conn =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .with_context(|| format!("opening {}", db.display()))?;
    let target = out.join("glassbox.db");
    conn.execute("VACUUM INTO ?1", [target.to_string_lossy()])
        .context("copying the store")?;
    std::fs::copy(
        dir.join(audit::PUBLIC_KEY_FILE),
        out.join(audit::PUBLIC_KEY_FILE),
    )
    .context("copying the public key")?;
    let mut lines = String::new();
    let mut stmt = conn.prepare(
        "SELECT seq, time_ns, kind, detail, hex(prev), hex(hash) FROM audit_log ORDER BY seq",
    )?;
    let mut q = stmt.query([])?;
    while let Some(row) = q.next()? {
        let detail: String = row.get(3)?;
        let entry = serde_json::json!({
            "seq": row.get::<_, i64>(0)?,
            "time_ns": row.get::<_, i64>(1)?,
            "kind": row.get::<_, String>(2)?,
            "detail": serde_json::from_str::<serde_json::Value>(&detail).unwrap_or_default(),
            "prev": row.get::<_, String>(4)?.to_lowercase(),
            "hash": row.get::<_, String>(5)?.to_lowercase(),
        });
        lines.push_str(&entry.to_string());
        lines.push('\n');
    }
    std::fs::write(out.join("audit-log.jsonl"), lines)?;
    let key = std::fs::read_to_string(out.join(audit::PUBLIC_KEY_FILE))?;
    std::fs::write(
        out.join("README.txt"),
        format!(
            "Glassbox audit bundle exported from {}.\n\nVerify it offline with the public key you hold for this deployment:\n\n    glassbox audit verify --data-dir {} --public-key {}\n\naudit-log.jsonl lists the entries; glassbox.db holds them and the data they cover.\n",
            dir.display(),
            out.display(),
            key.trim()
        ),
    )?;
    eprintln!("exported to {}; verifying the bundle…", out.display());
    Ok(verify(out, None))
}
