//! The README's type-mapping table is the one the type-mapping module generates.
//! `FERRY_BLESS=1 cargo test --test it docs` rewrites it after a change to the rules.

const BEGIN: &str = "<!-- type-map:begin -->";
const END: &str = "<!-- type-map:end -->";

#[test]
fn readme_type_mapping_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let start = readme
        .find(BEGIN)
        .expect("README has the type-map begin marker")
        + BEGIN.len();
    let end = readme
        .find(END)
        .expect("README has the type-map end marker");
    let generated = ferry::types::mapping_markdown();
    if std::env::var_os("FERRY_BLESS").is_some() {
        let new = format!(
            "{}\n{}\n{}",
            &readme[..start],
            generated.trim(),
            &readme[end..]
        );
        std::fs::write(path, new).unwrap();
        return;
    }
    assert_eq!(
        readme[start..end].trim(),
        generated.trim(),
        "the README's type table differs from ferry::types::mapping_markdown(); rerun with FERRY_BLESS=1"
    );
}
