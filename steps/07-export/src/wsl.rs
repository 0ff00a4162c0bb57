//! What WSL needs beyond a root filesystem: the `.wsl` format's settings
//! file, the checks Microsoft's distribution validator makes, and the
//! PowerShell line that imports the result.
//!
//! A `.wsl` file is a gzip-compressed root-filesystem tar, like the one
//! `wsl --import` takes, with `/etc/wsl-distribution.conf` in it: what
//! `wsl --install --from-file` reads to name the distribution and to pick
//! the user it starts as ("Build a custom Linux distribution for WSL").

use crate::format::Format;
use std::path::Path;

/// The settings file of a `.wsl` distribution, inside the root filesystem.
pub const CONF_PATH: &str = "etc/wsl-distribution.conf";

/// What WSL writes itself at every start (so the image's must not be in a `.wsl`).
pub const RESOLV_CONF: &str = "etc/resolv.conf";

// ANCHOR: distribution_conf
/// The text of `/etc/wsl-distribution.conf`: the `[oobe]` section with the
/// distribution's default name and, for an image that runs as another user
/// than root, that user's id.
pub fn distribution_conf(name: &str, default_uid: Option<u32>) -> String {
    // EXERCISE(wsl-conf): Write the [oobe] section of /etc/wsl-distribution.conf.
    // One section header line `[oobe]`, then `defaultName = NAME`, then,
    // only when `default_uid` is `Some` and not 0, `defaultUid = UID`. Each
    // line ends with a newline. Only keys the validator knows may appear:
    // no comments about where the file came from, no other keys.
    // ANCHOR_END: distribution_conf
    // HINT: Two or three lines: `[oobe]`, then `key = value` lines, each ending in
    // `\n`.
    // HINT+: `format!` the header and the `defaultName` line; push the `defaultUid`
    // line only for a uid that is there and not 0 (`Option::filter` puts both
    // conditions in one `if let`). The check compares the text byte for byte: spaces
    // around `=`, a newline after the last line, and nothing else.
    let mut conf = format!("[oobe]\ndefaultName = {name}\n");
    if let Some(uid) = default_uid.filter(|&uid| uid != 0) {
        conf.push_str(&format!("defaultUid = {uid}\n"));
    }
    conf
    // END EXERCISE
}

/// The distribution's default name: the repository's last component
/// (`library/alpine` → `alpine`).
pub fn default_name(repository: &str) -> &str {
    repository.rsplit('/').next().unwrap_or(repository)
}

/// The uid the image's config `User` names (`1000`, `1000:1000`, `app`,
/// `app:staff`), looking a name up in the image's own `/etc/passwd`.
pub fn user_id(user: &str, rootfs: &Path) -> Option<u32> {
    let user = user.split(':').next().unwrap_or(user);
    if user.is_empty() {
        return None;
    }
    if let Ok(uid) = user.parse() {
        return Some(uid);
    }
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).ok()?;
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&user))
        .and_then(|fields| fields.get(2)?.parse().ok())
}

/// What the image lacks for WSL, each a sentence: the checks of Microsoft's
/// distribution validator that look at the root filesystem.
pub fn warnings(rootfs: &Path, format: Format, user: Option<&str>) -> Vec<String> {
    let mut warnings = Vec::new();
    let root_user = std::fs::read_to_string(rootfs.join("etc/passwd"))
        .map(|passwd| {
            passwd.lines().any(|line| {
                let fields: Vec<_> = line.split(':').collect();
                fields.first() == Some(&"root") && fields.get(2) == Some(&"0")
            })
        })
        .unwrap_or(false);
    if !root_user {
        warnings.push(
            "/etc/passwd has no root user with uid 0: WSL logs in as root by default".to_string(),
        );
    }
    // A symlink to busybox counts: WSL runs `/bin/sh` through the tree.
    let sh = rootfs.join("bin/sh");
    if std::fs::symlink_metadata(&sh).is_err() {
        warnings.push(
            "there is no /bin/sh: WSL runs its commands through it, so `wsl -d` will fail"
                .to_string(),
        );
    }
    if format == Format::WslModern
        && let Some(user) = user.filter(|u| !u.is_empty())
        && user_id(user, rootfs).is_none()
    {
        warnings.push(format!(
            "the image runs as {user:?}, which is not in its /etc/passwd: \
             defaultUid is left out, so WSL starts as root"
        ));
    }
    warnings
}

/// The PowerShell line that imports `file` on Windows.
pub fn import_command(format: Format, name: &str, file: &Path) -> String {
    let file = file.file_name().map_or_else(
        || file.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    if format == Format::WslModern {
        format!("wsl --install --from-file {file}")
    } else {
        format!("wsl.exe --import {name} C:\\WSL\\{name} {file}")
    }
}
