//! Property tests: arbitrary input never panics; accepted input round-trips.

use proptest::prelude::*;
use sandbox_opts::{Key, Sandbox, parse_with_warnings};

/// Strings built from the grammar's own pieces, so that many are accepted.
fn grammar_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("on".to_owned()),
        Just("off".to_owned()),
        Just("enable".to_owned()),
        Just("noenable".to_owned()),
        Just("y".to_owned()),
        Just("false".to_owned()),
        Just("allow".to_owned()),
        Just("deny".to_owned()),
        Just("children".to_owned()),
        Just("help".to_owned()),
        Just("id".to_owned()),
        prop::sample::select(Key::ALL.map(Key::name).to_vec()).prop_map(str::to_owned),
        "[a-zA-Z]{0,3}",
        Just(",".to_owned()),
        Just(",,".to_owned()),
        Just("=".to_owned()),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

/// The crate is never laxer than QEMU (as `qemu::parse_like_qemu` models it;
/// the host checks hold that model to the real binary), and where the two
/// disagree, a row of `qemu::DIFFERENCES` says why.
#[cfg(feature = "qemu-model")]
fn check_against_qemu_model(s: &str) {
    use sandbox_opts::qemu::{difference, parse_like_qemu};
    let ours = parse_with_warnings(s).map(|(sandbox, _)| sandbox);
    let qemu = parse_like_qemu(s);
    if let Ok(sandbox) = &ours {
        let same = qemu
            .as_ref()
            .is_ok_and(|q| q == sandbox || (!q.enabled && !sandbox.enabled));
        assert!(same, "{s:?}: accepted here as {sandbox}, QEMU: {qemu:?}");
    }
    let agree = match (&ours, &qemu) {
        (Ok(a), Ok(b)) => a == b || (!a.enabled && !b.enabled),
        (Err(e), Err(q)) => e.to_string().contains(q.message()),
        _ => false,
    };
    assert_eq!(
        difference(s).is_none(),
        agree,
        "{s:?}: ours {ours:?}, QEMU {qemu:?}, declared {:?}",
        difference(s)
    );
}

fn check(s: &str) {
    #[cfg(feature = "qemu-model")]
    check_against_qemu_model(s);
    match parse_with_warnings(s) {
        Ok((sandbox, warnings)) => {
            let canonical = sandbox.to_string();
            assert_eq!(canonical.parse::<Sandbox>().unwrap(), sandbox, "{s:?}");
            assert_eq!(format!("{sandbox:#}").parse::<Sandbox>().unwrap(), sandbox);
            // The canonical form of a canonical form is itself.
            assert_eq!(canonical.parse::<Sandbox>().unwrap().to_string(), canonical);
            for w in warnings {
                assert!(!w.to_string().is_empty());
            }
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.is_empty());
            assert_eq!(e.input(), s, "error must name the whole input");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        check(&s);
    }

    #[test]
    fn grammar_like_strings_round_trip(s in grammar_like()) {
        check(&s);
    }

    #[test]
    fn valid_options_in_any_order_round_trip(
        enable in prop::sample::select(sandbox_opts::key::BOOL_TRUE.iter().chain(&sandbox_opts::key::BOOL_FALSE).copied().collect::<Vec<_>>()),
        subs in prop::collection::vec((0usize..4, 0usize..3), 0..6),
    ) {
        let mut s = enable.to_owned();
        for (k, v) in &subs {
            let key = Key::SUB_OPTIONS[*k];
            let values = key.accepted_values();
            s.push_str(&format!(",{}={}", key.name(), values[v % values.len()]));
        }
        let (sandbox, _) = parse_with_warnings(&s).unwrap();
        prop_assert_eq!(sandbox.enabled, sandbox_opts::key::BOOL_TRUE.contains(&enable));
        // Last value of each key wins.
        for key in Key::SUB_OPTIONS {
            let last = subs.iter().rev().find(|(k, _)| Key::SUB_OPTIONS[*k] == key);
            let expected = match last {
                Some((_, v)) => key.accepted_values()[v % key.accepted_values().len()],
                None => key.default_value(),
            };
            prop_assert_eq!(sandbox.value_of(key), expected);
        }
        check(&s);
    }
}
