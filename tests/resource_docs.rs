//! docs/RESOURCES.md's property table is the provider's own list: for each kind of
//! `cfn_logs_delivery::resources::KINDS`, the rows of its type and those of "all three" name exactly
//! its `properties`, nothing missing, nothing extra.

use std::collections::BTreeSet;

use cfn_logs_delivery::resources::KINDS;

const DOC: &str = "docs/RESOURCES.md";
const EVERY_KIND: &str = "all three";

/// (type cell, property) of each row of the table under `## Properties`, backticks removed.
fn property_rows() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/RESOURCES.md"))
        .expect("read docs/RESOURCES.md");
    let section = text
        .split("\n## Properties\n")
        .nth(1)
        .expect("docs/RESOURCES.md has a `## Properties` section");
    let section = section.split("\n## ").next().unwrap_or_default();
    let rows: Vec<(String, String)> = section
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("| Type") && !l.starts_with("|---"))
        .map(|l| {
            let cells: Vec<String> = l
                .split('|')
                .skip(1)
                .map(|c| c.trim().trim_matches('`').to_owned())
                .collect();
            (cells[0].clone(), cells[1].clone())
        })
        .collect();
    assert!(!rows.is_empty(), "{DOC}: no property rows under ## Properties");
    rows
}

#[test]
fn the_property_table_lists_every_property_of_every_kind_and_nothing_else() {
    let rows = property_rows();
    let types: BTreeSet<&str> = KINDS.iter().map(|k| k.type_name).collect();
    for (type_cell, property) in &rows {
        assert!(
            type_cell == EVERY_KIND || types.contains(type_cell.as_str()),
            "{DOC}: `{property}` of an unknown type '{type_cell}'"
        );
    }
    for kind in KINDS {
        let documented: BTreeSet<&str> = rows
            .iter()
            .filter(|(t, _)| t == kind.type_name || t == EVERY_KIND)
            .map(|(_, p)| p.as_str())
            .collect();
        let actual: BTreeSet<&str> = kind.properties.iter().copied().collect();
        assert_eq!(
            documented, actual,
            "{DOC}: the properties of {} (left: the table, right: the provider)",
            kind.type_name
        );
    }
    let mut seen = BTreeSet::new();
    for row in &rows {
        assert!(seen.insert(row), "{DOC}: {row:?} is listed twice");
    }
}
