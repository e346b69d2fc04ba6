//! The OVSDB-style methods echod answers on every remote.
//!
//! Like `ovsdb-server`: `echo` returns its params (it is also the keepalive `ovsdb-client` and
//! other OVS peers send), `list_dbs` returns the list of databases (echod serves none, so `[]`), and
//! any other request gets the error string `"unknown method"`. Notifications and replies are never
//! answered. The only thing echod sends unsolicited is `ovsdb-server`'s inactivity probe (an
//! `echo` request with the id `"echo"`, see `serve.rs`), whose reply it reads and ignores.

use super::jsonrpc::{Message, encode_error, encode_reply};
use serde_json::Value;

/// The methods echod implements, with what they return (one table; shown by `--help`'s
/// neighbour docs and snapshot-tested).
pub(crate) const METHODS: &[(&str, &str)] = &[
    ("echo", "returns its params unchanged"),
    ("list_dbs", "returns [] (echod serves no database)"),
];

/// The error `ovsdb-server` returns for a request it does not implement.
pub(crate) const UNKNOWN_METHOD: &str = "unknown method";

/// Appends the reply to `msg` (if it needs one) to `out`.
pub(crate) fn answer(msg: Message, out: &mut Vec<u8>) {
    if let Message::Request { method, params, id } = msg {
        match method.as_str() {
            "echo" => encode_reply(out, &Value::Array(params), &id),
            "list_dbs" => encode_reply(out, &Value::Array(Vec::new()), &id),
            _ => encode_error(out, &Value::String(UNKNOWN_METHOD.into()), &id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reply(m: Message) -> Option<Value> {
        let mut out = Vec::new();
        answer(m, &mut out);
        if out.is_empty() {
            None
        } else {
            Some(serde_json::from_slice(&out).unwrap())
        }
    }

    #[test]
    fn echo_list_dbs_unknown() {
        let r = reply(Message::Request {
            method: "echo".into(),
            params: vec![json!("x"), json!({"a": [1, 2]})],
            id: json!("echo"),
        });
        assert_eq!(
            r,
            Some(json!({"id": "echo", "result": ["x", {"a": [1, 2]}], "error": null}))
        );
        let r = reply(Message::Request {
            method: "list_dbs".into(),
            params: vec![],
            id: json!(0),
        });
        assert_eq!(r, Some(json!({"id": 0, "result": [], "error": null})));
        let r = reply(Message::Request {
            method: "transact".into(),
            params: vec![],
            id: json!(5),
        });
        assert_eq!(
            r,
            Some(json!({"id": 5, "result": null, "error": "unknown method"}))
        );
    }

    #[test]
    fn notifications_and_replies_are_not_answered() {
        assert_eq!(
            reply(Message::Notify {
                method: "echo".into(),
                params: vec![]
            }),
            None
        );
        assert_eq!(
            reply(Message::Reply {
                result: json!([]),
                id: json!("echo")
            }),
            None
        );
        assert_eq!(
            reply(Message::Error {
                error: json!("x"),
                id: json!(1)
            }),
            None
        );
    }
}
