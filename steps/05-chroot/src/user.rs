//! Who the process runs as: `User` from the image's config (or `-u`),
//! looked up in the image's own `/etc/passwd` and `/etc/group`, never the
//! host's. A uid means nothing outside the system that names it: uid 1000
//! is `learner` in the image and may be someone else entirely on the host.

use crate::error::{Error, Result};
use crate::root::Root;
use std::io::Read;

/// The ids a process gets, and the home directory `HOME` defaults to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups, in the order `/etc/group` lists them.
    pub groups: Vec<u32>,
    pub home: String,
}

/// One line of `/etc/passwd`: `name:password:uid:gid:gecos:home:shell`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

/// One line of `/etc/group`: `name:password:gid:member,member`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupEntry {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// The entries of an `/etc/passwd`; lines that are not entries (comments,
/// NIS `+` lines, broken ones) are skipped, as libc skips them.
pub fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() < 7 || fields[0].is_empty() || line.starts_with('#') {
                return None;
            }
            Some(PasswdEntry {
                name: fields[0].to_string(),
                uid: fields[2].parse().ok()?,
                gid: fields[3].parse().ok()?,
                home: fields[5].to_string(),
            })
        })
        .collect()
}

/// The entries of an `/etc/group`, skipping lines that are not entries.
pub fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() < 4 || fields[0].is_empty() || line.starts_with('#') {
                return None;
            }
            Some(GroupEntry {
                name: fields[0].to_string(),
                gid: fields[2].parse().ok()?,
                members: fields[3]
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .collect(),
            })
        })
        .collect()
}

// ANCHOR: resolve
/// The credentials for `user` (`""`, `name`, `uid`, `name:group`,
/// `uid:gid`, ...) given the image's users and groups.
pub fn resolve(user: &str, passwd: &[PasswdEntry], groups: &[GroupEntry]) -> Result<Credentials> {
    // EXERCISE(resolve-user): Turn a config's `User` into ids, as runc does.
    // - Split at the first `:` into a user part and an optional group part.
    //   An empty user part means root (uid 0).
    // - The user part is a name or a number. A name must be in `passwd`
    //   (else `Error::User` saying it is not in the image's /etc/passwd);
    //   a number may be missing from it: then gid 0 and home "/".
    // - With a passwd entry, its gid and home are the defaults.
    // - A group part (a name that must be in `groups`, or any number)
    //   replaces the gid, and the process gets no supplementary groups.
    //   Without one, the supplementary groups are every group whose member
    //   list names the user.
    // HINT: Three moves: `split_once(':')` into user and group parts, find the user's
    // entry, then let the group part decide the gid and the groups.
    // HINT+: `parse::<u32>()` tells a number from a name. A number matches a `uid`
    // or, without a line, stands alone (gid 0, home "/", no name); a name must match
    // a `name` (`ok_or_else` into `Error::User`). A group part (number, or name found
    // in `groups`) leaves the groups empty; else collect each group whose `members`
    // holds the user's name. An empty user part is uid 0.
    let error = |reason: String| Error::User {
        user: user.to_string(),
        reason,
    };
    let (user_part, group_part) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let user_part = if user_part.is_empty() { "0" } else { user_part };
    let entry = match user_part.parse::<u32>() {
        Ok(uid) => passwd
            .iter()
            .find(|e| e.uid == uid)
            .cloned()
            .or(Some(PasswdEntry {
                name: String::new(),
                uid,
                gid: 0,
                home: "/".to_string(),
            })),
        Err(_) => passwd.iter().find(|e| e.name == user_part).cloned(),
    }
    .ok_or_else(|| error(format!(
            "no user {user_part:?} in the image's /etc/passwd; name one it has, or give a number (-u 1000)"
        )))?;
    let mut credentials = Credentials {
        uid: entry.uid,
        gid: entry.gid,
        groups: Vec::new(),
        home: entry.home,
    };
    match group_part {
        Some(group) => {
            credentials.gid = match group.parse::<u32>() {
                Ok(gid) => gid,
                Err(_) => groups
                    .iter()
                    .find(|g| g.name == group)
                    .map(|g| g.gid)
                    .ok_or_else(|| {
                        error(format!(
                        "no group {group:?} in the image's /etc/group; name one it has, or give a number (-u {user_part}:1000)"
                    ))
                    })?,
            };
        }
        None if !entry.name.is_empty() => {
            credentials.groups = groups
                .iter()
                .filter(|g| g.members.contains(&entry.name))
                .map(|g| g.gid)
                .collect();
        }
        None => {}
    }
    Ok(credentials)
    // END EXERCISE
}
// ANCHOR_END: resolve

/// The credentials for `user`, read from the image's `/etc/passwd` and
/// `/etc/group` through `root` (a missing file counts as empty, as in
/// images made `FROM scratch`).
pub fn lookup(root: &Root, user: &str) -> Result<Credentials> {
    let passwd = parse_passwd(&read_or_empty(root, "/etc/passwd")?);
    let groups = parse_group(&read_or_empty(root, "/etc/group")?);
    resolve(user, &passwd, &groups)
}

/// A file of the image as text, or "" when it does not exist.
fn read_or_empty(root: &Root, path: &str) -> Result<String> {
    let io = |source| Error::Io {
        path: root.path().join(path.trim_start_matches('/')),
        source,
    };
    match root.read(path) {
        Ok(mut file) => {
            let mut text = String::new();
            file.read_to_string(&mut text).map_err(io)?;
            Ok(text)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(io(e)),
    }
}
