//! JSON and OCI exports (feature `serde`); the OCI object is validated
//! against the runtime-spec JSON schema Debian ships in
//! golang-github-opencontainers-specs-dev.

use std::path::{Path, PathBuf};

use seccomp_sets::{Arch, Filter, KillAction, Mode, Sandbox};
use serde_json::{Value, json};

const SCHEMA_DIR: &str = "/usr/share/gocode/src/github.com/opencontainers/runtime-spec/schema";

fn all_sets() -> Sandbox {
    "on,elevateprivileges=children,spawn=deny,resourcecontrol=deny"
        .parse()
        .unwrap()
}

/// A validator for the JSON-schema subset the runtime-spec files use: type,
/// enum, required, properties, additionalProperties, items, minItems,
/// minimum, maximum, $ref (same file or `file.json#/pointer`).
struct Validator {
    dir: PathBuf,
}

impl Validator {
    fn load(&self, file: &str) -> Value {
        let text = std::fs::read_to_string(self.dir.join(file)).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn resolve(&self, file: &str, reference: &str) -> (String, Value) {
        let (f, pointer) = reference.split_once('#').unwrap_or((reference, ""));
        let file = if f.is_empty() {
            file.to_owned()
        } else {
            f.to_owned()
        };
        let doc = self.load(&file);
        let node = doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("bad $ref {reference}"))
            .clone();
        (file, node)
    }

    fn check(&self, file: &str, schema: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let (f, s) = self.resolve(file, r);
            return self.check(&f, &s, v, path, errs);
        }
        if let Some(t) = schema.get("type").and_then(Value::as_str) {
            let ok = match t {
                "object" => v.is_object(),
                "array" => v.is_array(),
                "string" => v.is_string(),
                "integer" => v.is_i64() || v.is_u64(),
                "number" => v.is_number(),
                "boolean" => v.is_boolean(),
                other => panic!("schema type {other} not supported by this validator"),
            };
            if !ok {
                errs.push(format!("{path}: expected {t}, got {v}"));
                return;
            }
        }
        if let Some(e) = schema.get("enum").and_then(Value::as_array) {
            if !e.contains(v) {
                errs.push(format!("{path}: {v} not in enum"));
            }
        }
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
            if v.as_f64().is_some_and(|x| x < min) {
                errs.push(format!("{path}: {v} < {min}"));
            }
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
            if v.as_f64().is_some_and(|x| x > max) {
                errs.push(format!("{path}: {v} > {max}"));
            }
        }
        if let Some(req) = schema.get("required").and_then(Value::as_array) {
            for k in req.iter().filter_map(Value::as_str) {
                if v.get(k).is_none() {
                    errs.push(format!("{path}: missing required {k}"));
                }
            }
        }
        if let Some(obj) = v.as_object() {
            let props = schema.get("properties").and_then(Value::as_object);
            for (k, child) in obj {
                match props.and_then(|p| p.get(k)) {
                    Some(s) => self.check(file, s, child, &format!("{path}.{k}"), errs),
                    None => {
                        if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
                            errs.push(format!("{path}: unexpected property {k}"));
                        }
                    }
                }
            }
        }
        if let Some(arr) = v.as_array() {
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
                if (arr.len() as u64) < min {
                    errs.push(format!("{path}: fewer than {min} items"));
                }
            }
            if let Some(items) = schema.get("items") {
                for (i, item) in arr.iter().enumerate() {
                    self.check(file, items, item, &format!("{path}[{i}]"), errs);
                }
            }
        }
    }

    /// Validates `v` against `config-linux.json`'s `linux.seccomp` schema.
    fn validate_seccomp(&self, v: &Value) -> Vec<String> {
        let doc = self.load("config-linux.json");
        let schema = doc
            .pointer("/linux/properties/seccomp")
            .expect("config-linux.json has linux.seccomp")
            .clone();
        let mut errs = Vec::new();
        self.check("config-linux.json", &schema, v, "linux.seccomp", &mut errs);
        errs
    }
}

fn validator(test: &str) -> Option<Validator> {
    let dir = Path::new(SCHEMA_DIR);
    if !dir.join("config-linux.json").exists() || !dir.join("defs-linux.json").exists() {
        test_support::skip(
            test,
            "OCI runtime-spec schema missing (apt install golang-github-opencontainers-specs-dev)",
        );
        return None;
    }
    Some(Validator {
        dir: dir.to_owned(),
    })
}

#[test]
fn oci_export_validates_against_runtime_spec_schema() {
    let Some(v) = validator("oci_export_validates_against_runtime_spec_schema") else {
        return;
    };
    for mode in Mode::ALL {
        let oci = Filter::new(&all_sets(), mode).unwrap().to_oci();
        let errs = v.validate_seccomp(&oci);
        assert!(errs.is_empty(), "{mode}: {errs:#?}");
    }
}

#[test]
fn schema_validator_rejects_bad_objects() {
    let Some(v) = validator("schema_validator_rejects_bad_objects") else {
        return;
    };
    let bad = [
        json!({"syscalls": []}),
        json!({"defaultAction": "SCMP_ACT_MAYBE"}),
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]}),
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ERRNO",
               "args": [{"index": -1, "value": 0, "op": "SCMP_CMP_EQ"}]}]}),
        json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_VAX"]}),
    ];
    for b in bad {
        assert!(!v.validate_seccomp(&b).is_empty(), "accepted {b}");
    }
}

#[test]
fn oci_entries_match_the_filter() {
    let f = Filter::builder(&all_sets())
        .kill_action(KillAction::Process)
        .build()
        .unwrap();
    let oci = f.to_oci_struct();
    assert_eq!(oci.architectures, [f.arch().scmp_name()]);
    // Every planned row appears once, with the filter's action.
    let mut count = 0;
    for s in &oci.syscalls {
        count += if s.args.is_empty() { s.names.len() } else { 1 };
    }
    let planned_unique = {
        let mut n: Vec<_> = f
            .planned()
            .iter()
            .map(|p| (p.rule.syscall, p.rule.args.is_empty(), p.rule.args))
            .collect();
        n.dedup();
        n.len()
    };
    assert_eq!(count, planned_unique);
    let clone_thread = oci
        .syscalls
        .iter()
        .find(|s| {
            s.names == ["clone"] && s.args[0].value == 0x10000 && s.args[0].value_two == Some(0)
        })
        .expect("CLONE_THREAD row as value=mask, valueTwo=datum");
    assert_eq!(
        (clone_thread.action, clone_thread.errno_ret),
        ("SCMP_ACT_ERRNO", Some(1))
    );
    let reboot = oci
        .syscalls
        .iter()
        .find(|s| s.names.contains(&"reboot"))
        .unwrap();
    assert_eq!(reboot.action, "SCMP_ACT_KILL_PROCESS");
}

/// The container engines' profile is the OCI object in their terms: the same entries (plus a
/// comment each), `archMap` for `architectures`, with no sub-architecture.
#[test]
fn docker_profile_is_the_oci_object_in_the_engines_terms() {
    for sandbox in Sandbox::all().filter(|s| s.enabled) {
        let f = Filter::builder(&sandbox)
            .exec_tolerant(sandbox.denied_sets().contains(seccomp_sets::Set::Spawn))
            .build()
            .unwrap();
        let (oci, docker) = (f.to_oci(), f.to_docker());
        assert_eq!(docker["defaultAction"], oci["defaultAction"]);
        assert_eq!(
            docker["archMap"],
            json!([{"architecture": oci["architectures"][0], "subArchitectures": []}]),
            "{sandbox}"
        );
        assert!(docker.get("architectures").is_none(), "one or the other");
        let entries = |v: &serde_json::Value| -> Vec<(serde_json::Value, serde_json::Value)> {
            let mut e: Vec<_> = v["syscalls"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|s| {
                    let mut rule = s.clone();
                    let names = rule["names"].take();
                    rule.as_object_mut().unwrap().remove("comment");
                    names
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|n| (n.clone(), rule.clone()))
                        .collect::<Vec<_>>()
                })
                .collect();
            e.sort_by_key(|(n, r)| format!("{n}{r}"));
            e
        };
        assert_eq!(entries(&docker), entries(&oci), "{sandbox}");
        for s in docker["syscalls"].as_array().unwrap() {
            let comment = s["comment"].as_str().unwrap();
            assert!(
                seccomp_sets::Set::ALL
                    .iter()
                    .any(|set| comment.starts_with(&format!("{}:", set.name()))),
                "{comment}"
            );
            assert!(s.get("includes").is_none() && s.get("excludes").is_none());
        }
    }
}

#[test]
fn json_export_follows_documented_schema() {
    let f = Filter::builder(&all_sets())
        .mode(Mode::Report)
        .build()
        .unwrap();
    let j = f.to_json();
    assert_eq!(j["schema"], "seccomp-sets/1");
    assert_eq!(j["sandbox"], all_sets().to_string());
    assert_eq!(j["mode"], "report");
    assert_eq!(j["default_action"], json!({"action": "allow"}));
    assert_eq!(j["bad_arch_action"], json!({"action": "trap"}));
    assert_eq!(j["no_new_privs"], true);
    assert_eq!(
        j["sets"],
        json!([
            "default",
            "obsolete",
            "privileged",
            "spawn",
            "resourcecontrol"
        ])
    );
    let rules = j["rules"].as_array().unwrap();
    assert_eq!(rules.len(), f.planned().len());
    let sched = rules
        .iter()
        .find(|r| r["syscall"] == "sched_setscheduler")
        .unwrap();
    assert_eq!(sched["args"], json!([{"op": "ne", "index": 1, "value": 5}]));
    assert_eq!(
        sched["effect"],
        json!({"action": "errno", "errno": 1, "name": "EPERM"})
    );
    let reboot = rules.iter().find(|r| r["syscall"] == "reboot").unwrap();
    assert_eq!(reboot["effect"], json!({"action": "trap"}));
    for key in ["nr", "set", "action", "origin", "note"] {
        assert!(rules.iter().all(|r| r.get(key).is_some()), "{key}");
    }
    if cfg!(target_arch = "x86_64") {
        let umount = j["missing"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["syscall"] == "umount")
            .unwrap();
        assert_eq!(umount["covered_by"], json!(["umount2"]));
    }
}

/// no_new_privs is required whenever the sandbox is on, as in QEMU (libseccomp's default),
/// whatever elevateprivileges says; the builder's opt-out turns it off; an off sandbox loads
/// nothing and requires nothing. The decision shows in the filter and in its JSON export.
#[test]
fn no_new_privs_whenever_the_sandbox_is_on() {
    for (sandbox, want) in [
        ("on", true),
        ("on,elevateprivileges=allow", true),
        ("on,elevateprivileges=deny", true),
        ("on,elevateprivileges=children", true),
        ("on,obsolete=allow,spawn=deny,resourcecontrol=deny", true),
        ("off", false),
    ] {
        let f = Filter::new(&sandbox.parse().unwrap(), Mode::Enforce).unwrap();
        assert_eq!(f.requires_no_new_privs(), want, "{sandbox}");
        assert_eq!(f.to_json()["no_new_privs"], want, "{sandbox}");
    }
    let opted_out = Filter::builder(&"on".parse().unwrap())
        .no_new_privs(false)
        .build()
        .unwrap();
    assert!(!opted_out.requires_no_new_privs());
    assert_eq!(opted_out.to_json()["no_new_privs"], false);
}

/// A filter for another ABI resolves every row there and exports for a loader there; this
/// process refuses to load it.
#[test]
fn filters_for_every_abi_export_their_numbers() {
    let all: Sandbox = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"
        .parse()
        .unwrap();
    for arch in Arch::ALL {
        let f = Filter::builder(&all)
            .arch(arch)
            .kill_action(KillAction::Process)
            .build()
            .unwrap();
        assert_eq!(f.arch(), arch);
        let resolved = arch.resolve();
        let pfc = f.export_pfc().unwrap();
        assert!(
            pfc.contains(&format!("# filter for arch {}", pfc_arch_name(arch))),
            "{arch}: {pfc}"
        );
        for p in f.planned() {
            assert_eq!(
                resolved
                    .resolved()
                    .find(|(r, _)| std::ptr::eq(*r, p.rule))
                    .map(|(_, nr)| nr),
                Some(p.nr),
                "{arch}: {}",
                p.rule.syscall
            );
            let line = format!("# filter for syscall \"{}\" ({})", p.rule.syscall, p.nr);
            assert!(pfc.contains(&line), "{arch}: no {line:?} in\n{pfc}");
        }
        let bpf = f.export_bpf();
        assert!(!bpf.is_empty() && bpf.len() % 8 == 0);
        if arch == Arch::native() {
            // Never loaded into the test harness: the native case is the enforce suite's.
            continue;
        }
        let err = f.load().unwrap_err();
        assert!(
            matches!(err, seccomp_sets::Error::ForeignArch { .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().contains(&format!("built for {arch}")),
            "{err}"
        );
    }
}

/// libseccomp's PFC name of an ABI.
fn pfc_arch_name(arch: Arch) -> &'static str {
    match arch {
        Arch::X86 => "x86",
        Arch::X86_64 => "x86_64",
        Arch::X32 => "x32",
        Arch::Aarch64 => "aarch64",
        Arch::Arm => "arm",
        Arch::Riscv64 => "riscv64",
        Arch::S390x => "s390x",
        Arch::Ppc64le => "ppc64le",
    }
}
