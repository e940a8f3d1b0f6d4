//! Writing the files a command leaves behind (reports, phrasebooks).
//!
//! Each file is written beside its destination under a temporary name and renamed over it: a
//! reader never sees half a file, and a symlink at the destination is replaced, not written
//! through (a link planted in a shared output folder cannot make patmine overwrite its target).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// Writes `contents` to `path` (see the module's comment).
pub fn replace_file(path: &Path, contents: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{}: not a file name", path.display()))?;
    let temporary = path.with_file_name(format!(
        ".{}.patmine-{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(contents)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    Ok(())
}

/// Removes the files in `dir` whose names end with `suffix` and are not in `keep`: what an
/// earlier run wrote there and this one did not (a chart no longer drawn).
pub fn remove_stale(dir: &Path, suffix: &str, keep: &[&str]) -> Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(suffix) && !keep.contains(&name.as_ref()) {
            let path = entry.path();
            std::fs::remove_file(&path)
                .with_context(|| format!("removing the stale {}", path.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_at_the_destination_is_replaced_not_written_through() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("precious.txt");
        std::fs::write(&target, "keep me").unwrap();
        let link = tmp.path().join("index.html");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        replace_file(&link, b"report").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
        assert_eq!(std::fs::read_to_string(&link).unwrap(), "report");
        assert!(!std::fs::symlink_metadata(&link).unwrap().is_symlink());
        let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(left.len(), 2, "no temporary file left");
    }

    #[test]
    fn stale_files_of_the_suffix_go_and_the_rest_stay() {
        let tmp = tempfile::tempdir().unwrap();
        for name in ["a.svg", "old.svg", "notes.txt"] {
            std::fs::write(tmp.path().join(name), "x").unwrap();
        }
        remove_stale(tmp.path(), ".svg", &["a.svg"]).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["a.svg", "notes.txt"]);
    }
}
