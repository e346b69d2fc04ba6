//! Rendering a [`Policy`] as a decision matrix (kind x origin).

use crate::kind::RemoteKind;
use crate::origin::Origin;
use crate::parse::example;
use crate::policy::{Policy, Reason};
use crate::remote::Remote;

impl Policy {
    /// The decision matrix of this policy (every kind x every origin) as a
    /// Markdown table, with the reasons for rejections as footnotes. The
    /// default policy's matrix is shown in the crate documentation.
    ///
    /// ```
    /// let table = remote_policy::Policy::default().matrix();
    /// assert!(table.contains("| pfd   |"));
    /// assert!(table.contains("pfd: remotes can only be specified on the command line"));
    /// ```
    pub fn matrix(&self) -> String {
        render(self)
    }
}

/// Renders the matrix by asking `policy` about a real parsed example of every
/// kind, so the table shows decisions, not a copy of the rules.
fn render(policy: &Policy) -> String {
    let mut reasons: Vec<Reason> = Vec::new();
    let mut header = vec!["kind".to_owned(), "example".to_owned()];
    header.extend(Origin::ALL.iter().map(|o| o.words().to_owned()));
    let mut rows = vec![header];
    for kind in RemoteKind::ALL {
        let text = example(kind);
        let mut row = vec![kind.name().to_owned(), format!("`{text}`")];
        match text.parse::<Remote>() {
            Ok(remote) => {
                for origin in Origin::ALL {
                    row.push(match policy.check(&remote, origin) {
                        Ok(()) => "allow".to_owned(),
                        Err(reason) => {
                            let n = match reasons.iter().position(|r| *r == reason) {
                                Some(i) => i + 1,
                                None => {
                                    reasons.push(reason);
                                    reasons.len()
                                }
                            };
                            format!("reject ({n})")
                        }
                    });
                }
            }
            Err(err) => {
                for _ in Origin::ALL {
                    row.push(format!("example does not parse: {err}"));
                }
            }
        }
        rows.push(row);
    }

    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        push_row(&mut out, row.iter().map(String::as_str), &widths);
        if i == 0 {
            let dashes: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            push_row(&mut out, dashes.iter().map(String::as_str), &widths);
        }
    }
    if !reasons.is_empty() {
        out.push('\n');
        for (i, reason) in reasons.iter().enumerate() {
            out.push_str(&format!("({}) {reason}\n", i + 1));
            if i + 1 < reasons.len() {
                // Separate footnotes into paragraphs so Markdown keeps the lines apart.
                out.push('\n');
            }
        }
    }
    out
}

fn push_row<'a>(out: &mut String, cells: impl Iterator<Item = &'a str>, widths: &[usize]) {
    out.push('|');
    for (cell, width) in cells.zip(widths) {
        out.push_str(&format!(" {cell:<width$} |"));
    }
    out.push('\n');
}
