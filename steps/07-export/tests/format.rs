//! The output's name picks the format, and bad input changes nothing on
//! disk: a missing image, an existing output, a name that says no format.

mod common;

use common::{BAD_INPUT, FORMATS, Setup};
use std::path::Path;
use step_07_export::{Error, ExportOptions, Format, Output, export};

#[test]
fn the_format_comes_from_the_name() {
    let cases = [
        ("alpine.tar.gz", Format::Wsl),
        ("alpine.tgz", Format::Wsl),
        ("alpine.wsl", Format::WslModern),
        ("alpine.tar", Format::Rootfs),
        ("alpine.oci.tar", Format::OciArchive),
        ("alpine.docker.tar", Format::DockerArchive),
        ("alpine-oci/", Format::Oci),
    ];
    for (name, expected) in cases {
        let got = Format::from_path(Path::new(name)).map_err(|e| e.to_string());
        workshop::check_eq!(got, Ok(expected), read = FORMATS, "the format of {name}");
    }
    let dir = tempfile::tempdir().unwrap();
    workshop::check_eq!(
        Format::from_path(dir.path()).map_err(|e| e.to_string()),
        Ok(Format::Oci),
        read = FORMATS,
        "an existing directory is an OCI layout"
    );
}

#[test]
fn an_unknown_extension_names_the_formats() {
    let got = Format::from_path(Path::new("alpine.zip"));
    let message = match got {
        Err(error @ Error::UnknownFormat { .. }) => error.to_string(),
        other => panic!("expected Error::UnknownFormat, got {other:?}"),
    };
    for expected in [
        "alpine.zip",
        "--format",
        "wsl-modern",
        "oci-archive",
        "docker-archive",
    ] {
        workshop::check!(
            message.contains(expected),
            expected = format!("a message that names {expected}"),
            got = &message,
            read = FORMATS,
        );
    }
}

#[test]
fn a_missing_image_names_itself_lists_what_is_stored_and_creates_nothing() {
    let setup = Setup::new();
    setup.pull("library/hello");
    let missing = setup.reference("library/nope:v1");
    let path = setup.out.path().join("nope.tar.gz");
    let got = export(
        &setup.store(),
        &missing,
        &Output::Path(path.clone()),
        &ExportOptions::default(),
        &mut std::io::sink(),
    );
    let message = match got {
        Err(error @ Error::NotStored { .. }) => error.to_string(),
        other => panic!("expected Error::NotStored, got {other:?}"),
    };
    let hello = format!("{}/library/hello:latest", setup.registry.host());
    for expected in [missing.to_string().as_str(), &hello, "dockerless pull"] {
        workshop::check!(
            message.contains(expected),
            expected = format!("a message that names {expected}"),
            got = &message,
            read = BAD_INPUT,
        );
    }
    workshop::check_eq!(
        std::fs::read_dir(setup.out.path()).unwrap().count(),
        0,
        read = BAD_INPUT,
        "files in the output directory after a failed export"
    );
}

#[test]
fn an_existing_output_is_kept_without_force_and_replaced_with_it() {
    let setup = Setup::new();
    let hello = setup.pull("library/hello");
    let path = setup.out.path().join("hello.tar");
    std::fs::write(&path, "precious").unwrap();
    let output = Output::Path(path.clone());
    let got = export(
        &setup.store(),
        &hello,
        &output,
        &ExportOptions::default(),
        &mut std::io::sink(),
    );
    workshop::check!(
        matches!(got, Err(Error::OutputExists { .. })),
        expected = "Error::OutputExists",
        got = format!("{got:?}"),
        read = BAD_INPUT,
    );
    workshop::check_eq!(std::fs::read(&path).unwrap(), b"precious", read = BAD_INPUT);
    let forced = ExportOptions {
        force: true,
        ..ExportOptions::default()
    };
    export(
        &setup.store(),
        &hello,
        &output,
        &forced,
        &mut std::io::sink(),
    )
    .unwrap();
    workshop::check!(
        std::fs::read(&path).unwrap().len() > 1024,
        expected = "the archive in place of the old file",
        got = format!("{} bytes", std::fs::metadata(&path).unwrap().len()),
        read = BAD_INPUT,
    );
    let left: Vec<_> = std::fs::read_dir(setup.out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    workshop::check_eq!(
        left,
        ["hello.tar"],
        read = BAD_INPUT,
        "nothing left beside it"
    );
}
