//! The `pfd:` parser: table of accepted and rejected inputs, and property tests.

use proptest::prelude::*;
use stream_pfd::PfdSpec;
use stream_pfd::spec::ParseErrorKind;

#[test]
fn accepted_inputs_and_their_canonical_form() {
    let long = format!("pfd:{}", "n".repeat(255));
    let cases: &[(&str, PfdSpec, &str)] = &[
        ("pfd:3", PfdSpec::from_number(3).unwrap(), "pfd:3"),
        ("pfd:003", PfdSpec::from_number(3).unwrap(), "pfd:3"),
        (
            "pfd:0000000000000000000042",
            PfdSpec::from_number(42).unwrap(),
            "pfd:42",
        ),
        (
            "pfd:2147483647",
            PfdSpec::from_number(i32::MAX).unwrap(),
            "pfd:2147483647",
        ),
        ("pfd:web", PfdSpec::from_name("web").unwrap(), "pfd:web"),
        (
            "pfd:unknown",
            PfdSpec::from_name("unknown").unwrap(),
            "pfd:unknown",
        ),
        (
            "pfd:stored",
            PfdSpec::from_name("stored").unwrap(),
            "pfd:stored",
        ),
        (
            "pfd:connection",
            PfdSpec::from_name("connection").unwrap(),
            "pfd:connection",
        ),
        (
            "pfd:echod.socket",
            PfdSpec::from_name("echod.socket").unwrap(),
            "pfd:echod.socket",
        ),
        (
            "pfd:a3-_+@!~",
            PfdSpec::from_name("a3-_+@!~").unwrap(),
            "pfd:a3-_+@!~",
        ),
        ("pfd:x", PfdSpec::from_name("x").unwrap(), "pfd:x"),
    ];
    for (input, spec, canonical) in cases {
        let parsed: PfdSpec = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(&parsed, spec, "{input}");
        assert_eq!(parsed.to_string(), *canonical, "{input}");
        assert_eq!(canonical.parse::<PfdSpec>().unwrap(), parsed);
        assert_eq!(PfdSpec::parse_suffix(&input[4..]).unwrap(), parsed);
    }
    let parsed: PfdSpec = long.parse().unwrap();
    assert_eq!(parsed.to_string(), long);
}

#[test]
fn rejected_inputs_and_why() {
    let too_long = format!("pfd:{}", "n".repeat(256));
    let cases: &[(&str, ParseErrorKind)] = &[
        ("", ParseErrorKind::MissingPrefix),
        ("3", ParseErrorKind::MissingPrefix),
        ("PFD:3", ParseErrorKind::MissingPrefix),
        (" pfd:3", ParseErrorKind::MissingPrefix),
        ("punix:/x", ParseErrorKind::MissingPrefix),
        ("pfd:", ParseErrorKind::Empty),
        ("pfd:+3", ParseErrorKind::Sign),
        ("pfd:-1", ParseErrorKind::Sign),
        ("pfd:-web", ParseErrorKind::Sign),
        ("pfd: 3", ParseErrorKind::Whitespace { pos: 0 }),
        ("pfd:\t3", ParseErrorKind::Whitespace { pos: 0 }),
        ("pfd:3 ", ParseErrorKind::Whitespace { pos: 1 }),
        ("pfd:3\n", ParseErrorKind::Whitespace { pos: 1 }),
        ("pfd:web ", ParseErrorKind::Whitespace { pos: 3 }),
        ("pfd:a b", ParseErrorKind::Whitespace { pos: 1 }),
        ("pfd:0x3", ParseErrorKind::Radix),
        ("pfd:0X3", ParseErrorKind::Radix),
        ("pfd:0o3", ParseErrorKind::Radix),
        ("pfd:3a", ParseErrorKind::NotDecimal { pos: 1 }),
        ("pfd:1e3", ParseErrorKind::NotDecimal { pos: 1 }),
        ("pfd:3.0", ParseErrorKind::NotDecimal { pos: 1 }),
        ("pfd:٣", ParseErrorKind::NameChar { pos: 0, ch: '٣' }),
        ("pfd:2147483648", ParseErrorKind::Overflow),
        ("pfd:99999999999999999999999999", ParseErrorKind::Overflow),
        ("pfd:0", ParseErrorKind::StdioFd { fd: 0 }),
        ("pfd:1", ParseErrorKind::StdioFd { fd: 1 }),
        ("pfd:002", ParseErrorKind::StdioFd { fd: 2 }),
        ("pfd:a:b", ParseErrorKind::NameColon { pos: 1 }),
        ("pfd:é", ParseErrorKind::NameChar { pos: 0, ch: 'é' }),
        (
            "pfd:a\u{7f}",
            ParseErrorKind::NameChar {
                pos: 1,
                ch: '\u{7f}',
            },
        ),
        ("pfd:a\0", ParseErrorKind::NameChar { pos: 1, ch: '\0' }),
        (&too_long, ParseErrorKind::NameTooLong { len: 256 }),
    ];
    for (input, kind) in cases {
        let err = input.parse::<PfdSpec>().unwrap_err();
        assert_eq!(err.kind(), kind, "{input:?}: {err}");
        assert_eq!(err.input(), *input);
        let io: std::io::Error = err.clone().into();
        assert_eq!(io.kind(), std::io::ErrorKind::InvalidInput);
        if *kind != ParseErrorKind::MissingPrefix {
            assert!(err.to_string().contains(": bad file descriptor: "), "{err}");
            let via_suffix = PfdSpec::parse_suffix(&input[4..]).unwrap_err();
            assert_eq!(via_suffix, err);
        }
    }
}

#[test]
fn messages_escape_and_truncate_untrusted_input() {
    let err = "pfd:a\u{1b}[31m".parse::<PfdSpec>().unwrap_err();
    assert!(
        err.to_string()
            .starts_with("pfd:a\\u{1b}[31m: bad file descriptor: "),
        "{err}"
    );
    let long = format!("pfd:{}", "n".repeat(1000));
    let msg = long.parse::<PfdSpec>().unwrap_err().to_string();
    assert!(
        msg.contains("...(1004 bytes): bad file descriptor: the name is 1000 bytes long"),
        "{msg}"
    );
    assert!(msg.len() < 300, "{msg}");
}

#[test]
fn constructors_check_like_the_parser() {
    for n in [i32::MIN, -1, 0, 1, 2, 3, 4, 1000, i32::MAX] {
        assert_eq!(
            PfdSpec::from_number(n),
            format!("pfd:{n}").parse::<PfdSpec>(),
            "{n}"
        );
    }
    assert_eq!(
        PfdSpec::from_number(-1).unwrap_err().kind(),
        &ParseErrorKind::Sign
    );
    assert_eq!(
        PfdSpec::from_number(2).unwrap_err().kind(),
        &ParseErrorKind::StdioFd { fd: 2 }
    );
    // Names that pfd: would read as numbers are refused (the parser reads them as numbers).
    for name in ["80", "3", "+web", "-web", "0x3"] {
        let err = PfdSpec::from_name(name).unwrap_err();
        assert_eq!(err.kind(), &ParseErrorKind::NameLooksNumeric, "{name}");
        assert_eq!(err.input(), format!("pfd:{name}"));
        assert_eq!(
            err.to_string(),
            format!(
                "pfd:{name}: bad file descriptor: a name must not start with a digit, '+' or \
                 '-' (pfd: would read it as a number)"
            )
        );
    }
    for (name, kind) in [
        ("", ParseErrorKind::Empty),
        (" web", ParseErrorKind::Whitespace { pos: 0 }),
        ("a b", ParseErrorKind::Whitespace { pos: 1 }),
        ("a:b", ParseErrorKind::NameColon { pos: 1 }),
        (
            "caf\u{e9}",
            ParseErrorKind::NameChar {
                pos: 3,
                ch: '\u{e9}',
            },
        ),
    ] {
        let err = PfdSpec::from_name(name).unwrap_err();
        assert_eq!(err.kind(), &kind, "{name:?}");
        assert_eq!(Err(err), format!("pfd:{name}").parse::<PfdSpec>());
    }
    let long = "n".repeat(256);
    assert_eq!(
        PfdSpec::from_name(&long).unwrap_err().kind(),
        &ParseErrorKind::NameTooLong { len: 256 }
    );
    assert!(PfdSpec::from_name(&long[1..]).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn from_number_is_parsing_pfd_n(n in any::<i32>()) {
        prop_assert_eq!(PfdSpec::from_number(n), format!("pfd:{n}").parse::<PfdSpec>());
    }

    #[test]
    fn from_name_accepts_only_what_parses_back_as_that_name(name in any::<String>()) {
        match PfdSpec::from_name(&name) {
            Ok(spec) => {
                prop_assert_eq!(spec.name(), Some(name.as_str()));
                prop_assert_eq!(format!("pfd:{name}").parse::<PfdSpec>().unwrap(), spec);
            }
            Err(err) => {
                prop_assert_eq!(err.input(), format!("pfd:{name}"));
                // Input starting with a digit, '+' or '-' is a number to the parser.
                if !name.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '-') {
                    prop_assert_eq!(Err(err), format!("pfd:{name}").parse::<PfdSpec>());
                }
            }
        }
    }

    #[test]
    fn arbitrary_strings_never_panic_and_accepted_ones_round_trip(input in any::<String>()) {
        check_round_trip(&input)?;
        check_round_trip(&format!("pfd:{input}"))?;
    }

    #[test]
    fn ascii_inputs_never_panic_and_accepted_ones_round_trip(input in "[ -~\t\n]{0,12}") {
        check_round_trip(&format!("pfd:{input}"))?;
    }

    #[test]
    fn decimal_numbers_with_leading_zeros(n in 3..=i32::MAX, zeros in 0usize..5) {
        let input = format!("pfd:{}{n}", "0".repeat(zeros));
        let spec: PfdSpec = input.parse().unwrap();
        prop_assert_eq!(&spec, &PfdSpec::from_number(n).unwrap());
        prop_assert_eq!(spec.to_string(), format!("pfd:{n}"));
    }

    #[test]
    fn valid_names_are_names(name in "[a-zA-Z_.@!~][!-9;-~]{0,254}") {
        let spec: PfdSpec = format!("pfd:{name}").parse().unwrap();
        prop_assert_eq!(spec, PfdSpec::from_name(&name).unwrap());
    }
}

fn check_round_trip(input: &str) -> Result<(), TestCaseError> {
    match input.parse::<PfdSpec>() {
        Ok(spec) => {
            let shown = spec.to_string();
            prop_assert_eq!(shown.parse::<PfdSpec>().unwrap(), spec.clone());
            prop_assert!(shown.len() <= input.len());
            match (spec.number(), spec.name()) {
                (Some(n), None) => prop_assert!(n >= 3),
                (None, Some(name)) => {
                    prop_assert!(name.len() <= 255 && !name.is_empty());
                    prop_assert!(name.bytes().all(|b| b.is_ascii_graphic() && b != b':'));
                    prop_assert_eq!(PfdSpec::from_name(name).unwrap(), spec.clone());
                }
                other => prop_assert!(false, "a spec is a number or a name: {:?}", other),
            }
        }
        Err(err) => {
            prop_assert_eq!(err.input(), input);
            let msg = err.to_string();
            if input.len() <= 80 && input.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
                // Errors name the input verbatim when it is short and printable.
                prop_assert!(msg.starts_with(&format!("{input}: ")), "{}", msg);
            }
            prop_assert!(!msg.contains('\n'), "{}", msg);
        }
    }
    Ok(())
}
