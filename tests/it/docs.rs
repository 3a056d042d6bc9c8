//! The README's type-mapping table is the one the type-mapping module generates.

#[test]
fn readme_type_mapping_matches_the_code() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("<!-- type-map:begin -->")
        .expect("README has the type-map markers")
        + "<!-- type-map:begin -->".len();
    let end = readme
        .find("<!-- type-map:end -->")
        .expect("README has the end marker");
    assert_eq!(
        readme[start..end].trim(),
        ferry::types::mapping_markdown().trim(),
        "regenerate the README table from ferry::types::mapping_markdown()"
    );
}
