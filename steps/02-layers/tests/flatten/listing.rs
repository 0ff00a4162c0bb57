//! The listing.

use super::*;

#[test]
fn the_listing_can_count_links_and_leave_owners_out() {
    let (_dir, root) = flatten(&[layer([
        Entry::file("a", "same").owner(1000, 1000),
        Entry::hardlink("b", "a"),
    ])]);
    let listing = tree::listing_with(
        &root,
        &ListingOptions {
            owners: false,
            link_counts: true,
        },
    )
    .unwrap();
    check_eq!(
        listing,
        "/a f 0644 - 4 sha256:0967115f2813 links=2\n/b f 0644 - 4 sha256:0967115f2813 links=2\n",
        read = "step-02-layers.md#flattening",
        "the listing without owners, with link counts"
    );
}
