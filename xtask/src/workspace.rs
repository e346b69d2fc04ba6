//! The workspace's packages as `cargo metadata` describes them, so that no list of crates is
//! kept by hand: the library crates are the publishable members (`publish` not false), and the
//! house rules (`tidy`) cover every member.

use crate::util::{cargo, output};
use serde_json::Value;
use std::path::PathBuf;

/// One workspace member.
#[derive(Debug, Clone)]
pub(crate) struct Package {
    pub(crate) name: String,
    /// The directory of its `Cargo.toml`.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "read by the house rules (tests)")
    )]
    pub(crate) dir: PathBuf,
    /// `publish` is not false: a library crate, published and used alone by daemon authors.
    pub(crate) published: bool,
    /// `rust-version` (`1.85`), when the manifest declares one.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "read by the house rules (tests)")
    )]
    pub(crate) rust_version: Option<String>,
    pub(crate) targets: Vec<Target>,
}

impl Package {
    /// Whether it has a target of `kind`.
    pub(crate) fn has(&self, kind: &str) -> bool {
        self.targets.iter().any(|t| t.kind == kind)
    }
}

/// One build target of a package.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) name: String,
    /// `lib` (any library crate type), `bin`, `example`, `test`, `bench` or `custom-build`.
    pub(crate) kind: String,
    /// Its crate root.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "read by the house rules (tests)")
    )]
    pub(crate) src: PathBuf,
}

/// Every workspace member, by name.
pub(crate) fn packages() -> Result<Vec<Package>, String> {
    // `--no-deps`: the members only, without resolving (or fetching) any dependency.
    let json = output(cargo().args(["metadata", "--format-version", "1", "--no-deps"]))?;
    parse(&json)
}

/// The library crates: the publishable members, by name.
pub(crate) fn library_crates() -> Result<Vec<String>, String> {
    Ok(packages()?
        .into_iter()
        .filter(|p| p.published)
        .map(|p| p.name)
        .collect())
}

/// The packages in `cargo metadata --format-version 1` output, sorted by name.
fn parse(json: &str) -> Result<Vec<Package>, String> {
    let bad = |what: &str| format!("cargo metadata: {what}");
    let root: Value = serde_json::from_str(json).map_err(|e| bad(&format!("not JSON ({e})")))?;
    let text = |v: &Value, field: &str| -> Result<String, String> {
        v[field]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| bad(&format!("`{field}` missing or not a string in {v}")))
    };
    let mut packages = Vec::new();
    for p in root["packages"]
        .as_array()
        .ok_or_else(|| bad("no `packages` list"))?
    {
        let manifest = PathBuf::from(text(p, "manifest_path")?);
        let dir = manifest
            .parent()
            .ok_or_else(|| bad(&format!("`{}` has no directory", manifest.display())))?
            .to_path_buf();
        // `publish`: null (anywhere), a list of registries, or `[]` for `publish = false`.
        let published = match &p["publish"] {
            Value::Null => true,
            Value::Array(registries) => !registries.is_empty(),
            other => return Err(bad(&format!("unexpected `publish` value {other}"))),
        };
        let mut targets = Vec::new();
        for t in p["targets"]
            .as_array()
            .ok_or_else(|| bad("a package without `targets`"))?
        {
            let kinds: Vec<&str> = t["kind"]
                .as_array()
                .map_or(Vec::new(), |k| k.iter().filter_map(Value::as_str).collect());
            // A library may list several crate types (`["cdylib", "rlib"]`).
            let library = ["lib", "rlib", "dylib", "cdylib", "staticlib", "proc-macro"];
            let kind = match kinds.as_slice() {
                [] => return Err(bad(&format!("a target without a `kind` in {t}"))),
                k if k.iter().any(|k| library.contains(k)) => "lib",
                [first, ..] => first,
            };
            targets.push(Target {
                name: text(t, "name")?,
                kind: kind.to_owned(),
                src: PathBuf::from(text(t, "src_path")?),
            });
        }
        packages.push(Package {
            name: text(p, "name")?,
            dir,
            published,
            rust_version: p["rust_version"].as_str().map(str::to_owned),
            targets,
        });
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(packages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_crates_are_the_publishable_members() {
        let json = r#"{"packages": [
            {"name": "lib-a", "manifest_path": "/w/lib-a/Cargo.toml", "publish": null,
             "rust_version": "1.85", "targets": [
                {"name": "lib_a", "kind": ["cdylib", "rlib"], "src_path": "/w/lib-a/src/lib.rs"},
                {"name": "t", "kind": ["test"], "src_path": "/w/lib-a/tests/t.rs"}]},
            {"name": "helpers", "manifest_path": "/w/helpers/Cargo.toml", "publish": [],
             "rust_version": null, "targets": [
                {"name": "helpers", "kind": ["lib"], "src_path": "/w/helpers/src/lib.rs"}]},
            {"name": "internal", "manifest_path": "/w/internal/Cargo.toml",
             "publish": ["our-registry"], "targets": [
                {"name": "internal", "kind": ["bin"], "src_path": "/w/internal/src/main.rs"}]}
        ]}"#;
        let packages = parse(json).unwrap();
        let names: Vec<(&str, bool)> = packages
            .iter()
            .map(|p| (p.name.as_str(), p.published))
            .collect();
        assert_eq!(
            names,
            [("helpers", false), ("internal", true), ("lib-a", true)]
        );
        let lib_a = &packages[2];
        assert_eq!(lib_a.dir, PathBuf::from("/w/lib-a"));
        assert_eq!(lib_a.rust_version.as_deref(), Some("1.85"));
        assert_eq!(lib_a.targets[0].kind, "lib");
        assert!(lib_a.has("test") && !lib_a.has("bin"));
        assert_eq!(lib_a.targets[1].name, "t");
        assert_eq!(lib_a.targets[1].src, PathBuf::from("/w/lib-a/tests/t.rs"));
        let err = parse(r#"{"packages": [{"name": "x"}]}"#).unwrap_err();
        assert!(err.contains("`manifest_path` missing"), "{err}");
    }

    /// The real workspace: test-support is a member (so the house rules cover it) but not a
    /// library crate (`publish = false`: it is never packaged or mutated on its own).
    #[test]
    fn test_support_is_a_member_but_not_a_library_crate() {
        let packages = packages().unwrap();
        let support = packages.iter().find(|p| p.name == "test-support");
        assert!(support.is_some_and(|p| !p.published), "{packages:#?}");
        let libraries = library_crates().unwrap();
        assert!(!libraries.is_empty());
        assert!(
            !libraries
                .iter()
                .any(|l| l == "test-support" || l == "xtask")
        );
    }
}
