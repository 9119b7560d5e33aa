//! The last-known-good snapshot file: the definitions last received, kept on disk so a
//! process that starts while PostHog is unreachable still serves the last rules.
//!
//! Written after every change, atomically: the text goes to a temporary file beside the
//! target, which is flushed to disk and then renamed over it, so a reader (or a crash) sees
//! the old file or the new one, never half of one. Read once, at start.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::eval::Definitions;

/// The format tag written into the file.
const FORMAT: &str = "flags-runtime/definitions-snapshot/1";

/// The definitions document as JSON (what `/flags/definitions` answered).
pub(crate) fn definitions_json(d: &Definitions) -> Value {
    let mut doc = json!({
        "flags": d.flags,
        "group_type_mapping": d.group_type_mapping,
        "cohorts": d.cohorts,
    });
    if let (Some(v), Some(obj)) = (&d.property_matching_version, doc.as_object_mut()) {
        obj.insert("property_matching_version".into(), v.clone());
    }
    doc
}

/// Writes `definitions` (JSON text of the document) to `path`, atomically.
pub(crate) fn write(path: &Path, definitions: &Value, fetched_at_ms: u64) -> std::io::Result<()> {
    let body =
        json!({ "format": FORMAT, "fetched_at_ms": fetched_at_ms, "definitions": definitions });
    let text = serde_json::to_vec(&body).map_err(std::io::Error::other)?;
    let tmp = temp_path(path);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Reads the file: the definitions and when they were fetched. `None` (logged) when it is
/// missing, unreadable or not a snapshot.
pub(crate) fn read(path: &Path) -> Option<(Definitions, u64)> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read the snapshot file");
            return None;
        }
    };
    let doc: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "the snapshot file is not JSON");
            return None;
        }
    };
    if doc["format"] != FORMAT {
        tracing::warn!(path = %path.display(), "not a definitions snapshot file; ignored");
        return None;
    }
    match Definitions::from_value(&doc["definitions"]) {
        Ok(d) => Some((d, doc["fetched_at_ms"].as_u64().unwrap_or(0))),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "the snapshot file's definitions do not parse");
            None
        }
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trips_and_replaces_atomically() {
        let dir = std::env::temp_dir().join(format!("flags-snapshot-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rules.json");
        let defs = json!({"flags": [{"key": "a", "active": true, "filters": {}}], "group_type_mapping": {}, "cohorts": {}});
        write(&path, &defs, 7).unwrap();
        let (read_back, at) = read(&path).unwrap();
        assert_eq!(at, 7);
        assert_eq!(read_back.flags.len(), 1);
        let defs2 = json!({"flags": [], "group_type_mapping": {}, "cohorts": {}});
        write(&path, &defs2, 8).unwrap();
        assert_eq!(read(&path).unwrap().0.flags.len(), 0);
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        std::fs::write(&path, "{\"format\": \"other\"}").unwrap();
        assert!(read(&path).is_none());
        assert!(read(&dir.join("missing.json")).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
