//! `manifest::parse` on its own, without a registry: the checks of the
//! parse-manifest exercise.

use step_01_registry::Error;
use step_01_registry::manifest::{
    self, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, Manifest, OCI_INDEX, OCI_MANIFEST,
};
use workshop::{check, check_eq};

const READ: &str = "step-01-registry.md#manifests-and-indexes";

fn digest(n: u8) -> String {
    format!("sha256:{}", format!("{n:02x}").repeat(32))
}

/// An image manifest with one layer; `media_type` goes in the body when given.
fn image(media_type: Option<&str>) -> String {
    let field = media_type.map_or(String::new(), |t| format!(r#""mediaType":"{t}","#));
    format!(
        r#"{{"schemaVersion":2,{field}"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":2}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":3}}]}}"#,
        digest(1),
        digest(2)
    )
}

/// An index of one amd64 manifest; `media_type` goes in the body when given.
fn index(media_type: Option<&str>) -> String {
    let field = media_type.map_or(String::new(), |t| format!(r#""mediaType":"{t}","#));
    format!(
        r#"{{"schemaVersion":2,{field}"manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":4,"platform":{{"architecture":"amd64","os":"linux"}}}}]}}"#,
        digest(3)
    )
}

/// What `parse` makes of `body` served as `content_type`: the media type it
/// decided on and the kind it read, or the error.
fn parse(body: &str, content_type: Option<&str>) -> Result<(String, &'static str), Error> {
    manifest::parse("manifest me/app:v1", body.as_bytes(), content_type).map(|(t, m)| {
        let kind = match m {
            Manifest::Index(_) => "index",
            Manifest::Image(_) => "image manifest",
        };
        (t, kind)
    })
}

#[test]
fn the_body_media_type_tells_an_index_from_an_image_manifest() {
    check_eq!(
        parse(&index(Some(DOCKER_MANIFEST_LIST)), None).ok(),
        Some((DOCKER_MANIFEST_LIST.to_string(), "index")),
        read = READ,
        "a manifest list, by its body's mediaType"
    );
    check_eq!(
        parse(&image(Some(DOCKER_MANIFEST)), None).ok(),
        Some((DOCKER_MANIFEST.to_string(), "image manifest")),
        read = READ,
        "a schema 2 manifest, by its body's mediaType"
    );
    let Ok((_, Manifest::Image(read))) =
        manifest::parse("manifest me/app:v1", image(None).as_bytes(), None)
    else {
        panic!("an image manifest without a mediaType could not be read");
    };
    check_eq!(
        (
            read.config.digest.to_string(),
            read.layers[0].digest.to_string()
        ),
        (digest(1), digest(2)),
        read = READ,
        "the config's and the layer's digests, as read"
    );
}

#[test]
fn without_a_body_media_type_the_header_then_the_shape_decide() {
    check_eq!(
        parse(&index(None), Some(OCI_INDEX)).ok(),
        Some((OCI_INDEX.to_string(), "index")),
        read = READ,
        "no mediaType in the body: the Content-Type header decides"
    );
    check_eq!(
        parse(&index(None), Some("application/json")).ok(),
        Some((OCI_INDEX.to_string(), "index")),
        read = READ,
        "neither body nor header names a manifest type: `manifests` makes an index"
    );
    check_eq!(
        parse(&image(None), None).ok(),
        Some((OCI_MANIFEST.to_string(), "image manifest")),
        read = READ,
        "neither body nor header: `config` and `layers` make an image manifest"
    );
}

#[test]
fn a_body_and_header_that_disagree_are_refused_without_a_registry() {
    let result = parse(&image(Some(OCI_MANIFEST)), Some(DOCKER_MANIFEST));
    check!(
        matches!(&result, Err(Error::Manifest { reason, .. })
            if reason.contains(OCI_MANIFEST) && reason.contains(DOCKER_MANIFEST)),
        expected = "an Error::Manifest naming both media types",
        got = result,
        read = READ,
    );
}

#[test]
fn an_unknown_media_type_is_refused() {
    let other = "application/vnd.example.thing.v1+json";
    let result = parse(&image(Some(other)), None);
    check!(
        matches!(&result, Err(Error::Manifest { reason, .. }) if reason.contains(other)),
        expected = "an Error::Manifest naming the media type it cannot read",
        got = result,
        read = READ,
    );
}
