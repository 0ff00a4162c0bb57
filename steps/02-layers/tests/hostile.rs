//! A corpus of hostile layers: each tries to create, change or delete
//! something outside the root filesystem.
//!
//! Every check runs in a sandbox: the root is `sandbox/root`, beside it is
//! `sandbox/canary`. Attacks aim at the canary (through `..`, absolute
//! paths, symlinks, hard links and whiteouts) so that a failure damages the
//! sandbox, never the machine. After each attack the canary must be exactly
//! as it was and nothing may have appeared, changed or gone in the sandbox
//! outside the root. Each attack then ends either in an error naming the
//! entry, or in a documented safe outcome (absolute names and symlink
//! targets land inside the root).

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use mock_registry::fixtures::{Entry, LayerBuilder};
use step_02_layers::decompress::decompress;
use step_02_layers::error::Error;
use step_02_layers::flatten::{Applied, Options, apply_layer};
use step_02_layers::tree;
use tempfile::TempDir;
use workshop::{check, check_eq};

const READ: &str = "step-02-layers.md#staying-inside-the-root";

/// A root filesystem with a canary file beside it.
struct Sandbox {
    _dir: TempDir,
    /// The sandbox directory, absolute.
    path: PathBuf,
    root: PathBuf,
    /// The state of everything outside the root, before the attack.
    before: Vec<String>,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().canonicalize().expect("an absolute sandbox path");
        let root = path.join("root");
        fs::create_dir(&root).expect("creating the root");
        fs::write(path.join("canary"), "tweet\n").expect("writing the canary");
        let before = outside_state(&path);
        Sandbox {
            _dir: dir,
            path,
            root,
            before,
        }
    }

    /// The sandbox path as an absolute name (`/tmp/.tmpXYZ/canary`), for
    /// attacks that aim at it.
    fn absolute(&self, name: &str) -> String {
        self.path
            .join(name)
            .to_str()
            .expect("a UTF-8 path")
            .to_string()
    }

    /// Where an absolute name outside lands when taken inside the root.
    fn inside(&self, absolute: &str) -> PathBuf {
        self.root.join(absolute.trim_start_matches('/'))
    }

    /// Applies `layers` in order; stops at the first error.
    fn apply(&self, layers: &[Vec<Entry>], options: Options) -> Result<Vec<Applied>, Error> {
        layers
            .iter()
            .map(|entries| {
                let layer = LayerBuilder::new().entries(entries.clone()).build();
                let tar = decompress(&layer.data[..]).expect("reading from memory");
                apply_layer(&self.root, tar, &options)
            })
            .collect()
    }

    fn attack(&self, layers: &[Vec<Entry>]) -> Result<Vec<Applied>, Error> {
        self.apply(layers, Options::detect())
    }

    /// Fails unless everything outside the root is as it was.
    fn check_nothing_outside_changed(&self) {
        check_eq!(
            outside_state(&self.path),
            self.before,
            read = READ,
            "the sandbox outside the root (the canary, its directory), before and after the attack"
        );
    }
}

/// Everything outside the root, as lines: the sandbox directory's mode,
/// owner and mtime, and for each entry beside the root its type, inode,
/// link count, mode, owner, mtime and contents.
fn outside_state(sandbox: &Path) -> Vec<String> {
    let describe = |path: &Path| {
        let meta = fs::symlink_metadata(path).expect("lstat");
        let contents = if meta.is_file() {
            fs::read_to_string(path).unwrap_or_default()
        } else {
            String::new()
        };
        format!(
            "{} {:?} ino={} links={} {:04o} {}:{} mtime={}.{} {contents:?}",
            path.display(),
            meta.file_type(),
            meta.ino(),
            meta.nlink(),
            meta.mode() & 0o7777,
            meta.uid(),
            meta.gid(),
            meta.mtime(),
            meta.mtime_nsec(),
        )
    };
    let mut state = vec![describe(sandbox)];
    let mut names: Vec<PathBuf> = fs::read_dir(sandbox)
        .expect("listing the sandbox")
        .map(|entry| entry.expect("a sandbox entry").path())
        .filter(|path| !path.ends_with("root"))
        .collect();
    names.sort();
    state.extend(names.iter().map(|path| describe(path)));
    state
}

/// Fails unless `result` is an [`Error::Escape`] naming `entry`.
fn check_escape(result: &Result<Vec<Applied>, Error>, entry: &str) {
    check!(
        matches!(result, Err(Error::Escape { entry: named, .. }) if named == entry),
        expected = format!("Error::Escape naming the entry {entry:?}"),
        got = result,
        read = READ,
    );
}

/// Fails unless `result` is an [`Error::Hardlink`] naming `entry`.
fn check_hardlink_refused(result: &Result<Vec<Applied>, Error>, entry: &str) {
    check!(
        matches!(result, Err(Error::Hardlink { entry: named, .. }) if named == entry),
        expected = format!("Error::Hardlink naming the entry {entry:?}"),
        got = result,
        read = "step-02-layers.md#hard-links",
    );
}

fn check_applied(result: &Result<Vec<Applied>, Error>) {
    check!(
        result.is_ok(),
        expected = "the layers to apply, inside the root",
        got = result,
        read = READ,
    );
}

fn read(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok()
}

/// `../canary`: the classic "zip slip", a name that climbs out of the root.
#[test]
fn a_name_starting_with_dotdot_is_refused() {
    let sandbox = Sandbox::new();
    let result = sandbox.attack(&[vec![Entry::file("../canary", "pwned")]]);
    check_escape(&result, "../canary");
    sandbox.check_nothing_outside_changed();
}

/// `a/../../canary`: the `..` hides in the middle, after a directory that
/// makes the name look harmless to a check of its first component.
#[test]
fn a_name_climbing_out_in_the_middle_is_refused() {
    let sandbox = Sandbox::new();
    let result = sandbox.attack(&[vec![
        Entry::dir("a/"),
        Entry::file("a/../../canary", "pwned"),
    ]]);
    check_escape(&result, "a/../../canary");
    sandbox.check_nothing_outside_changed();
}

/// `/tmp/.../canary`: an absolute name. tar and Docker strip the leading
/// `/`, so it lands inside the root, at the same path below it.
#[test]
fn an_absolute_name_lands_inside_the_root() {
    let sandbox = Sandbox::new();
    let name = sandbox.absolute("canary");
    let result = sandbox.attack(&[vec![Entry::file(name.as_str(), "pwned")]]);
    check_applied(&result);
    check_eq!(
        read(&sandbox.inside(&name)),
        Some("pwned".to_string()),
        read = READ,
        "the file at the absolute name, taken inside the root"
    );
    sandbox.check_nothing_outside_changed();
}

/// `escape -> /`, then `escape/tmp/.../canary`: a symlink to the real root
/// would turn any later entry into a write anywhere. Inside the root, `/`
/// means the root.
#[test]
fn writing_through_a_symlink_to_slash_stays_inside() {
    let sandbox = Sandbox::new();
    let through = format!("escape{}", sandbox.absolute("canary"));
    let result = sandbox.attack(&[vec![
        Entry::symlink("escape", "/"),
        Entry::file(through.as_str(), "pwned"),
    ]]);
    check_applied(&result);
    check_eq!(
        read(&sandbox.inside(&sandbox.absolute("canary"))),
        Some("pwned".to_string()),
        read = READ,
        "the file written through escape -> /"
    );
    sandbox.check_nothing_outside_changed();
}

/// `up -> ../..`, then `up/canary`: a relative symlink that climbs out. As
/// in a running container, `..` stops at the root.
#[test]
fn writing_through_a_symlink_to_dotdot_stays_inside() {
    let sandbox = Sandbox::new();
    let result = sandbox.attack(&[
        vec![Entry::symlink("up", "../..")],
        vec![Entry::file("up/canary", "pwned")],
    ]);
    check_applied(&result);
    check_eq!(
        read(&sandbox.root.join("canary")),
        Some("pwned".to_string()),
        read = READ,
        "up/canary, with up -> ../.., lands at the top of the root"
    );
    sandbox.check_nothing_outside_changed();
}

/// A chain of relative links, each harmless alone, that together climb out:
/// `d/a -> ..`, `b -> d/a/..`, `c -> b/../..`, then `c/canary`.
#[test]
fn a_chain_of_relative_symlinks_stays_inside() {
    let sandbox = Sandbox::new();
    let result = sandbox.attack(&[vec![
        Entry::dir("d/"),
        Entry::symlink("d/a", ".."),
        Entry::symlink("b", "d/a/.."),
        Entry::symlink("c", "b/../.."),
        Entry::file("c/canary", "pwned"),
    ]]);
    check_applied(&result);
    check_eq!(
        read(&sandbox.root.join("canary")),
        Some("pwned".to_string()),
        read = READ,
        "c/canary, through a chain of links that climbs out"
    );
    sandbox.check_nothing_outside_changed();
}

/// `loop -> loop`, then `loop/x`: resolution must give up, not spin.
#[test]
fn a_symlink_loop_is_refused() {
    let sandbox = Sandbox::new();
    let result = sandbox.attack(&[vec![
        Entry::symlink("loop", "loop"),
        Entry::file("loop/x", "x"),
    ]]);
    check!(
        matches!(&result, Err(Error::Extract { entry, source, .. })
            if entry == "loop/x" && source.raw_os_error() == Some(nix::libc::ELOOP)),
        expected = "Error::Extract naming loop/x, failing with ELOOP",
        got = result,
        read = READ,
    );
    sandbox.check_nothing_outside_changed();
}

/// A hard link to an absolute path outside (the canary): it would let the
/// image read and write a host file. Taken inside the root, it names a
/// file the layers never wrote, so it is refused.
#[test]
fn a_hard_link_to_an_absolute_path_outside_is_refused() {
    let sandbox = Sandbox::new();
    let result = sandbox.attack(&[vec![Entry::hardlink("copy", sandbox.absolute("canary"))]]);
    check_hardlink_refused(&result, "copy");
    sandbox.check_nothing_outside_changed();
}

/// The same, where the root does hold a file at that path: the link goes
/// to the root's file, never to the host's.
#[test]
fn a_hard_link_to_an_absolute_path_links_inside_the_root() {
    let sandbox = Sandbox::new();
    let name = sandbox.absolute("canary");
    let result = sandbox.attack(&[
        vec![Entry::file(name.as_str(), "inside")],
        vec![Entry::hardlink("copy", name.as_str())],
    ]);
    check_applied(&result);
    check_eq!(
        read(&sandbox.root.join("copy")),
        Some("inside".to_string()),
        read = "step-02-layers.md#hard-links",
        "copy, a hard link to an absolute name, shares the root's file"
    );
    sandbox.check_nothing_outside_changed();
}

/// `copy` linked to `../../canary`: a link target that climbs out.
#[test]
fn a_hard_link_target_with_dotdot_is_refused() {
    let sandbox = Sandbox::new();
    let result = sandbox.attack(&[vec![Entry::hardlink("copy", "../canary")]]);
    check_escape(&result, "copy");
    sandbox.check_nothing_outside_changed();
}

/// `up -> ..`, then `copy` linked to `up/canary`: the link target goes
/// through a symlinked parent, which resolves inside the root.
#[test]
fn a_hard_link_through_a_symlinked_parent_is_refused() {
    let sandbox = Sandbox::new();
    let result = sandbox.attack(&[vec![
        Entry::symlink("up", ".."),
        Entry::hardlink("copy", "up/canary"),
    ]]);
    check_hardlink_refused(&result, "copy");
    sandbox.check_nothing_outside_changed();
}

/// `link -> /tmp/.../canary`, then `copy` hard-linked to `link`: following
/// the symlink would give the root a second name for the host's file. The
/// hard link is made to the symlink itself.
#[test]
fn a_hard_link_to_a_symlink_links_the_symlink() {
    let sandbox = Sandbox::new();
    let result = sandbox.attack(&[vec![
        Entry::symlink("link", sandbox.absolute("canary")),
        Entry::hardlink("copy", "link"),
    ]]);
    check_applied(&result);
    check!(
        fs::symlink_metadata(sandbox.root.join("copy")).is_ok_and(|m| m.is_symlink()),
        expected = "copy to be a second name of the symlink, itself a symlink",
        got = tree::listing(&sandbox.root).unwrap(),
        read = "step-02-layers.md#hard-links",
    );
    sandbox.check_nothing_outside_changed();
}

/// `./` as a symlink to the sandbox: replacing the root itself would put
/// every later entry outside. An entry may not name the root.
#[test]
fn an_entry_replacing_the_root_itself_is_refused() {
    let sandbox = Sandbox::new();
    let result = sandbox.attack(&[vec![
        Entry::symlink("./", sandbox.absolute("")),
        Entry::file("canary", "pwned"),
    ]]);
    check_escape(&result, "./");
    sandbox.check_nothing_outside_changed();
}

/// `.wh...`: a whiteout of `..`, which would delete the root's parent.
#[test]
fn a_whiteout_of_dotdot_is_refused() {
    let sandbox = Sandbox::new();
    let result = sandbox.attack(&[vec![Entry::file(".wh...", "")]]);
    check_escape(&result, ".wh...");
    sandbox.check_nothing_outside_changed();
}

/// `../.wh.canary`: a whiteout that sits outside the root.
#[test]
fn a_whiteout_outside_the_root_is_refused() {
    let sandbox = Sandbox::new();
    let result = sandbox.attack(&[vec![Entry::file("../.wh.canary", "")]]);
    check_escape(&result, "../.wh.canary");
    sandbox.check_nothing_outside_changed();
}

/// `up -> ..`, then `up/.wh.canary`: a whiteout through a symlinked
/// directory deletes inside the root (the root's own `canary`), never the
/// host's.
#[test]
fn a_whiteout_through_a_symlink_deletes_inside_only() {
    let sandbox = Sandbox::new();
    let result = sandbox.attack(&[
        vec![Entry::file("canary", "inside"), Entry::symlink("up", "..")],
        vec![Entry::whiteout("up/canary")],
    ]);
    check_applied(&result);
    check!(
        !sandbox.root.join("canary").exists(),
        expected = "the root's canary deleted by up/.wh.canary",
        got = tree::listing(&sandbox.root).unwrap(),
        read = READ,
    );
    sandbox.check_nothing_outside_changed();
}

/// `out -> /tmp/...` (the sandbox), then `out/.wh..wh..opq`: an opaque
/// marker would empty the directory the link points to. It resolves
/// inside the root, where it hides nothing of the sandbox.
#[test]
fn an_opaque_marker_in_a_symlinked_directory_stays_inside() {
    let sandbox = Sandbox::new();
    let result = sandbox.attack(&[
        vec![
            Entry::symlink("out", sandbox.absolute("")),
            Entry::symlink("up", ".."),
        ],
        vec![Entry::opaque("out/"), Entry::opaque("up/")],
    ]);
    check_applied(&result);
    sandbox.check_nothing_outside_changed();
}

/// `d/` then `d -> /tmp/...` (the sandbox), then `d/canary`: the symlink
/// replaces the directory in the same layer, and the later entry tries
/// the old path. It goes through the link, inside the root. `d/`'s mode,
/// set when the layer is done, must not land on the sandbox either.
#[test]
fn a_symlink_replacing_a_directory_does_not_lead_out() {
    let sandbox = Sandbox::new();
    let name = sandbox.absolute("");
    let result = sandbox.attack(&[vec![
        Entry::dir("d/").mode(0o777),
        Entry::file("d/first", "x"),
        Entry::symlink("d", name.as_str()),
        Entry::file("d/canary", "pwned"),
    ]]);
    check_applied(&result);
    check_eq!(
        read(&sandbox.inside(&name).join("canary")),
        Some("pwned".to_string()),
        read = READ,
        "d/canary, written through d -> the sandbox, inside the root"
    );
    sandbox.check_nothing_outside_changed();
}

/// `link -> /tmp/.../canary`, then a file `link`: the file must replace
/// the link, not be written through it.
#[test]
fn a_file_over_a_symlink_to_outside_replaces_the_link() {
    let sandbox = Sandbox::new();
    let result = sandbox.attack(&[
        vec![Entry::symlink("link", sandbox.absolute("canary"))],
        vec![Entry::file("link", "pwned").mode(0o777)],
    ]);
    check_applied(&result);
    check_eq!(
        read(&sandbox.root.join("link")),
        Some("pwned".to_string()),
        read = "step-02-layers.md#unlink-then-create",
        "link, now a file"
    );
    sandbox.check_nothing_outside_changed();
}

/// `link -> /tmp/...` (the sandbox), then a directory `link/` with another
/// mode and owner: the directory replaces the link; the sandbox keeps its
/// mode and owner.
#[test]
fn a_directory_over_a_symlink_to_outside_replaces_the_link() {
    let sandbox = Sandbox::new();
    let result = sandbox.attack(&[
        vec![Entry::symlink("link", sandbox.absolute(""))],
        vec![Entry::dir("link/").mode(0o777).owner(1000, 1000)],
    ]);
    check_applied(&result);
    check!(
        fs::symlink_metadata(sandbox.root.join("link")).is_ok_and(|m| m.is_dir()),
        expected = "link to be a real directory now",
        got = tree::listing(&sandbox.root).unwrap(),
        read = "step-02-layers.md#unlink-then-create",
    );
    sandbox.check_nothing_outside_changed();
}

/// A symlink's owner and mtime are set on the link itself (`lchown`,
/// `utimensat` with `AT_SYMLINK_NOFOLLOW`), not on the canary it points to.
#[test]
fn a_symlinks_metadata_is_set_on_the_link_not_its_target() {
    let sandbox = Sandbox::new();
    let result = sandbox.attack(&[vec![
        Entry::symlink("link", sandbox.absolute("canary")).owner(1000, 1000),
    ]]);
    check_applied(&result);
    sandbox.check_nothing_outside_changed();
}

/// `dev/sda` as a block device: as a normal user it is skipped (and
/// counted), never created; a device node in an image would give the
/// container the host's disk.
#[test]
fn a_device_node_as_a_normal_user_is_skipped() {
    let sandbox = Sandbox::new();
    let result = sandbox.apply(
        &[vec![
            Entry::block_device("dev/sda", 8, 0),
            Entry::char_device("dev/mem", 1, 1),
        ]],
        Options { privileged: false },
    );
    check_eq!(
        result
            .as_ref()
            .ok()
            .map(|applied| applied[0].skipped_devices),
        Some(2),
        read = "step-02-layers.md#running-without-root",
        "device nodes skipped as a normal user"
    );
    check!(
        !sandbox.root.join("dev/sda").exists() && !sandbox.root.join("dev/mem").exists(),
        expected = "no device nodes in the root",
        got = tree::listing(&sandbox.root).unwrap(),
        read = "step-02-layers.md#running-without-root",
    );
    sandbox.check_nothing_outside_changed();
}

/// A tar bomb: 200 nested directories, then a name that climbs 201 levels
/// to reach the canary. The depth must not fool the check.
#[test]
fn a_deep_tar_bomb_with_dotdot_is_refused() {
    let sandbox = Sandbox::new();
    let mut entries = Vec::new();
    let mut dir = String::new();
    for _ in 0..200 {
        dir.push_str("n/");
        entries.push(Entry::dir(dir.as_str()));
    }
    let climb = format!("{dir}{}canary", "../".repeat(201));
    entries.push(Entry::file(climb.as_str(), "pwned"));
    let result = sandbox.attack(&[entries]);
    check_escape(&result, &climb);
    sandbox.check_nothing_outside_changed();
}

/// `locked/` with mode 000, then entries below it: a layer that locks its
/// own directories to make the rest of the extraction fail halfway. The
/// modes wait until the layer is done, so every entry is written.
#[test]
fn a_mode_000_directory_tree_is_filled_and_closed() {
    let sandbox = Sandbox::new();
    let result = sandbox.attack(&[vec![
        Entry::dir("locked/").mode(0),
        Entry::dir("locked/inner/").mode(0),
        Entry::file("locked/inner/file", "x").mode(0),
    ]]);
    check_applied(&result);
    check_eq!(
        fs::symlink_metadata(sandbox.root.join("locked"))
            .map(|m| m.mode() & 0o7777)
            .ok(),
        Some(0),
        read = "step-02-layers.md#modes-owners-and-times",
        "the mode of locked/ once the layer is done"
    );
    fs::set_permissions(
        sandbox.root.join("locked"),
        fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    fs::set_permissions(
        sandbox.root.join("locked/inner"),
        fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    sandbox.check_nothing_outside_changed();
}

/// `a` as a hard link to itself, after `a` was written: making room for the
/// link would delete its own target. Refused, and `a` stays.
#[test]
fn a_hard_link_to_itself_is_refused_and_deletes_nothing() {
    let sandbox = Sandbox::new();
    let result = sandbox.attack(&[vec![
        Entry::file("a", "keep me\n"),
        Entry::hardlink("a", "a"),
    ]]);
    check_hardlink_refused(&result, "a");
    check_eq!(
        read(&sandbox.root.join("a")),
        Some("keep me\n".to_string()),
        read = "step-02-layers.md#hard-links",
        "the file the link named"
    );
    sandbox.check_nothing_outside_changed();
}

/// A second name for a device node that was skipped (as a normal user) is
/// skipped too, not an error: the layer is fine, the machine is not root.
#[test]
fn a_hard_link_to_a_skipped_device_is_skipped() {
    let sandbox = Sandbox::new();
    let result = sandbox.apply(
        &[vec![
            Entry::char_device("dev/null", 1, 3),
            Entry::hardlink("dev/null2", "dev/null"),
        ]],
        Options { privileged: false },
    );
    check_eq!(
        result
            .as_ref()
            .ok()
            .map(|applied| applied[0].skipped_devices),
        Some(2),
        read = "step-02-layers.md#running-without-root",
        "the device and its second name, both skipped"
    );
    sandbox.check_nothing_outside_changed();
}
