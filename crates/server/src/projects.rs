//! Per-project data isolation: one store per project.
//!
//! The `default` project is the data directory itself (so a store written
//! before projects existed is the default project's, unchanged); project `p`
//! lives in `<data dir>/projects/p/`, a complete store of its own (data,
//! model-call ledger, hot index, audit trail, data keys). A request is served
//! by the API and UI routers of its caller's project, built over that
//! project's store only, so no query, join or index can reach another
//! project's rows; a trace id from another project is simply not found.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use glassbox_store::StoreError;
use glassbox_store::sqlite::keys::DataDirLock;
use glassbox_store::sqlite::{SqliteStore, StoreOptions};

pub const DEFAULT: &str = "default";
const PROJECTS_DIR: &str = "projects";

/// Whether `name` is a valid project name: 1–64 of `a-z 0-9 _ -`, starting
/// with a letter or digit (it names a directory).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
}

/// The directory of a project's store.
pub fn dir_of(root: &Path, project: &str) -> PathBuf {
    if project == DEFAULT {
        root.to_path_buf()
    } else {
        root.join(PROJECTS_DIR).join(project)
    }
}

/// One project's store and the routes that read it.
pub struct Project {
    pub name: String,
    pub store: Arc<SqliteStore>,
    /// The query API and the UI over this project's store only.
    pub app: Router,
}

/// The open projects. Stores open on first use (ingest or query) and stay open.
pub struct Projects {
    root: PathBuf,
    options: StoreOptions,
    open: tokio::sync::Mutex<HashMap<String, Arc<Project>>>,
    default: Arc<Project>,
    /// Declared last: released only after every store above has closed.
    _lock: DataDirLock,
}

impl Projects {
    /// Takes the data directory's lock (waiting briefly for a previous server
    /// to close it), opens the default project and every existing project.
    pub fn open(root: &Path, options: StoreOptions) -> Result<Self, StoreError> {
        let lock = DataDirLock::acquire(root, Duration::from_secs(10))?;
        let default = Arc::new(open_project(root, DEFAULT, &options)?);
        let mut open = HashMap::new();
        if let Ok(entries) = std::fs::read_dir(root.join(PROJECTS_DIR)) {
            let mut names: Vec<String> = entries
                .filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| valid_name(n) && n != DEFAULT)
                .collect();
            names.sort();
            for name in names {
                let p = open_project(root, &name, &options)?;
                open.insert(name, Arc::new(p));
            }
        }
        open.insert(DEFAULT.to_owned(), default.clone());
        Ok(Projects {
            root: root.to_path_buf(),
            options,
            open: tokio::sync::Mutex::new(open),
            default,
            _lock: lock,
        })
    }

    /// The default project (whose store also holds the API keys).
    pub fn default_project(&self) -> &Arc<Project> {
        &self.default
    }

    /// Every open project (all that exist on disk are opened at start).
    pub async fn all(&self) -> Vec<Arc<Project>> {
        self.open.lock().await.values().cloned().collect()
    }

    /// The project, opening (creating) its store on first use.
    pub async fn get(&self, name: &str) -> Result<Arc<Project>, StoreError> {
        if name == DEFAULT {
            return Ok(self.default.clone());
        }
        let mut open = self.open.lock().await;
        if let Some(p) = open.get(name) {
            return Ok(p.clone());
        }
        if !valid_name(name) {
            return Err(StoreError::Invalid(format!(
                "{name:?} is not a valid project name"
            )));
        }
        let (root, options, owned) = (self.root.clone(), self.options.clone(), name.to_owned());
        let p = tokio::task::spawn_blocking(move || open_project(&root, &owned, &options))
            .await
            .map_err(|e| StoreError::Invalid(format!("opening project {name}: {e}")))??;
        tracing::info!(project = name, "project store opened");
        let p = Arc::new(p);
        open.insert(name.to_owned(), p.clone());
        Ok(p)
    }
}

fn open_project(root: &Path, name: &str, options: &StoreOptions) -> Result<Project, StoreError> {
    let store = Arc::new(SqliteStore::open_with(
        &dir_of(root, name),
        options.clone(),
    )?);
    let app = crate::api::router(store.clone()).merge(glassbox_ui::router(store.clone()));
    Ok(Project {
        name: name.to_owned(),
        store,
        app,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names_are_safe_directory_names() {
        for ok in ["default", "a", "team-1", "x_y", "0abc"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in [
            "",
            "..",
            ".",
            "a/b",
            "A",
            "-a",
            "_a",
            "a.b",
            "a b",
            &"x".repeat(65),
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
