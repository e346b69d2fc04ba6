//! The OVSDB-style methods echod answers on every remote.
//!
//! Like `ovsdb-server`: `echo` returns its params (it is also the keepalive `ovsdb-client` and
//! other OVS peers send), `list_dbs` returns the list of databases (echod serves none, so `[]`), and
//! any other request gets the error string `"unknown method"`. Notifications and replies are never
//! answered. The only thing echod sends unsolicited is `ovsdb-server`'s inactivity probe (an
//! `echo` request with the id `"echo"`, see `serve.rs`), whose reply it reads and ignores.

#[cfg(test)]
use super::jsonrpc::Message;
use super::jsonrpc::{MessageRef, encode_error_raw, encode_reply_raw};

/// The methods echod implements, with what they return (one table; shown by `--help`'s
/// neighbour docs and snapshot-tested).
pub(crate) const METHODS: &[(&str, &str)] = &[
    ("echo", "returns its params unchanged"),
    ("list_dbs", "returns [] (echod serves no database)"),
];

/// The error `ovsdb-server` returns for a request it does not implement.
pub(crate) const UNKNOWN_METHOD: &str = "unknown method";

/// [`UNKNOWN_METHOD`] as JSON text.
const UNKNOWN_METHOD_JSON: &str = "\"unknown method\"";

/// Appends the reply to `msg` (if it needs one) to `out`.
pub(crate) fn answer(msg: &MessageRef<'_>, out: &mut Vec<u8>) {
    if let MessageRef::Request { method, params, id } = msg {
        match &**method {
            // The params and the id exactly as received, byte for byte.
            "echo" => encode_reply_raw(out, params.get(), id),
            "list_dbs" => encode_reply_raw(out, "[]", id),
            _ => encode_error_raw(out, UNKNOWN_METHOD_JSON, id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::jsonrpc::Json;
    use super::*;
    use serde_json::{Value, json};

    fn j(v: Value) -> Json {
        Json::of(&v)
    }

    fn reply(m: Message) -> Option<Value> {
        let mut out = Vec::new();
        answer(&m.as_ref(), &mut out);
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
            params: j(json!(["x", {"a": [1, 2]}])),
            id: j(json!("echo")),
        });
        assert_eq!(
            r,
            Some(json!({"id": "echo", "result": ["x", {"a": [1, 2]}], "error": null}))
        );
        let r = reply(Message::Request {
            method: "list_dbs".into(),
            params: j(json!([])),
            id: j(json!(0)),
        });
        assert_eq!(r, Some(json!({"id": 0, "result": [], "error": null})));
        let r = reply(Message::Request {
            method: "transact".into(),
            params: j(json!([])),
            id: j(json!(5)),
        });
        assert_eq!(
            r,
            Some(json!({"id": 5, "result": null, "error": "unknown method"}))
        );
    }

    #[test]
    fn echo_returns_params_and_id_byte_for_byte() {
        // Numbers a parse would alter or refuse, escapes, spacing, members out of order: all
        // come back exactly as sent.
        let params = r#"[123456789012345678901234567890, 1.0e2, 1e400, -0, -0.0,
            "\u00e9\ud83d\ude00", {"b":1, "a":[ ]}, 18446744073709551616]"#;
        let id = "1.50";
        let msg = format!(r#"{{"id": {id}, "method":"echo","params": {params} }}"#);
        let m = Message::from_slice(msg.as_bytes()).unwrap();
        let mut out = Vec::new();
        answer(&m.as_ref(), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(r#"{{"id":{id},"result":{params},"error":null}}"#)
        );
    }

    #[test]
    fn notifications_and_replies_are_not_answered() {
        assert_eq!(
            reply(Message::Notify {
                method: "echo".into(),
                params: j(json!([]))
            }),
            None
        );
        assert_eq!(
            reply(Message::Reply {
                result: j(json!([])),
                id: j(json!("echo"))
            }),
            None
        );
        assert_eq!(
            reply(Message::Error {
                error: j(json!("x")),
                id: j(json!(1))
            }),
            None
        );
    }
}
