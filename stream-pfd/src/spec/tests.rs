//! Unit tests of the one fd-name validator against systemd's rule and the parser.

use super::*;

/// systemd's `fdname_is_valid`, written out as systemd states it (the reference).
fn systemd_fdname_is_valid(name: &str) -> bool {
    name.len() <= MAX_NAME_LEN && name.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b':')
}

fn samples() -> Vec<String> {
    let chars = [
        'a', 'Z', '0', '9', '+', '-', ' ', ':', '\t', '\n', '\0', '\x7f', '~', '!', 'é', '\u{a0}',
        '\u{3000}',
    ];
    let mut out = vec![String::new()];
    for a in chars {
        out.push(a.to_string());
        for b in chars {
            out.push(format!("{a}{b}"));
            for c in chars {
                out.push(format!("{a}{b}{c}"));
            }
        }
    }
    for len in [254, 255, 256] {
        out.push("n".repeat(len));
        out.push(format!("{} ", "n".repeat(len - 1)));
    }
    out
}

#[test]
fn systemd_rules_are_fdname_is_valid() {
    for name in samples() {
        assert_eq!(
            check_fd_name(&name, NameRules::Systemd).is_ok(),
            systemd_fdname_is_valid(&name),
            "{name:?}"
        );
    }
}

#[test]
fn pfd_rules_are_stricter_and_are_what_the_parser_accepts_as_names() {
    for name in samples() {
        let pfd = check_fd_name(&name, NameRules::Pfd).is_ok();
        if pfd {
            assert!(systemd_fdname_is_valid(&name), "{name:?}");
        }
        let parsed_as_name = PfdSpec::parse_suffix(&name).is_ok_and(|s| s.name().is_some());
        assert_eq!(pfd, parsed_as_name, "{name:?}");
    }
}

#[test]
fn debug_shows_the_number_or_the_name() {
    let n: PfdSpec = "pfd:3".parse().unwrap();
    assert_eq!(format!("{n:?}"), "Number(3)");
    let w: PfdSpec = "pfd:web".parse().unwrap();
    assert_eq!(format!("{w:?}"), "Name(\"web\")");
}
