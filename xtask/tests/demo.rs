//! The main job works offline from a fresh checkout: it serves the fixtures,
//! pulls one by hand and with the tool, and runs its program.

use xtask::{Course, Verdict};

#[test]
fn the_demo_pulls_by_hand_and_with_the_tool_and_runs_the_image() {
    let course = Course::locate();
    let mut out = Vec::new();
    let verdict = xtask::demo::demo(&course, &mut out, None).expect("the demo runs");
    let text = String::from_utf8(out).unwrap();
    assert_eq!(verdict, Verdict::Pass);
    for expected in [
        "1. GET /v2/ -> 401: the registry wants a token",
        "GET /token?service=mock-registry&scope=repository%3Alibrary%2Fhello%3Apull -> 200",
        "digest sha256:07bf1163d7dda2dd8c9c945b8756b562b288a4d791e2f9ece8a593c62a366baf (checked)",
        " 755   200 bin/hello",
        "Hello from the docker-internals fixture image!",
        "Where the course begins:",
    ] {
        assert!(
            text.contains(expected),
            "the demo's output lacks {expected:?}:\n{text}"
        );
    }
}
