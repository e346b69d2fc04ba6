//! The help texts are snapshots and agree with the key table.

use sandbox_opts::Key;
use sandbox_opts::help::{GRAMMAR, HELP, SHORT_HELP};

#[test]
fn grammar_is_built_from_the_key_table() {
    let mut built = String::from("on|off");
    for key in Key::SUB_OPTIONS {
        built.push_str(&format!(
            "[,{}={}]",
            key.name(),
            key.accepted_values().join("|")
        ));
    }
    assert_eq!(GRAMMAR, built);
    // The long help's first two lines are the grammar, wrapped.
    let head: String = HELP
        .lines()
        .take(2)
        .map(str::trim)
        .collect::<Vec<_>>()
        .concat();
    assert_eq!(head, GRAMMAR);
    for key in Key::SUB_OPTIONS {
        assert!(HELP.contains(key.name()), "{key} missing from HELP");
        assert!(
            HELP.contains(&format!("(default: {})", key.default_value())),
            "{key} default missing from HELP"
        );
    }
}

#[test]
fn help_snapshots() {
    insta::assert_snapshot!("grammar", GRAMMAR);
    insta::assert_snapshot!("short_help", SHORT_HELP);
    insta::assert_snapshot!("help", HELP);
}
