//! Keeping a copy of the workspace in step with the original.
//!
//! `check-exercises` stubs one step at a time in a copy of the workspace, so
//! the working tree is never touched. The copy stays between runs, and only
//! files whose bytes changed are rewritten: unchanged files keep their
//! modification times, so cargo reuses everything it compiled last time.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// What the copy leaves out: build output, git's database and the learner's
/// state, none of which a build needs.
const EXCLUDED: &[&str] = &["target", ".git", ".workshop", "book/book"];

/// Makes `dst` a copy of `src` (less [`EXCLUDED`]).
pub fn sync(src: &Path, dst: &Path) -> Result<()> {
    let mut kept = BTreeSet::new();
    copy_dir(src, dst, Path::new(""), &mut kept)?;
    remove_others(dst, Path::new(""), &kept)
}

fn excluded(relative: &Path) -> bool {
    EXCLUDED.iter().any(|e| relative == Path::new(e))
}

fn copy_dir(src: &Path, dst: &Path, relative: &Path, kept: &mut BTreeSet<PathBuf>) -> Result<()> {
    let to = dst.join(relative);
    if to.symlink_metadata().is_ok_and(|m| !m.is_dir()) {
        fs::remove_file(&to)?;
    }
    fs::create_dir_all(&to).with_context(|| format!("could not create {}", to.display()))?;
    let from = src.join(relative);
    for entry in
        fs::read_dir(&from).with_context(|| format!("could not list {}", from.display()))?
    {
        let entry = entry?;
        let relative = relative.join(entry.file_name());
        if excluded(&relative) {
            continue;
        }
        kept.insert(relative.clone());
        let kind = entry.file_type()?;
        let (from, to) = (src.join(&relative), dst.join(&relative));
        if kind.is_dir() {
            copy_dir(src, dst, &relative, kept)?;
        } else if kind.is_symlink() {
            let target = fs::read_link(&from)?;
            if fs::read_link(&to).ok() != Some(target.clone()) {
                remove(&to)?;
                std::os::unix::fs::symlink(&target, &to)
                    .with_context(|| format!("could not link {}", to.display()))?;
            }
        } else if fs::read(&to).ok() != Some(fs::read(&from)?) {
            remove(&to)?;
            fs::copy(&from, &to).with_context(|| format!("could not copy {}", from.display()))?;
        }
    }
    Ok(())
}

/// Removes what is in the copy but no longer in the original.
fn remove_others(dst: &Path, relative: &Path, kept: &BTreeSet<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dst.join(relative))? {
        let entry = entry?;
        let relative = relative.join(entry.file_name());
        if excluded(&relative) {
            continue;
        }
        if !kept.contains(&relative) {
            remove(&dst.join(&relative))?;
        } else if entry.file_type()?.is_dir() {
            remove_others(dst, &relative, kept)?;
        }
    }
    Ok(())
}

/// Removes a file, link or directory tree, if there is one.
fn remove(path: &Path) -> Result<()> {
    match path.symlink_metadata() {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(_) => return Ok(()),
    }
    .with_context(|| format!("could not remove {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn modified(path: &Path) -> SystemTime {
        fs::metadata(path).unwrap().modified().unwrap()
    }

    #[test]
    fn the_copy_follows_the_original_and_leaves_unchanged_files_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
        write(&src.join("Cargo.toml"), "[workspace]\n");
        write(&src.join("steps/01-a/src/lib.rs"), "one\n");
        write(&src.join("target/debug/big"), "artifact\n");
        write(&src.join(".git/HEAD"), "ref\n");
        write(&src.join("old/file"), "old\n");
        sync(&src, &dst).unwrap();
        assert_eq!(
            fs::read_to_string(dst.join("steps/01-a/src/lib.rs")).unwrap(),
            "one\n"
        );
        assert!(!dst.join("target").exists());
        assert!(!dst.join(".git").exists());

        let untouched = modified(&dst.join("Cargo.toml"));
        fs::remove_dir_all(src.join("old")).unwrap();
        write(&src.join("steps/01-a/src/lib.rs"), "two\n");
        write(&dst.join("steps/01-a/src/stray.rs"), "stray\n");
        sync(&src, &dst).unwrap();
        assert_eq!(
            fs::read_to_string(dst.join("steps/01-a/src/lib.rs")).unwrap(),
            "two\n"
        );
        assert!(!dst.join("old").exists());
        assert!(!dst.join("steps/01-a/src/stray.rs").exists());
        assert_eq!(modified(&dst.join("Cargo.toml")), untouched);
    }
}
